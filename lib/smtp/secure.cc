#include "lib/smtp/secure.h"

#include <algorithm>

#include "lib/auth/auth.h"
#include "lib/smtp/reply.h"
#include "lib/tls/tls.h"

namespace qr {

namespace {

// The TLSA records and names a DANE handshake is checked against, in one
// line (no newline: SessionCache keys are lines), sorted so that the same
// RRset in another order is the same key.
std::string dane_key(const DaneOptions& d) {
  std::vector<std::string> records;
  for (const Tlsa& t : d.tlsa) records.push_back(tlsa_text(t));
  std::sort(records.begin(), records.end());
  std::string key = "tlsa=";
  for (const std::string& r : records) key += r + ",";
  key += " names=";
  for (const std::string& n : d.names) key += n + ",";
  return key;
}

TlsOptions tls_options(const SessionSettings& s) {
  TlsOptions o;
  o.verify = s.tls == TlsPolicy::Verify;
  o.check_quietly = s.check_certificate && !o.verify;
  o.ca_file = s.ca_file;
  // With no host name (an IP literal relay) the certificate is checked
  // against the address itself.
  o.host = s.tls_name.empty() ? s.peer : s.tls_name;
  o.client_cert = s.client_cert;
  o.ciphers = s.ciphers;
  // SPEC §15: sessions are kept per policy (the CA source and the name are
  // in the key through the fields above).
  o.cache_dir = s.tls_cache_dir;
  o.policy_id = tls_policy_name(s.tls);
  if (s.tls == TlsPolicy::Dane && s.dane) {
    o.dane = s.dane;
    // RFC 7672 §8.1: SNI carries the TLSA base domain.
    if (!s.dane->names.empty()) o.host = s.dane->names[0];
    // SPEC §15: a DANE session is kept per TLSA RRset (and names): a
    // resumed session is not verified again, so it may only be offered
    // under the very records its full handshake was matched with.
    o.policy_id += " " + dane_key(*s.dane);
  }
  return o;
}

}  // namespace

Status prepare_tls(const SessionSettings& s) {
  return tls_prepare(tls_options(s));
}

Result<std::string> start_tls(Connection& conn, const SessionSettings& s) {
  auto tls = tls_handshake(conn.fd(), tls_options(s), conn.timeout());
  if (!tls) return tls.failure();
  std::string used = (*tls)->version() + ":" + (*tls)->cipher();
  if ((*tls)->resumed()) used += ":resumed";  // SPEC §10, §15
  conn.set_stream(std::move(*tls));
  return used;
}

namespace {

// The text of a 334 challenge: the first line without "334 ".
std::string_view challenge(const Reply& r) {
  std::string_view t = r.text;
  t = t.substr(0, t.find('\n'));
  return t.size() > 4 ? t.substr(4) : std::string_view{};
}

class Exchange {
 public:
  Exchange(Connection& c, const SessionSettings& s) : c_(c), s_(s) {}

  // Sends one line of the exchange; the reply, or why there is none.
  // `secret` is the part of the line that must never be reported: the
  // whole line but for the AUTH command's own words.
  Result<Reply> send(const std::string& line, std::string_view secret) {
    if (s_.secrets != nullptr) s_.secrets->add(secret);
    c_.queue(line);
    c_.queue("\r\n");
    if (auto st = c_.flush(); !st) return st.failure();
    return read_reply(c_);
  }
  // Answers a 334 with `answer` (or "*" when the challenge was bad).
  Result<Reply> answer(const Result<std::string>& answer) {
    if (!answer) return cancel(answer.error());
    return send(*answer, *answer);
  }
  // Sends "*": the exchange is over (RFC 4954 §4), whatever the server
  // says next; a 334 to the "*" gets nothing more, least of all a password.
  Result<Reply> cancel(std::string why) {
    cancelled_ = std::move(why);
    return send(std::string(kAuthCancel), "");
  }
  Result<std::string> run(Mechanism m);

 private:
  Connection& c_;
  const SessionSettings& s_;
  std::string cancelled_;  // why "*" was sent; empty while the exchange goes on
};

Result<std::string> Exchange::run(Mechanism m) {
  const std::string name = mechanism_name(m);
  // "AUTH PLAIN <initial response>": the response is the secret.
  const std::string command = auth_command(m, s_.user, s_.pass);
  const size_t words = std::string_view("AUTH ").size() + name.size();
  auto r = send(command, command.size() > words ? command.substr(words + 1) : "");
  // Each 334 gets the next answer: LOGIN's user then password, CRAM-MD5's
  // digest. PLAIN sent everything in its initial response (RFC 4616), so a
  // 334 to it is answered with "*".
  for (int step = 0; r && r->code == 334 && step < 3 && cancelled_.empty(); ++step) {
    std::string_view ch = challenge(*r);
    if (m == Mechanism::Login && step == 0)
      r = answer(login_response(ch, s_.user));
    else if (m == Mechanism::Login && step == 1)
      r = answer(login_response(ch, s_.pass));
    else if (m == Mechanism::CramMd5 && step == 0)
      r = answer(cram_md5_response(ch, s_.user, s_.pass));
    else
      r = cancel("unexpected 334");
  }
  if (!r) return Error{"AUTH " + name + ": " + r.error()};
  if (!cancelled_.empty()) return Error{"AUTH " + name + " cancelled with *: " + cancelled_};
  // The reply may echo what we sent: the report's filter withholds it.
  if (r->code != 235) return Error{"AUTH " + name + " refused: " + r->text};
  return name;
}

}  // namespace

Result<std::string> authenticate(Connection& conn, const Capabilities& caps, bool tls_active,
                                 const SessionSettings& s) {
  auto m = choose_mechanism(caps.auth, tls_active, s.auth_cleartext);
  if (!m) {
    std::string offered;
    for (const auto& a : caps.auth) offered += (offered.empty() ? "" : " ") + a;
    if (offered.empty()) return Error{"AUTH required by the route but not offered"};
    return Error{"no usable AUTH mechanism (offered: " + offered + (tls_active ? "" : "; no TLS") +
                 ")"};
  }
  return Exchange(conn, s).run(*m);
}

}  // namespace qr
