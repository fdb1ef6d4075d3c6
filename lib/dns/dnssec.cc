// DNSSEC validation with ldns (SPEC §13; RFC 4033-4035, RFC 5155, RFC 7672
// §2.1). ldns checks each signature, DS digest and NSEC/NSEC3 denial
// (ldns_verify_rrsig_keylist_time, ldns_rr_compare_ds,
// ldns_dnssec_verify_denial(_nsec3)); this file walks the chain of trust
// over our own queries (lib/dns/exchange.h, DO and CD bits).
//
// Why not ldns_verify_trusted or ldns_fetch_valid_domain_keys: they need an
// ldns_resolver (unconnected UDP sockets, see exchange.cc), and they cannot
// tell an insecure delegation (RFC 4035 §5.2: a signed proof that a child has
// no DS, after which unsigned answers are fine) from a stripped signature
// (bogus): both are just "no valid key" to them, and SPEC §13 treats the two
// oppositely.
//
// The chain: a signature's signer zone Z gets its keys from the anchors when
// an anchor names Z; else from a DS RRset at Z, validated in turn with the
// parent's keys (the DS's own signer, which must be strictly above Z, so the
// recursion ends at an anchor). An answer without signatures is insecure
// only when a secure NSEC/NSEC3 proof shows an unsigned delegation between
// the anchor and the name (walked top-down, one DS query per label); else it
// is bogus. Every zone's keys and every DS step are remembered for the run.
#include "lib/dns/dnssec.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>

#include "lib/dns/exchange.h"  // ldns/ldns.h, after stdbool.h
#include "lib/openssl_start.h"

namespace qr {

const char* security_name(Security s) {
  switch (s) {
    case Security::Secure:
      return "secure";
    case Security::Insecure:
      return "insecure";
    case Security::Bogus:
      return "bogus";
    case Security::Unavailable:
      return "unavailable";
  }
  return "bogus";
}

namespace {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

constexpr int kMaxCnameHops = 8;
// KeyTrap (CVE-2023-50387): a hostile zone can make every signature meet
// many keys of one key tag, and validation cost grows as their product. A
// signed RRset rarely carries more than two signatures (a key roll) or a
// zone more than four keys; beyond these, give up: bogus.
constexpr size_t kMaxSigsTried = 4;
constexpr size_t kMaxKeys = 16;

std::string name_text(const ldns_rdf* name) {
  CharPtr text(ldns_rdf2str(name));
  std::string s = text ? text.get() : "?";
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string type_text(ldns_rr_type t) {
  CharPtr text(ldns_rr_type2str(t));
  return text ? text.get() : "?";
}

bool same_name(const ldns_rdf* a, const ldns_rdf* b) {
  return ldns_dname_compare(a, b) == 0;
}
// `name` is `zone` or below it.
bool at_or_below(const ldns_rdf* name, const ldns_rdf* zone) {
  return same_name(name, zone) || ldns_dname_is_subdomain(name, zone);
}

RdfPtr dname(std::string_view text) {
  std::string fqdn(text);
  if (fqdn.empty() || fqdn.back() != '.') fqdn += '.';
  return RdfPtr(ldns_dname_new_frm_str(fqdn.c_str()));
}

RrListPtr new_list() {
  return RrListPtr(ldns_rr_list_new());
}

// Copies of the records of `list` owned by `owner` (any owner when null)
// of `type`; for RRSIG, `covered` is the type they sign.
RrListPtr pick(const ldns_rr_list* list, const ldns_rdf* owner, ldns_rr_type type,
               ldns_rr_type covered = LDNS_RR_TYPE_FIRST) {
  RrListPtr out = new_list();
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != type) continue;
    // A record missing fields of its type (hostile or broken data) is
    // dropped here, so no ldns accessor below meets a field that is not there.
    const ldns_rr_descriptor* d = ldns_rr_descript(type);
    if (!d || ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d)) continue;
    if (owner && !same_name(ldns_rr_owner(rr), owner)) continue;
    if (type == LDNS_RR_TYPE_RRSIG) {
      const ldns_rdf* c = ldns_rr_rrsig_typecovered(rr);
      if (!c || ldns_rdf2rr_type(c) != covered) continue;
    }
    ldns_rr_list_push_rr(out.get(), ldns_rr_clone(rr));
  }
  return out;
}

size_t count(const ldns_rr_list* l) {
  return l ? ldns_rr_list_rr_count(l) : 0;
}

// The worse of two states: bogus, then unavailable, then insecure.
Security worse(Security a, Security b) {
  auto rank = [](Security s) {
    switch (s) {
      case Security::Secure:
        return 0;
      case Security::Insecure:
        return 1;
      case Security::Unavailable:
        return 2;
      case Security::Bogus:
        return 3;
    }
    return 3;
  };
  return rank(a) >= rank(b) ? a : b;
}

struct Check {
  Security sec = Security::Bogus;
  std::string why;
  bool unsigned_ = false;  // no signature at all (for the insecure-or-bogus walk)
};

// What a DS query at a name says about it.
struct Cut {
  enum class Kind { SecureZone, InsecureCut, NotACut, Fail } kind = Kind::Fail;
  Check fail;  // Fail: the state and why
};

struct Keys {
  Security sec = Security::Bogus;
  RrListPtr keys;  // Secure: the zone's validated DNSKEY RRset
  std::string why;
};

class Validator final : public DaneDns {
 public:
  Validator(std::vector<DnsServer> servers, RrListPtr anchors)
      : exchanger_(std::move(servers)), anchors_(std::move(anchors)), now_(std::time(nullptr)) {}

  Security mx_security(std::string_view domain, std::string* why) override;
  DaneHost host(std::string_view host, uint16_t port, bool v6) override;
  Security anchors_status(std::string* why) override;

 private:
  struct Answer {
    Security sec = Security::Bogus;
    RrListPtr rrs;      // the records of the type asked, at `final_name`
    RdfPtr final_name;  // after CNAMEs
    std::string why;
  };

  DnsPkt ask(const ldns_rdf* name, ldns_rr_type type, std::string* why);
  Answer lookup(const ldns_rdf* name, ldns_rr_type type);
  Check verify(const ldns_rr_list* rrset, const ldns_rr_list* sigs, const ldns_rdf* owner,
               ldns_rr_type type, const ldns_rdf* strictly_below = nullptr);
  Check verify_section(const ldns_rr_list* section, ldns_rr_type type,
                       const ldns_rdf* strictly_below);
  Check denial(const ldns_pkt* pkt, const ldns_rdf* qname, ldns_rr_type type);
  Check unsigned_data(const ldns_rdf* owner);
  const Keys& zone_keys(const ldns_rdf* zone);
  Keys anchor_keys(const ldns_rdf* zone);
  const Cut& ds_step(const ldns_rdf* name);
  Cut ds_step_uncached(const ldns_rdf* name);
  const ldns_rdf* closest_anchor(const ldns_rdf* name) const;
  RrListPtr trusted_keys(const ldns_rr_list* dnskeys, const ldns_rr_list* refs) const;

  DnsExchanger exchanger_;
  RrListPtr anchors_;
  time_t now_;
  std::map<std::string, Keys> zones_;
  std::map<std::string, Cut> cuts_;
};

DnsPkt Validator::ask(const ldns_rdf* name, ldns_rr_type type, std::string* why) {
  DnsExchangeResult r = exchanger_.query(name, type, /*dnssec=*/true);
  if (!r.pkt) *why = "DNS failure for " + name_text(name) + " " + type_text(type) + ": " + r.error;
  return std::move(r.pkt);
}

const ldns_rdf* Validator::closest_anchor(const ldns_rdf* name) const {
  const ldns_rdf* best = nullptr;
  for (size_t i = 0; i < count(anchors_.get()); ++i) {
    const ldns_rdf* owner = ldns_rr_owner(ldns_rr_list_rr(anchors_.get(), i));
    if (at_or_below(name, owner) &&
        (!best || ldns_dname_label_count(owner) > ldns_dname_label_count(best)))
      best = owner;
  }
  return best;
}

// The DNSKEYs of `dnskeys` that `refs` (DS or DNSKEY records) name.
RrListPtr Validator::trusted_keys(const ldns_rr_list* dnskeys, const ldns_rr_list* refs) const {
  RrListPtr out = new_list();
  for (size_t i = 0; i < count(dnskeys); ++i) {
    const ldns_rr* k = ldns_rr_list_rr(dnskeys, i);
    for (size_t j = 0; j < count(refs); ++j) {
      const ldns_rr* ref = ldns_rr_list_rr(refs, j);
      if (!same_name(ldns_rr_owner(ref), ldns_rr_owner(k))) continue;
      if (ldns_rr_compare_ds(ref, k)) {
        ldns_rr_list_push_rr(out.get(), ldns_rr_clone(k));
        break;
      }
    }
  }
  return out;
}

// An RRset is secure when one of its signatures verifies, now (RFC 4035
// §5.3: inception and expiration checked), with the keys of a secure signer
// zone that is at or above the owner (and strictly above `strictly_below`
// when given: a DS, or a denial of one, comes from the parent).
Check Validator::verify(const ldns_rr_list* rrset, const ldns_rr_list* sigs, const ldns_rdf* owner,
                        ldns_rr_type type, const ldns_rdf* strictly_below) {
  const std::string what = name_text(owner) + " " + type_text(type);
  if (count(sigs) == 0) return Check{Security::Bogus, what + ": no signature", true};
  std::string why;
  for (size_t i = 0; i < count(sigs) && i < kMaxSigsTried; ++i) {
    const ldns_rr* sig = ldns_rr_list_rr(sigs, i);
    const ldns_rdf* signer = ldns_rr_rrsig_signame(sig);
    if (!signer || !at_or_below(owner, signer) ||
        (strictly_below && !ldns_dname_is_subdomain(strictly_below, signer))) {
      why = what + ": signed by " + (signer ? name_text(signer) : "?") + ", not a zone above it";
      continue;
    }
    const Keys& k = zone_keys(signer);
    if (k.sec != Security::Secure) return Check{k.sec, k.why};
    ldns_status st = ldns_verify_rrsig_keylist_time(rrset, sig, k.keys.get(), now_, nullptr);
    if (st == LDNS_STATUS_OK) return Check{Security::Secure, {}};
    why = what + ": " + ldns_get_errorstr_by_id(st);
  }
  return Check{Security::Bogus, why};
}

// Every NSEC or NSEC3 RRset of an authority section, owner by owner.
Check Validator::verify_section(const ldns_rr_list* section, ldns_rr_type type,
                                const ldns_rdf* strictly_below) {
  RrListPtr all = pick(section, nullptr, type);
  Check c{Security::Secure, {}};
  for (size_t i = 0; i < count(all.get()); ++i) {
    const ldns_rdf* owner = ldns_rr_owner(ldns_rr_list_rr(all.get(), i));
    RrListPtr set = pick(section, owner, type);
    RrListPtr sigs = pick(section, owner, LDNS_RR_TYPE_RRSIG, type);
    Check one = verify(set.get(), sigs.get(), owner, type, strictly_below);
    if (one.sec != Security::Secure) return one;
  }
  return c;
}

Keys Validator::anchor_keys(const ldns_rdf* zone) {
  std::string why;
  DnsPkt pkt = ask(zone, LDNS_RR_TYPE_DNSKEY, &why);
  // A server that cannot answer for the trust anchor at all (SERVFAIL from
  // a resolver with only local data, REFUSED) cannot do DNSSEC: DANE is
  // unavailable, as with a server that drops the signatures (SPEC §13),
  // not every host bogus, which would defer all mail until the resolver
  // changes. Failures below the anchor stay bogus (RFC 7672 §2.1.1).
  if (!pkt)
    return Keys{Security::Unavailable, nullptr,
                "the DNS server gave no DNSKEY answer for the trust anchor " + name_text(zone) +
                    ": " + why};
  RrListPtr keys = pick(ldns_pkt_answer(pkt.get()), zone, LDNS_RR_TYPE_DNSKEY);
  RrListPtr sigs = pick(ldns_pkt_answer(pkt.get()), zone, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DNSKEY);
  // SPEC §13: a resolver that drops DNSSEC records (djbdns's dnscache)
  // leaves DANE unavailable rather than every answer bogus.
  if (count(keys.get()) == 0 || count(sigs.get()) == 0)
    return Keys{Security::Unavailable, nullptr,
                "the DNS server returned no signed DNSKEY for the trust anchor " + name_text(zone) +
                    " (it does not pass DNSSEC records)"};
  if (count(keys.get()) > kMaxKeys)
    return Keys{Security::Bogus, nullptr, name_text(zone) + " DNSKEY: too many keys"};
  RrListPtr trusted = trusted_keys(keys.get(), anchors_.get());
  if (count(trusted.get()) == 0)
    return Keys{Security::Bogus, nullptr,
                "no DNSKEY of " + name_text(zone) + " matches the trust anchor"};
  for (size_t i = 0; i < count(sigs.get()) && i < kMaxSigsTried; ++i) {
    ldns_status st = ldns_verify_rrsig_keylist_time(keys.get(), ldns_rr_list_rr(sigs.get(), i),
                                                    trusted.get(), now_, nullptr);
    if (st == LDNS_STATUS_OK) return Keys{Security::Secure, std::move(keys), {}};
    why = ldns_get_errorstr_by_id(st);
  }
  return Keys{Security::Bogus, nullptr, name_text(zone) + " DNSKEY: " + why};
}

const Keys& Validator::zone_keys(const ldns_rdf* zone) {
  const std::string key = name_text(zone);
  if (auto it = zones_.find(key); it != zones_.end()) return it->second;
  Keys k;
  const ldns_rdf* anchor = closest_anchor(zone);
  if (!anchor) {
    k = Keys{Security::Insecure, nullptr, "no trust anchor for " + key};
  } else if (same_name(anchor, zone)) {
    k = anchor_keys(zone);
  } else {
    const Cut& c = ds_step(zone);
    if (c.kind == Cut::Kind::SecureZone) return zones_.at(key);  // ds_step stored them
    if (c.kind == Cut::Kind::InsecureCut)
      k = Keys{Security::Insecure, nullptr, key + " is an unsigned delegation (no DS)"};
    else if (c.kind == Cut::Kind::NotACut)
      k = Keys{Security::Bogus, nullptr, "signer " + key + " is not a zone"};
    else
      k = Keys{c.fail.sec, nullptr, c.fail.why};
  }
  return zones_[key] = std::move(k);
}

const Cut& Validator::ds_step(const ldns_rdf* name) {
  const std::string key = name_text(name);
  if (auto it = cuts_.find(key); it != cuts_.end()) return it->second;
  Cut c = ds_step_uncached(name);
  return cuts_[key] = std::move(c);
}

bool bitmap_has(const ldns_rr* nsec, ldns_rr_type t) {
  const ldns_rdf* bitmap = ldns_nsec_get_bitmap(nsec);
  return bitmap && ldns_nsec_bitmap_covers_type(bitmap, t);
}

// RFC 4035 §5.2, RFC 5155 §8.9: a delegation without DS (NS set, no DS,
// no SOA: the parent's side of the cut). NotACut when the name exists
// without NS, or not at all.
Cut::Kind cut_kind(const ldns_rr* matching) {
  if (bitmap_has(matching, LDNS_RR_TYPE_DS)) return Cut::Kind::Fail;
  if (bitmap_has(matching, LDNS_RR_TYPE_NS) && !bitmap_has(matching, LDNS_RR_TYPE_SOA))
    return Cut::Kind::InsecureCut;
  return Cut::Kind::NotACut;
}

Cut Validator::ds_step_uncached(const ldns_rdf* name) {
  const std::string what = name_text(name);
  auto fail = [](Security s, std::string why) {
    Cut c;
    c.kind = Cut::Kind::Fail;
    c.fail = Check{s, std::move(why)};
    return c;
  };
  std::string why;
  DnsPkt pkt = ask(name, LDNS_RR_TYPE_DS, &why);
  if (!pkt) return fail(Security::Bogus, why);
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  RrListPtr ds = pick(answer, name, LDNS_RR_TYPE_DS);
  if (count(ds.get()) > 0) {
    RrListPtr sigs = pick(answer, name, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DS);
    Check c = verify(ds.get(), sigs.get(), name, LDNS_RR_TYPE_DS, name);
    if (c.sec != Security::Secure) return fail(c.sec, c.why);
    DnsPkt kp = ask(name, LDNS_RR_TYPE_DNSKEY, &why);
    if (!kp) return fail(Security::Bogus, why);
    RrListPtr keys = pick(ldns_pkt_answer(kp.get()), name, LDNS_RR_TYPE_DNSKEY);
    RrListPtr ksigs =
        pick(ldns_pkt_answer(kp.get()), name, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_DNSKEY);
    RrListPtr trusted = trusted_keys(keys.get(), ds.get());
    if (count(trusted.get()) == 0)
      return fail(Security::Bogus, "no DNSKEY of " + what + " matches its DS");
    if (count(keys.get()) > kMaxKeys)
      return fail(Security::Bogus,
                  what + " DNSKEY: more than " + std::to_string(kMaxKeys) + " keys");
    for (size_t i = 0; i < count(ksigs.get()) && i < kMaxSigsTried; ++i) {
      ldns_status st = ldns_verify_rrsig_keylist_time(keys.get(), ldns_rr_list_rr(ksigs.get(), i),
                                                      trusted.get(), now_, nullptr);
      if (st == LDNS_STATUS_OK) {
        zones_[what] = Keys{Security::Secure, std::move(keys), {}};
        Cut c;
        c.kind = Cut::Kind::SecureZone;
        return c;
      }
      why = ldns_get_errorstr_by_id(st);
    }
    return fail(Security::Bogus, what + " DNSKEY: " + (why.empty() ? "no signature" : why));
  }

  // No DS: the parent's signed NSEC or NSEC3 says why.
  const ldns_rr_list* auth = ldns_pkt_authority(pkt.get());
  RrListPtr nsec = pick(auth, nullptr, LDNS_RR_TYPE_NSEC);
  RrListPtr nsec3 = pick(auth, nullptr, LDNS_RR_TYPE_NSEC3);
  if (count(nsec.get()) == 0 && count(nsec3.get()) == 0)
    return fail(Security::Bogus, "no signed proof that " + what + " has no DS");
  const ldns_rr_type t = count(nsec.get()) > 0 ? LDNS_RR_TYPE_NSEC : LDNS_RR_TYPE_NSEC3;
  Check c = verify_section(auth, t, name);
  if (c.sec != Security::Secure) return fail(c.sec, c.why);
  Cut out;
  if (t == LDNS_RR_TYPE_NSEC) {
    for (size_t i = 0; i < count(nsec.get()); ++i) {
      const ldns_rr* n = ldns_rr_list_rr(nsec.get(), i);
      if (same_name(ldns_rr_owner(n), name)) {
        out.kind = cut_kind(n);
        if (out.kind == Cut::Kind::Fail)
          return fail(Security::Bogus, "NSEC at " + what + " lists a DS that was not sent");
        return out;
      }
    }
    for (size_t i = 0; i < count(nsec.get()); ++i) {
      if (ldns_nsec_covers_name(ldns_rr_list_rr(nsec.get(), i), name)) {
        out.kind = Cut::Kind::NotACut;  // no such name, or an empty non-terminal
        return out;
      }
    }
    return fail(Security::Bogus, "the NSEC records do not prove that " + what + " has no DS");
  }
  // NSEC3: the record matching the name's hash, else a covering opt-out one.
  RdfPtr hashed(ldns_nsec3_hash_name_frm_nsec3(ldns_rr_list_rr(nsec3.get(), 0), name));
  for (size_t i = 0; hashed && i < count(nsec3.get()); ++i) {
    const ldns_rr* n = ldns_rr_list_rr(nsec3.get(), i);
    RdfPtr label(ldns_dname_label(ldns_rr_owner(n), 0));
    if (label && ldns_dname_compare(label.get(), hashed.get()) == 0) {
      out.kind = cut_kind(n);
      if (out.kind == Cut::Kind::Fail)
        return fail(Security::Bogus, "NSEC3 for " + what + " lists a DS that was not sent");
      return out;
    }
  }
  RrPtr q(ldns_rr_new_frm_type(LDNS_RR_TYPE_DS));
  ldns_rr_set_owner(q.get(), ldns_rdf_clone(name));
  RrListPtr sigs = pick(auth, nullptr, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_NSEC3);
  ldns_status st = ldns_dnssec_verify_denial_nsec3(q.get(), nsec3.get(), sigs.get(),
                                                   ldns_pkt_get_rcode(pkt.get()), LDNS_RR_TYPE_DS,
                                                   count(ldns_pkt_answer(pkt.get())) == 0);
  if (st != LDNS_STATUS_OK)
    return fail(Security::Bogus, "NSEC3 proof for " + what + " DS: " + ldns_get_errorstr_by_id(st));
  bool optout = false;
  for (size_t i = 0; i < count(nsec3.get()); ++i)
    optout = optout || ldns_nsec3_optout(ldns_rr_list_rr(nsec3.get(), i));
  // RFC 5155 §6: opt-out spans may hold unsigned delegations.
  out.kind = optout ? Cut::Kind::InsecureCut : Cut::Kind::NotACut;
  return out;
}

// An answer without signatures: insecure only below a proven unsigned
// delegation, walked from the anchor down (see the top of the file).
Check Validator::unsigned_data(const ldns_rdf* owner) {
  const std::string what = name_text(owner);
  const ldns_rdf* anchor = closest_anchor(owner);
  if (!anchor) return Check{Security::Insecure, "no trust anchor for " + what};
  const Keys& ak = zone_keys(anchor);
  if (ak.sec != Security::Secure) return Check{ak.sec, ak.why};
  const int top = ldns_dname_label_count(anchor);
  const int bottom = ldns_dname_label_count(owner);
  for (int labels = top + 1; labels <= bottom; ++labels) {
    RdfPtr n(ldns_rdf_clone(owner));
    for (int chop = bottom - labels; chop > 0; --chop) n.reset(ldns_dname_left_chop(n.get()));
    if (!n) break;
    const Cut& c = ds_step(n.get());
    if (c.kind == Cut::Kind::InsecureCut)
      return Check{Security::Insecure, name_text(n.get()) + " is an unsigned delegation"};
    if (c.kind == Cut::Kind::Fail) return c.fail;
  }
  return Check{Security::Bogus, what + ": no signature in a signed zone"};
}

// NODATA or NXDOMAIN for (qname, type): secure with a signed NSEC or NSEC3
// proof; insecure or bogus without one, as for unsigned data.
Check Validator::denial(const ldns_pkt* pkt, const ldns_rdf* qname, ldns_rr_type type) {
  const ldns_rr_list* auth = ldns_pkt_authority(pkt);
  RrListPtr nsec = pick(auth, nullptr, LDNS_RR_TYPE_NSEC);
  RrListPtr nsec3 = pick(auth, nullptr, LDNS_RR_TYPE_NSEC3);
  if (count(nsec.get()) == 0 && count(nsec3.get()) == 0) {
    Check c = unsigned_data(qname);
    if (c.sec == Security::Bogus && c.why.find("no signature") != std::string::npos)
      c.why = name_text(qname) + " " + type_text(type) + ": no signed proof of absence";
    return c;
  }
  const bool use3 = count(nsec.get()) == 0;
  const ldns_rr_type t = use3 ? LDNS_RR_TYPE_NSEC3 : LDNS_RR_TYPE_NSEC;
  Check c = verify_section(auth, t, nullptr);
  if (c.sec != Security::Secure) return c;
  RrPtr q(ldns_rr_new_frm_type(type));
  ldns_rr_set_owner(q.get(), ldns_rdf_clone(qname));
  RrListPtr sigs = pick(auth, nullptr, LDNS_RR_TYPE_RRSIG, t);
  ldns_status st = use3 ? ldns_dnssec_verify_denial_nsec3(q.get(), nsec3.get(), sigs.get(),
                                                          ldns_pkt_get_rcode(pkt), type, true)
                        : ldns_dnssec_verify_denial(q.get(), nsec.get(), sigs.get());
  if (st != LDNS_STATUS_OK)
    return Check{Security::Bogus, name_text(qname) + " " + type_text(type) +
                                      ": proof of absence: " + ldns_get_errorstr_by_id(st)};
  return Check{Security::Secure, {}};
}

// The RRset of (name, type), following CNAMEs; every link is validated
// (RFC 4035 §5.3), and the answer is as secure as its least secure link.
Validator::Answer Validator::lookup(const ldns_rdf* name, ldns_rr_type type) {
  Answer out;
  out.sec = Security::Secure;
  RdfPtr cur(ldns_rdf_clone(name));
  for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
    std::string why;
    DnsPkt pkt = ask(cur.get(), type, &why);
    if (!pkt) return Answer{Security::Bogus, nullptr, nullptr, why};
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    bool moved = false;
    for (int step = 0; step <= kMaxCnameHops; ++step) {
      RrListPtr rrs = pick(answer, cur.get(), type);
      const bool final = count(rrs.get()) > 0;
      if (!final) rrs = pick(answer, cur.get(), LDNS_RR_TYPE_CNAME);
      if (count(rrs.get()) == 0) break;
      const ldns_rr_type got = final ? type : LDNS_RR_TYPE_CNAME;
      RrListPtr sigs = pick(answer, cur.get(), LDNS_RR_TYPE_RRSIG, got);
      Check c = verify(rrs.get(), sigs.get(), cur.get(), got);
      if (c.unsigned_) c = unsigned_data(cur.get());
      out.sec = worse(out.sec, c.sec);
      if (c.sec != Security::Secure && out.why.empty()) out.why = c.why;
      if (out.sec == Security::Bogus || out.sec == Security::Unavailable) return out;
      if (final) {
        out.rrs = std::move(rrs);
        out.final_name = std::move(cur);
        return out;
      }
      cur.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(rrs.get(), 0), 0)));
      moved = true;
    }
    if (moved) continue;  // the server left the chain unfinished: ask for its end
    Check c = denial(pkt.get(), cur.get(), type);
    out.sec = worse(out.sec, c.sec);
    if (c.sec != Security::Secure && out.why.empty()) out.why = c.why;
    out.rrs = new_list();
    out.final_name = std::move(cur);
    return out;
  }
  return Answer{Security::Bogus, nullptr, nullptr, name_text(name) + ": CNAME chain too long"};
}

Security Validator::mx_security(std::string_view domain, std::string* why) {
  RdfPtr name = dname(domain);
  if (!name) {
    *why = "bad domain name";
    return Security::Bogus;
  }
  Answer a = lookup(name.get(), LDNS_RR_TYPE_MX);
  *why = a.why;
  return a.sec;
}

Security Validator::anchors_status(std::string* why) {
  Security worst = Security::Secure;
  for (size_t i = 0; i < count(anchors_.get()); ++i) {
    const Keys& k = zone_keys(ldns_rr_owner(ldns_rr_list_rr(anchors_.get(), i)));
    if (k.sec != Security::Secure && worse(worst, k.sec) != worst) *why = k.why;
    worst = worse(worst, k.sec);
  }
  return worst;
}

std::vector<Tlsa> to_tlsa(const ldns_rr_list* rrs) {
  std::vector<Tlsa> out;
  for (size_t i = 0; i < count(rrs); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
    if (ldns_rr_rd_count(rr) != 4) continue;
    Tlsa t;
    t.usage = ldns_rdf2native_int8(ldns_rr_rdf(rr, 0));
    t.selector = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
    t.mtype = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
    const ldns_rdf* d = ldns_rr_rdf(rr, 3);
    t.data.assign(ldns_rdf_data(d), ldns_rdf_data(d) + ldns_rdf_size(d));
    out.push_back(std::move(t));
  }
  return out;
}

DaneHost Validator::host(std::string_view host, uint16_t port, bool v6) {
  DaneHost out;
  RdfPtr name = dname(host);
  if (!name) {
    out.security = Security::Bogus;
    out.why = "bad host name";
    return out;
  }
  // RFC 7672 §2.2.2: TLSA records only for hosts whose addresses are secure.
  Answer a = lookup(name.get(), v6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A);
  if (a.sec != Security::Secure) {
    out.security = a.sec;
    out.why = a.why;
    return out;
  }
  const std::string prefix = "_" + std::to_string(port) + "._tcp.";
  std::string original = name_text(name.get());
  std::string base = a.final_name ? name_text(a.final_name.get()) : original;
  auto tlsa_at = [&](const std::string& at) {
    RdfPtr t = dname(prefix + at);
    return t ? lookup(t.get(), LDNS_RR_TYPE_TLSA)
             : Answer{Security::Bogus, nullptr, nullptr, "bad TLSA name for " + at};
  };
  Answer t = tlsa_at(base);
  // §2.2.2: no TLSA at the CNAME's target: the original name's are used.
  if (t.sec == Security::Secure && count(t.rrs.get()) == 0 && base != original) {
    t = tlsa_at(original);
    base = original;
  }
  auto strip = [](std::string s) {
    if (s.size() > 1 && s.back() == '.') s.pop_back();
    return s;
  };
  out.security = t.sec;
  out.why = t.why;
  if (t.sec != Security::Secure) return out;
  out.tlsa = to_tlsa(t.rrs.get());
  out.names.push_back(strip(base));
  if (base != original) out.names.push_back(strip(original));
  return out;
}

}  // namespace

Result<DnssecAnchors> parse_dnssec_anchors(std::string_view text, const std::string& shown) {
  DnssecAnchors out;
  out.file = shown;
  // Zone-file syntax comments with ';'; a line starting with '#', as in
  // the other control files, is blanked (kept, so line numbers hold).
  std::string copy;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] != '#') copy += line;
    if (end == std::string_view::npos) break;
    copy += '\n';
    pos = end + 1;
  }
  FilePtr f(fmemopen(copy.data(), copy.size(), "r"));
  if (copy.empty()) return Error{"no DS or DNSKEY record", shown, 0};
  if (!f) return Error{"cannot read", shown, 0};
  uint32_t ttl = 3600;
  ldns_rdf* origin = nullptr;
  ldns_rdf* prev = nullptr;
  int line = 0;
  Result<DnssecAnchors> result = out;
  for (;;) {
    ldns_rr* raw = nullptr;
    int before = line;
    ldns_status st = ldns_rr_new_frm_fp_l(&raw, f.get(), &ttl, &origin, &prev, &line);
    RrPtr rr(raw);
    if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
        st == LDNS_STATUS_SYNTAX_ORIGIN) {
      if (std::feof(f.get())) break;
      continue;
    }
    if (st != LDNS_STATUS_OK) {
      if (std::feof(f.get()) && line == before) break;
      result = Error{ldns_get_errorstr_by_id(st), shown, line};
      break;
    }
    // As a number: ldns keeps a "TYPE2570800300" it read as it is, a value
    // no ldns_rr_type may hold (UBSan, fuzz/dnssec_anchors).
    const auto t = static_cast<uint32_t>(ldns_rr_get_type(rr.get()));
    if (t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_DNSKEY) {
      std::string what =
          t <= 0xffff ? type_text(static_cast<ldns_rr_type>(t)) : "TYPE" + std::to_string(t);
      result = Error{"a " + what + " record, not DS or DNSKEY", shown, line};
      break;
    }
    CharPtr s(ldns_rr2str(rr.get()));
    std::string rec = s ? s.get() : "";
    while (!rec.empty() && (rec.back() == '\n' || rec.back() == ' ')) rec.pop_back();
    // make_dane_dns reads each record back from this text, and check reads
    // the file: a record that does not read back, or whose owner would read
    // as a directive or a comment there ("$INCLUDE\032x." from "$ORIGIN
    // $INCLUDE x.", "#x." from "$ORIGIN #x."), is refused here, where
    // check names its line, not found unusable at delivery time
    // (fuzz/dnssec_anchors).
    ldns_rr* back = nullptr;
    ldns_status again = ldns_rr_new_frm_str(&back, rec.c_str(), 3600, nullptr, nullptr);
    RrPtr back_owner(back);
    if (rec.empty() || std::string_view("$#;").find(rec.front()) != std::string_view::npos ||
        again != LDNS_STATUS_OK || ldns_rr_compare(back, rr.get()) != 0) {
      result = Error{"a record that does not read back as written: " + rec, shown, line};
      break;
    }
    result->records.push_back(std::move(rec));
  }
  ldns_rdf_deep_free(origin);
  ldns_rdf_deep_free(prev);
  if (result && result->records.empty()) return Error{"no DS or DNSKEY record", shown, 0};
  return result;
}

Result<DnssecAnchors> load_dnssec_anchors(const std::string& path, const std::string& shown) {
  FilePtr f(std::fopen(path.c_str(), "re"));
  if (!f) return Error{std::string("cannot read: ") + std::strerror(errno), shown, 0};
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, n);
    if (text.size() > (4u << 20)) return Error{"larger than the 4 MiB limit", shown, 0};
  }
  return parse_dnssec_anchors(text, shown);
}

Result<std::unique_ptr<DaneDns>> make_dane_dns(const DnssecAnchors& anchors) {
  openssl_start();  // ldns checks signatures with OpenSSL
  auto servers = configured_dns_servers();
  if (!servers) return servers.failure();
  RrListPtr list = new_list();
  for (const std::string& text : anchors.records) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK) {
      ldns_rr_free(rr);
      return Error{anchors.file + ": cannot use record " + text};
    }
    ldns_rr_list_push_rr(list.get(), rr);
  }
  return std::unique_ptr<DaneDns>(new Validator(std::move(*servers), std::move(list)));
}

}  // namespace qr
