#include "lib/admin/tcpto.h"

#include <cerrno>
#include <cstring>
#include <optional>

#include "lib/net/tcpto.h"

namespace qr {

namespace {

// The admin waits longer for the lock than a delivery does.
constexpr std::chrono::milliseconds kAdminLockWait{10000};

const char* file_name(tcpto::Format f) {
  return f == tcpto::Format::qmail ? "queue/lock/tcpto" : "queue/lock/tcpto-pairs";
}

// What a delivery does with a record now. The window depends on the pid of
// each qmail-remote (3840 to 5824 s), so between the two bounds only some
// processes still skip (or demote) the address.
std::string status(unsigned count, uint64_t age) {
  const char* what = count >= 2 ? "skipped" : "tried last";
  if (age < tcpto::kWindowMin) return what;
  if (age < tcpto::kWindowMax) return std::string(what) + " by some processes";
  return "tried";
}

std::string pad(std::string s, size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s;
}

}  // namespace

std::string human_age(uint64_t s) {
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  if (s < 86400) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

Output tcpto_list(const std::string& lock_dir, uint64_t now) {
  Output o;
  struct Row {
    std::string remote, local, count, age, status;
  };
  std::vector<Row> rows;
  std::string notes;
  for (tcpto::Format f : {tcpto::Format::qmail, tcpto::Format::pairs}) {
    std::string why;
    auto image = tcpto::load(tcpto::path_of(lock_dir, f), f, kAdminLockWait, &why);
    if (!image) {
      if (why == std::strerror(ENOENT)) {
        notes += std::string(file_name(f)) + ": missing: " +
                 (f == tcpto::Format::qmail
                      ? "nothing is remembered (qmail's installer makes it)"
                      : "IPv6 and pair failures are not remembered (qmail-routes tcpok makes it)") +
                 "\n";
      } else {
        o.err += "qmail-routes: " + std::string(file_name(f)) + ": " + why +
                 ": qmail-remote ignores it (qmail-routes tcpok rewrites it)\n";
        o.code = 1;
      }
      continue;
    }
    size_t spoilt = 0;
    const size_t rs = tcpto::record_size(f);
    for (size_t i = 0; i < image->size() / rs; ++i) {
      const uint8_t* p = image->data() + i * rs;
      auto r = tcpto::decode(f, p, now);
      if (!r) {
        bool zero = true;
        for (size_t k = 0; k < rs; ++k) zero = zero && p[k] == 0;
        if (!zero) ++spoilt;
        continue;
      }
      if (r->count == 0) continue;  // reset by a connect that answered
      uint64_t age = now - r->when;
      rows.push_back({r->remote.str(), r->local ? r->local->str() : "any", std::to_string(r->count),
                      human_age(age) + " ago", status(r->count, age)});
    }
    if (spoilt)
      notes += std::string(file_name(f)) + ": " + std::to_string(spoilt) +
               (spoilt == 1 ? " record" : " records") +
               " ignored (a count over 10, a time in the future or an unknown format)\n";
  }
  if (rows.empty()) {
    o.out = "no dead hosts remembered\n";
  } else {
    Row head{"remote", "local", "count", "last failure", "now"};
    size_t w[4] = {head.remote.size(), head.local.size(), head.count.size(), head.age.size()};
    for (const auto& r : rows) {
      w[0] = std::max(w[0], r.remote.size());
      w[1] = std::max(w[1], r.local.size());
      w[2] = std::max(w[2], r.count.size());
      w[3] = std::max(w[3], r.age.size());
    }
    auto line = [&](const Row& r) {
      return pad(r.remote, w[0] + 2) + pad(r.local, w[1] + 2) + pad(r.count, w[2] + 2) +
             pad(r.age, w[3] + 2) + r.status + "\n";
    };
    o.out = line(head);
    for (const auto& r : rows) o.out += line(r);
  }
  o.out += notes;
  return o;
}

Output tcpto_ok(const std::vector<std::string>& args, const std::string& lock_dir) {
  if (args.size() > 1)
    return Output{2, "",
                  "qmail-routes: tcpok takes at most one IP (see qmail-routes tcpok --help)\n"};
  Output o;
  const std::string qmail_file = tcpto::path_of(lock_dir, tcpto::Format::qmail);
  if (args.empty()) {
    for (tcpto::Format f : {tcpto::Format::qmail, tcpto::Format::pairs}) {
      std::string why;
      // qmail's file is qmail's installer's to make; ours is made here,
      // owned as qmail's (qmailr, group qmail), so qmail-remote can write it.
      bool create = f == tcpto::Format::pairs;
      if (tcpto::reset(tcpto::path_of(lock_dir, f), f, create, qmail_file, kAdminLockWait, &why)) {
        o.out += std::string(file_name(f)) + ": cleared\n";
      } else {
        o.err += "qmail-routes: " + std::string(file_name(f)) + ": " + why + "\n";
        o.code = 1;
      }
    }
    return o;
  }
  std::string text = args[0];
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  auto ip = IpAddr::parse(text);
  if (!ip)
    return Output{
        2, "",
        "qmail-routes: '" + args[0] + "' is not an IP address (see qmail-routes tcpok --help)\n"};
  size_t cleared = 0;
  for (tcpto::Format f : {tcpto::Format::qmail, tcpto::Format::pairs}) {
    if (f == tcpto::Format::qmail && ip->is_v6()) continue;
    std::string why;
    bool done = tcpto::update(
        tcpto::path_of(lock_dir, f), f,
        [&](std::vector<uint8_t>& image) {
          auto changed = tcpto::apply_clear(f, image, ip);
          cleared += changed.size();
          return changed;
        },
        kAdminLockWait, &why);
    if (!done && why != std::strerror(ENOENT)) {
      o.err += "qmail-routes: " + std::string(file_name(f)) + ": " + why + "\n";
      o.code = 1;
    }
  }
  o.out = cleared ? "cleared " + std::to_string(cleared) + " record" + (cleared > 1 ? "s" : "") +
                        " of " + ip->str() + "\n"
                  : "nothing remembered of " + ip->str() + "\n";
  return o;
}

}  // namespace qr
