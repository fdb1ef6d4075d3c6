// Dead hosts (SPEC §12, issue 12): qmail's queue/lock/tcpto byte for byte
// against files written by hand, the rules of notqmail's tcpto.c (count,
// 120 s, the skip window with a fixed pid and clock), tcpto-pairs
// (doc/TCPTO.md), every bad file as "nothing remembered", DeadHosts'
// choice between the two files, and 50 processes writing at once.
#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "lib/admin/commands.h"
#include "lib/admin/tcpto.h"
#include "lib/net/tcpto.h"

using qr::DeadHosts;
using qr::IpAddr;
namespace tcpto = qr::tcpto;
using tcpto::Format;
using tcpto::Kind;
using tcpto::Verdict;
using Bytes = std::vector<uint8_t>;

namespace {

IpAddr ip(const char* text) {
  auto a = IpAddr::parse(text);
  REQUIRE(a);
  return *a;
}

// A time well inside 32 bits, with four distinct bytes: 0x64a1b2c3.
constexpr uint64_t kNow = 0x64a1b2c3;
// pid 12345: 12345 & 31 = 25, window (60 + 25) * 64 = 5440 s.
constexpr pid_t kPid = 12345;
constexpr uint64_t kWindow = 5440;

// A qmail record made byte by byte, as tcpto.c lays it out.
void qmail_record(Bytes& file, size_t i, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t count,
                  uint32_t when) {
  uint8_t* p = file.data() + i * 16;
  p[0] = a, p[1] = b, p[2] = c, p[3] = d;
  p[4] = count;
  p[8] = uint8_t(when), p[9] = uint8_t(when >> 8), p[10] = uint8_t(when >> 16),
  p[11] = uint8_t(when >> 24);
}

// A scratch queue/lock directory (mode 0755, so a child as nobody can enter).
class LockDir {
 public:
  LockDir() {
    char tmpl[] = "/tmp/qr-tcpto-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
    ::chmod(path_.c_str(), 0755);
  }
  ~LockDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  LockDir(const LockDir&) = delete;
  LockDir& operator=(const LockDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(Format f) const { return tcpto::path_of(path_, f); }
  void write(Format f, const Bytes& b) const {
    std::ofstream out(file(f), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  }
  void zeros(Format f) const { write(f, Bytes(tcpto::file_size(f))); }
  Bytes read(Format f) const {
    std::ifstream in(file(f), std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
  }
  DeadHosts hosts(uint64_t* clock, std::chrono::milliseconds wait = tcpto::kLockWait) const {
    DeadHosts::Config c;
    c.lock_dir = path_;
    c.now = [clock] { return *clock; };
    c.pid = kPid;
    c.lock_wait = wait;
    return DeadHosts(c);
  }

 private:
  std::string path_;
};

}  // namespace

// DeadHosts is not copyable or movable; hosts() relies on C++17's
// guaranteed copy elision.

TEST_CASE("tcpto: the skip window of tcpto.c", "[tcpto]") {
  CHECK(tcpto::window(0) == 3840);
  CHECK(tcpto::window(31) == 5824);
  CHECK(tcpto::window(32) == 3840);
  CHECK(tcpto::window(kPid) == kWindow);
  CHECK(tcpto::kWindowMin == 3840);
  CHECK(tcpto::kWindowMax == 5824);
}

TEST_CASE("tcpto: judge, the rules table", "[tcpto]") {
  struct Case {
    unsigned count;
    uint64_t age;
    Kind kind;
  } cases[] = {
      {0, 0, Kind::none},  // reset by a connect that answered
      {0, 10, Kind::none},
      {1, 0, Kind::demoted},  // one timeout: tried after the others
      {1, kWindow - 1, Kind::demoted},
      {1, kWindow, Kind::none},  // the window has passed
      {2, 0, Kind::skipped},     // vanilla's rule: count >= 2 within the window
      {2, kWindow - 1, Kind::skipped},
      {2, kWindow, Kind::none},
      {10, 100, Kind::skipped},
      {10, kWindow + 1, Kind::none},
      {11, 100, Kind::none},  // corrupt: more than 10
      {255, 100, Kind::none},
  };
  for (const auto& c : cases) {
    INFO("count " << c.count << " age " << c.age);
    Verdict v = tcpto::judge(c.count, uint32_t(kNow - c.age), kNow, kPid);
    CHECK(v.kind == c.kind);
    if (v.kind != Kind::none) CHECK(v.age == c.age);
  }
  // A time in the future (the clock went back): nothing remembered.
  CHECK(tcpto::judge(5, uint32_t(kNow + 1), kNow, kPid).kind == Kind::none);
  // The window depends on the pid, as in tcpto.c: 3900 s is inside pid
  // 31's window (5824 s) but outside pid 0's (3840 s).
  CHECK(tcpto::judge(2, uint32_t(kNow - 3900), kNow, 31).kind == Kind::skipped);
  CHECK(tcpto::judge(2, uint32_t(kNow - 3900), kNow, 0).kind == Kind::none);
  CHECK(tcpto::skipped_text(Verdict{Kind::skipped, 42}) ==
        "skipped: no connection within timeoutconnect, 42 s ago");
}

TEST_CASE("tcpto: qmail's records decoded from hand-written bytes", "[tcpto]") {
  Bytes file(1024);
  qmail_record(file, 0, 192, 0, 2, 1, 3, uint32_t(kNow - 100));
  qmail_record(file, 5, 198, 51, 100, 7, 1, uint32_t(kNow - 7000));
  qmail_record(file, 6, 203, 0, 113, 9, 0, uint32_t(kNow - 5));    // reset
  qmail_record(file, 7, 203, 0, 113, 10, 11, uint32_t(kNow - 5));  // count > 10
  qmail_record(file, 8, 203, 0, 113, 11, 2, uint32_t(kNow + 60));  // future
  // The time is least significant byte first: 0x64a1b2c3 - 100 = 0x64a1b25f.
  CHECK(file[8] == 0x5f);
  CHECK(file[9] == 0xb2);
  CHECK(file[10] == 0xa1);
  CHECK(file[11] == 0x64);

  auto r = tcpto::decode(Format::qmail, file.data(), kNow);
  REQUIRE(r);
  CHECK(r->remote == ip("192.0.2.1"));
  CHECK_FALSE(r->local);
  CHECK(r->count == 3);
  CHECK(r->when == kNow - 100);
  CHECK_FALSE(tcpto::decode(Format::qmail, file.data() + 16, kNow));  // zeros: free
  auto reset = tcpto::decode(Format::qmail, file.data() + 6 * 16, kNow);
  REQUIRE(reset);
  CHECK(reset->count == 0);
  CHECK_FALSE(tcpto::decode(Format::qmail, file.data() + 7 * 16, kNow));
  CHECK_FALSE(tcpto::decode(Format::qmail, file.data() + 8 * 16, kNow));

  CHECK(tcpto::find(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow) == 0u);
  CHECK(tcpto::find(Format::qmail, file, ip("198.51.100.7"), std::nullopt, kNow) == 5u);
  CHECK_FALSE(tcpto::find(Format::qmail, file, ip("203.0.113.10"), std::nullopt, kNow));
  CHECK_FALSE(tcpto::find(Format::qmail, file, ip("192.0.2.2"), std::nullopt, kNow));
  // qmail's file holds neither IPv6 nor pairs.
  CHECK_FALSE(tcpto::find(Format::qmail, file, ip("2001:db8::1"), std::nullopt, kNow));
  CHECK_FALSE(tcpto::find(Format::qmail, file, ip("192.0.2.1"), ip("10.0.0.1"), kNow));

  LockDir dir;
  dir.write(Format::qmail, file);
  uint64_t clock = kNow;
  DeadHosts hosts = dir.hosts(&clock);
  CHECK(hosts.check(ip("192.0.2.1"), std::nullopt) == Verdict{Kind::skipped, 100});
  // A pinned local IP does not hide the remote's own record.
  CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.1")) == Verdict{Kind::skipped, 100});
  CHECK(hosts.check(ip("198.51.100.7"), std::nullopt).kind == Kind::none);  // 7000 s ago
  CHECK(hosts.check(ip("203.0.113.9"), std::nullopt).kind == Kind::none);
  CHECK(hosts.check(ip("203.0.113.10"), std::nullopt).kind == Kind::none);
  CHECK(hosts.check(ip("203.0.113.11"), std::nullopt).kind == Kind::none);
  CHECK(hosts.check(ip("192.0.2.99"), std::nullopt).kind == Kind::none);
}

TEST_CASE("tcpto: what a timeout writes into qmail's file, byte by byte", "[tcpto]") {
  LockDir dir;
  Bytes file(1024);
  // Junk in the bytes tcpto.c does not use stays where it is.
  qmail_record(file, 0, 192, 0, 2, 1, 1, uint32_t(kNow - 1000));
  file[5] = 0xaa, file[12] = 0xbb;
  dir.write(Format::qmail, file);
  uint64_t clock = kNow;
  {
    DeadHosts hosts = dir.hosts(&clock);
    hosts.record_timeout(ip("192.0.2.1"), std::nullopt, false);  // counted: 1000 s > 120 s
    hosts.record_timeout(ip("192.0.2.7"), std::nullopt, false);  // new: first free record
  }
  Bytes want = file;
  qmail_record(want, 0, 192, 0, 2, 1, 2, uint32_t(kNow));
  qmail_record(want, 1, 192, 0, 2, 7, 1, uint32_t(kNow));
  CHECK(dir.read(Format::qmail) == want);

  // Within 120 s of the last counted one: not counted again, not written.
  clock = kNow + 119;
  dir.hosts(&clock).record_timeout(ip("192.0.2.1"), std::nullopt, false);
  CHECK(dir.read(Format::qmail) == want);
  clock = kNow + 120;
  dir.hosts(&clock).record_timeout(ip("192.0.2.1"), std::nullopt, false);
  qmail_record(want, 0, 192, 0, 2, 1, 3, uint32_t(kNow + 120));
  CHECK(dir.read(Format::qmail) == want);

  // A connect that answered: count 0, time kept (tcpto.c writes byte 4 only).
  {
    DeadHosts hosts = dir.hosts(&clock);
    CHECK(hosts.check(ip("192.0.2.1"), std::nullopt).kind == Kind::skipped);
    hosts.record_success(ip("192.0.2.1"), std::nullopt);
  }
  want[4] = 0;
  CHECK(dir.read(Format::qmail) == want);
  // The next timeout counts from 1 again, even within 120 s of the last.
  clock = kNow + 130;
  dir.hosts(&clock).record_timeout(ip("192.0.2.1"), std::nullopt, false);
  qmail_record(want, 0, 192, 0, 2, 1, 1, uint32_t(kNow + 130));
  CHECK(dir.read(Format::qmail) == want);
}

TEST_CASE("tcpto: the count stops at 10", "[tcpto]") {
  Bytes file(1024);
  for (unsigned k = 1; k <= 12; ++k) {
    auto i =
        tcpto::apply_timeout(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow + k * 121);
    REQUIRE(i == 0u);
    CHECK(file[4] == std::min(k, 10u));
  }
}

TEST_CASE("tcpto: a new address takes a free record, else the oldest", "[tcpto]") {
  Bytes file(1024);
  // Every record in use, count 1..10, times spread out; record 37 is the
  // oldest by time + count * 1024 (tcpto.c), though record 2 has the
  // oldest time.
  for (size_t i = 0; i < 64; ++i)
    qmail_record(file, i, 10, 0, 0, uint8_t(i + 1), uint8_t(1 + i % 10),
                 uint32_t(kNow - 10000 + i));
  qmail_record(file, 2, 10, 0, 0, 3, 10, uint32_t(kNow - 20000));   // 20000 - 10240 = 9760 ago
  qmail_record(file, 37, 10, 0, 0, 38, 1, uint32_t(kNow - 11000));  // 11000 - 1024 = 9976 ago
  Bytes full = file;
  CHECK(tcpto::apply_timeout(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow) == 37u);
  Bytes want = full;
  qmail_record(want, 37, 192, 0, 2, 1, 1, uint32_t(kNow));
  CHECK(file == want);

  // A record reset to count 0 is free: the first one is taken.
  file = full;
  file[20 * 16 + 4] = 0;
  file[50 * 16 + 4] = 0;
  CHECK(tcpto::apply_timeout(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow) == 20u);
  // So is a spoilt one (count > 10).
  file = full;
  file[9 * 16 + 4] = 200;
  CHECK(tcpto::apply_timeout(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow) == 9u);
  // A spoilt record of the same address is reused, not duplicated.
  file = full;
  qmail_record(file, 40, 192, 0, 2, 1, 4, uint32_t(kNow + 500));  // the clock went back
  CHECK(tcpto::apply_timeout(Format::qmail, file, ip("192.0.2.1"), std::nullopt, kNow) == 40u);
  CHECK(file[40 * 16 + 4] == 1);
}

TEST_CASE("tcpto: tcpto-pairs records, byte by byte", "[tcpto]") {
  // doc/TCPTO.md: version, family, count, 0, time (LSB first), remote (16),
  // local (16, zeros: any), 8 reserved zeros.
  Bytes file(tcpto::kPairFileSize);
  uint8_t* p = file.data();
  p[0] = 1, p[1] = 6, p[2] = 2;
  uint32_t when = uint32_t(kNow - 30);
  p[4] = uint8_t(when), p[5] = uint8_t(when >> 8), p[6] = uint8_t(when >> 16),
  p[7] = uint8_t(when >> 24);
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25};
  std::memcpy(p + 8, v6, 16);
  uint8_t* q = file.data() + 3 * 48;  // an IPv4 pair
  q[0] = 1, q[1] = 4, q[2] = 1;
  std::memcpy(q + 4, p + 4, 4);
  const uint8_t r4[4] = {192, 0, 2, 1}, l4[4] = {10, 0, 0, 7};
  std::memcpy(q + 8, r4, 4);
  std::memcpy(q + 24, l4, 4);
  uint8_t* bad = file.data() + 4 * 48;  // an unknown version
  std::memcpy(bad, q, 48);
  bad[0] = 2;
  uint8_t* badfam = file.data() + 5 * 48;  // an unknown family
  std::memcpy(badfam, q, 48);
  badfam[1] = 5;

  auto r = tcpto::decode(Format::pairs, p, kNow);
  REQUIRE(r);
  CHECK(r->remote == ip("2001:db8::25"));
  CHECK_FALSE(r->local);
  CHECK(r->count == 2);
  CHECK(r->when == when);
  auto s = tcpto::decode(Format::pairs, q, kNow);
  REQUIRE(s);
  CHECK(s->remote == ip("192.0.2.1"));
  CHECK(s->local == ip("10.0.0.7"));
  CHECK_FALSE(tcpto::decode(Format::pairs, bad, kNow));
  CHECK_FALSE(tcpto::decode(Format::pairs, badfam, kNow));
  CHECK_FALSE(tcpto::decode(Format::pairs, file.data() + 48, kNow));

  // encode writes exactly those bytes.
  Bytes again(48), again4(48);
  tcpto::encode(Format::pairs, *r, again.data());
  tcpto::encode(Format::pairs, *s, again4.data());
  CHECK(again == Bytes(p, p + 48));
  CHECK(again4 == Bytes(q, q + 48));

  LockDir dir;
  dir.write(Format::pairs, file);
  uint64_t clock = kNow;
  DeadHosts hosts = dir.hosts(&clock);
  CHECK(hosts.check(ip("2001:db8::25"), std::nullopt) == Verdict{Kind::skipped, 30});
  CHECK(hosts.check(ip("2001:db8::25"), ip("2001:db8::1")) == Verdict{Kind::skipped, 30});
  CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.7")) == Verdict{Kind::demoted, 30});
  CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.8")).kind == Kind::none);
  CHECK(hosts.check(ip("192.0.2.1"), std::nullopt).kind == Kind::none);
}

TEST_CASE("tcpto: the worse of the remote's and the pair's record", "[tcpto]") {
  LockDir dir;
  Bytes q(1024);
  qmail_record(q, 0, 192, 0, 2, 1, 1, uint32_t(kNow - 50));  // demoted
  dir.write(Format::qmail, q);
  Bytes pairs(tcpto::kPairFileSize);
  tcpto::encode(Format::pairs, {ip("192.0.2.1"), ip("10.0.0.7"), 4, uint32_t(kNow - 70)},
                pairs.data());
  dir.write(Format::pairs, pairs);
  uint64_t clock = kNow;
  DeadHosts hosts = dir.hosts(&clock);
  CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.7")) == Verdict{Kind::skipped, 70});
  CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.8")) == Verdict{Kind::demoted, 50});
  CHECK(hosts.check(ip("192.0.2.1"), std::nullopt) == Verdict{Kind::demoted, 50});
}

TEST_CASE("tcpto: which file a timeout goes to", "[tcpto]") {
  LockDir dir;
  dir.zeros(Format::qmail);
  dir.zeros(Format::pairs);
  uint64_t clock = kNow;
  auto qmail_has = [&](const char* a) {
    return tcpto::find(Format::qmail, dir.read(Format::qmail), ip(a), std::nullopt, clock);
  };
  auto pair_count = [&](const char* r, std::optional<IpAddr> l) -> int {
    Bytes img = dir.read(Format::pairs);
    auto i = tcpto::find(Format::pairs, img, ip(r), l, clock);
    return i ? int(img[*i * 48 + 2]) : -1;
  };

  SECTION("no local IP pinned: the remote's record, in qmail's file") {
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.timed_out(ip("192.0.2.1"), std::nullopt);
      CHECK_FALSE(qmail_has("192.0.2.1"));  // pending until the walk moves on
    }
    CHECK(qmail_has("192.0.2.1"));
    CHECK(dir.read(Format::pairs) == Bytes(tcpto::kPairFileSize));
  }
  SECTION("every local IP timed out: the remote's record, once") {
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.timed_out(ip("192.0.2.1"), ip("10.0.0.1"));
      hosts.timed_out(ip("192.0.2.1"), ip("10.0.0.2"));
      hosts.timed_out(ip("192.0.2.9"), ip("10.0.0.1"));  // the walk moved on
      CHECK(qmail_has("192.0.2.1"));
      CHECK_FALSE(qmail_has("192.0.2.9"));
      hosts.finish();
      CHECK(qmail_has("192.0.2.9"));
    }
    Bytes img = dir.read(Format::qmail);
    CHECK(img[4] == 1);  // once, not twice
    CHECK(dir.read(Format::pairs) == Bytes(tcpto::kPairFileSize));
  }
  SECTION("a local IP timed out, another answered: the pair, in tcpto-pairs") {
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.timed_out(ip("192.0.2.1"), ip("10.0.0.1"));
      hosts.answered(ip("192.0.2.1"), ip("10.0.0.2"));
      CHECK(pair_count("192.0.2.1", ip("10.0.0.1")) == 1);
      hosts.timed_out(ip("192.0.2.1"), ip("10.0.0.3"));  // after an answer: at once
      CHECK(pair_count("192.0.2.1", ip("10.0.0.3")) == 1);
    }
    CHECK_FALSE(qmail_has("192.0.2.1"));
    CHECK(pair_count("192.0.2.1", ip("10.0.0.2")) == -1);
  }
  SECTION("IPv6: tcpto-pairs, the remote with local any") {
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.timed_out(ip("2001:db8::25"), std::nullopt);
    }
    CHECK(pair_count("2001:db8::25", std::nullopt) == 1);
    CHECK(dir.read(Format::qmail) == Bytes(1024));
    // An IPv6 pair whose remote answered another local IP.
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.timed_out(ip("2001:db8::26"), ip("2001:db8::a"));
      hosts.answered(ip("2001:db8::26"), ip("2001:db8::b"));
    }
    CHECK(pair_count("2001:db8::26", ip("2001:db8::a")) == 1);
    CHECK(pair_count("2001:db8::26", std::nullopt) == -1);
  }
  SECTION("an answer resets the remote's and the pair's records") {
    clock = kNow;
    {
      DeadHosts hosts = dir.hosts(&clock);
      hosts.record_timeout(ip("192.0.2.1"), std::nullopt, false);
      hosts.record_timeout(ip("192.0.2.1"), ip("10.0.0.1"), true);
    }
    {
      DeadHosts hosts = dir.hosts(&clock);
      CHECK(hosts.check(ip("192.0.2.1"), ip("10.0.0.1")).kind == Kind::demoted);
      hosts.answered(ip("192.0.2.1"), ip("10.0.0.1"));
    }
    Bytes img = dir.read(Format::qmail);
    CHECK(img[4] == 0);
    CHECK(pair_count("192.0.2.1", ip("10.0.0.1")) == 0);
  }
  SECTION("an answer resets only what was there at the first look (tcpto.c)") {
    DeadHosts hosts = dir.hosts(&clock);
    CHECK(hosts.check(ip("192.0.2.1"), std::nullopt).kind == Kind::none);
    // Another process records a timeout meanwhile.
    dir.hosts(&clock).record_timeout(ip("192.0.2.1"), std::nullopt, false);
    hosts.answered(ip("192.0.2.1"), std::nullopt);
    CHECK(dir.read(Format::qmail)[4] == 1);
  }
}

TEST_CASE("tcpto: tcpto-pairs takes the oldest record when full", "[tcpto]") {
  Bytes file(tcpto::kPairFileSize);
  for (size_t i = 0; i < tcpto::kPairRecords; ++i) {
    std::string a = "2001:db8::" + std::to_string(i + 1);
    tcpto::encode(Format::pairs, {ip(a.c_str()), std::nullopt, 1, uint32_t(kNow - 1000 + i)},
                  file.data() + i * 48);
  }
  CHECK(tcpto::apply_timeout(Format::pairs, file, ip("192.0.2.1"), ip("10.0.0.1"), kNow) == 0u);
  auto r = tcpto::decode(Format::pairs, file.data(), kNow);
  REQUIRE(r);
  CHECK(r->remote == ip("192.0.2.1"));
  CHECK(r->local == ip("10.0.0.1"));
  CHECK(r->count == 1);
}

TEST_CASE("tcpto: bad files are nothing remembered, and left alone", "[tcpto]") {
  LockDir dir;
  uint64_t clock = kNow;
  Bytes skip(1024);
  qmail_record(skip, 0, 192, 0, 2, 1, 5, uint32_t(kNow - 10));
  auto remembered = [&] {
    return dir.hosts(&clock, std::chrono::milliseconds(100))
        .check(ip("192.0.2.1"), std::nullopt)
        .kind;
  };
  auto records = [&] {  // a timeout recorded into whatever is there
    dir.hosts(&clock, std::chrono::milliseconds(100))
        .record_timeout(ip("192.0.2.9"), std::nullopt, false);
  };
  std::string why;

  SECTION("the good file, for reference") {
    dir.write(Format::qmail, skip);
    CHECK(remembered() == Kind::skipped);
  }
  SECTION("missing: not created") {
    CHECK(remembered() == Kind::none);
    records();
    CHECK_FALSE(std::filesystem::exists(dir.file(Format::qmail)));
    CHECK_FALSE(tcpto::load(dir.file(Format::qmail), Format::qmail, tcpto::kLockWait, &why));
    CHECK(why == std::strerror(ENOENT));
  }
  SECTION("empty, short, long: the wrong size, never written") {
    for (size_t size : {size_t(0), size_t(16), size_t(1000), size_t(1040), size_t(2048)}) {
      INFO("size " << size);
      Bytes b = skip;
      b.resize(size);
      dir.write(Format::qmail, b);
      CHECK(remembered() == Kind::none);
      records();
      CHECK(dir.read(Format::qmail) == b);
    }
    CHECK_FALSE(tcpto::load(dir.file(Format::qmail), Format::qmail, tcpto::kLockWait, &why));
    CHECK(why == "2048 bytes, not 1024");
  }
  SECTION("an empty tcpto-pairs is made full size by the first timeout") {
    dir.write(Format::pairs, {});
    CHECK_FALSE(tcpto::load(dir.file(Format::pairs), Format::pairs));
    dir.hosts(&clock).record_timeout(ip("2001:db8::1"), std::nullopt, false);
    Bytes img = dir.read(Format::pairs);
    REQUIRE(img.size() == tcpto::kPairFileSize);
    CHECK(tcpto::find(Format::pairs, img, ip("2001:db8::1"), std::nullopt, kNow) == 0u);
    // ...but one of another size is left alone.
    dir.write(Format::pairs, Bytes(100, 1));
    dir.hosts(&clock).record_timeout(ip("2001:db8::1"), std::nullopt, false);
    CHECK(dir.read(Format::pairs) == Bytes(100, 1));
  }
  SECTION("corrupt records: count over 10, a time in the future") {
    Bytes b(1024);
    qmail_record(b, 0, 192, 0, 2, 1, 11, uint32_t(kNow - 10));
    dir.write(Format::qmail, b);
    CHECK(remembered() == Kind::none);
    qmail_record(b, 0, 192, 0, 2, 1, 5, uint32_t(kNow + 3600));  // the clock went back
    dir.write(Format::qmail, b);
    CHECK(remembered() == Kind::none);
    // Garbage everywhere: never a crash, nothing skipped.
    Bytes junk(1024);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = uint8_t(i * 151 + 7);
    dir.write(Format::qmail, junk);
    DeadHosts hosts = dir.hosts(&clock);
    for (size_t i = 0; i < 64; ++i) {
      uint8_t* p = junk.data() + i * 16;
      std::string a = std::to_string(p[0]) + "." + std::to_string(p[1]) + "." +
                      std::to_string(p[2]) + "." + std::to_string(p[3]);
      Kind k = hosts.check(ip(a.c_str()), std::nullopt).kind;
      bool sane = p[4] <= 10 && tcpto::decode(Format::qmail, p, kNow);
      if (!sane) CHECK(k == Kind::none);
    }
    records();  // takes a spoilt record, keeps the file's size
    CHECK(dir.read(Format::qmail).size() == 1024u);
  }
  SECTION("not a regular file") {
    std::filesystem::create_directory(dir.file(Format::qmail));
    CHECK(remembered() == Kind::none);
    records();
    std::filesystem::remove(dir.file(Format::qmail));
    REQUIRE(::mkfifo(dir.file(Format::qmail).c_str(), 0644) == 0);
    CHECK(remembered() == Kind::none);  // never waits for a writer
    records();
  }
  SECTION("not writable (EACCES), as qmailr would see it") {
    dir.write(Format::qmail, skip);
    ::chmod(dir.file(Format::qmail).c_str(), 0444);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Root opens any file: drop to nobody first.
      char out = 'x';
      if (::setgroups(0, nullptr) == 0 && ::setgid(65534) == 0 && ::setuid(65534) == 0) {
        uint64_t c = kNow;
        DeadHosts::Config cfg;
        cfg.lock_dir = dir.path();
        cfg.now = [&c] { return c; };
        cfg.pid = kPid;
        DeadHosts hosts(cfg);
        out = hosts.check(ip("192.0.2.1"), std::nullopt).kind == Kind::none ? 'n' : 's';
        hosts.record_timeout(ip("192.0.2.9"), std::nullopt, false);
      }
      (void)!::write(fds[1], &out, 1);
      ::_exit(0);
    }
    ::close(fds[1]);
    char got = 0;
    CHECK(::read(fds[0], &got, 1) == 1);
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    CHECK(got == 'n');
    CHECK(dir.read(Format::qmail) == skip);
  }
  SECTION("a lock held too long: nothing remembered, after a bounded wait") {
    dir.write(Format::qmail, skip);
    // flock belongs to the open file description: this one conflicts with
    // the module's own open() in this very process.
    int holder = ::open(dir.file(Format::qmail).c_str(), O_RDWR);
    REQUIRE(holder >= 0);
    REQUIRE(::flock(holder, LOCK_EX) == 0);
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(tcpto::load(dir.file(Format::qmail), Format::qmail, tcpto::kLockWait, &why));
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    CHECK(why == "locked by another process for too long");
    CHECK(ms >= 1000);
    CHECK(ms < 1500);
    CHECK(remembered() == Kind::none);
    records();
    CHECK(dir.read(Format::qmail) == skip);
    ::close(holder);
    CHECK(remembered() == Kind::skipped);
  }
}

TEST_CASE("tcpto: apply_clear, all or one address", "[tcpto]") {
  Bytes q(1024);
  qmail_record(q, 0, 192, 0, 2, 1, 2, uint32_t(kNow));
  qmail_record(q, 1, 192, 0, 2, 2, 2, uint32_t(kNow));
  Bytes all = q;
  CHECK(tcpto::apply_clear(Format::qmail, all, std::nullopt) == std::vector<size_t>{0, 1});
  CHECK(all == Bytes(1024));
  CHECK(tcpto::apply_clear(Format::qmail, q, ip("192.0.2.2")) == std::vector<size_t>{1});
  CHECK(tcpto::find(Format::qmail, q, ip("192.0.2.1"), std::nullopt, kNow) == 0u);
  CHECK(tcpto::apply_clear(Format::qmail, q, ip("2001:db8::1")).empty());

  Bytes p(tcpto::kPairFileSize);
  tcpto::encode(Format::pairs, {ip("192.0.2.1"), ip("10.0.0.1"), 1, uint32_t(kNow)}, p.data());
  tcpto::encode(Format::pairs, {ip("192.0.2.2"), ip("10.0.0.1"), 1, uint32_t(kNow)}, p.data() + 48);
  tcpto::encode(Format::pairs, {ip("2001:db8::1"), std::nullopt, 1, uint32_t(kNow)}, p.data() + 96);
  Bytes p2 = p;
  // One address: as a remote, or as our local IP.
  CHECK(tcpto::apply_clear(Format::pairs, p2, ip("192.0.2.2")) == std::vector<size_t>{1});
  CHECK(tcpto::apply_clear(Format::pairs, p2, ip("10.0.0.1")) == std::vector<size_t>{0});
  CHECK(tcpto::apply_clear(Format::pairs, p2, ip("2001:db8::1")) == std::vector<size_t>{2});
  CHECK(p2 == Bytes(tcpto::kPairFileSize));
}

TEST_CASE("tcpto: lock_dir_for and path_of", "[tcpto]") {
  CHECK(tcpto::lock_dir_for("/var/qmail/control") == "/var/qmail/queue/lock");
  CHECK(tcpto::lock_dir_for("/var/qmail/control/") == "/var/qmail/queue/lock");
  CHECK(tcpto::lock_dir_for("/opt/q/control") == "/opt/q/queue/lock");
  CHECK(tcpto::path_of("/var/qmail/queue/lock", Format::qmail) == "/var/qmail/queue/lock/tcpto");
  CHECK(tcpto::path_of("/var/qmail/queue/lock", Format::pairs) ==
        "/var/qmail/queue/lock/tcpto-pairs");
}

TEST_CASE("tcpto: 50 processes at once never corrupt the files", "[tcpto]") {
  LockDir dir;
  dir.zeros(Format::qmail);
  dir.write(Format::pairs, {});  // the first writer makes it full size
  constexpr int kChildren = 50;
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> kids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char b;
      (void)!::read(go[0], &b, 1);  // all start together
      uint64_t clock = kNow;
      DeadHosts::Config cfg;
      cfg.lock_dir = dir.path();
      cfg.now = [&clock] { return clock; };
      cfg.pid = ::getpid();
      cfg.lock_wait = std::chrono::milliseconds(10000);
      DeadHosts hosts(cfg);
      std::string own = "10.0.1." + std::to_string(c + 1);
      std::string own6 = "2001:db8::" + std::to_string(c + 1);
      for (int k = 0; k < 3; ++k) {
        clock = kNow + uint64_t(k) * 200;  // each one counted
        hosts.record_timeout(ip(own.c_str()), std::nullopt, false);
        hosts.record_timeout(ip(own6.c_str()), std::nullopt, false);
        // Four pairs each: 200 records of tcpto-pairs' 256 taken at once.
        for (int j = 1; j <= 4; ++j) {
          std::string local = "10.9.9." + std::to_string(j);
          hosts.record_timeout(ip(own.c_str()), ip(local.c_str()), true);
        }
        // Everyone also hits one shared address, and some answer it.
        hosts.record_timeout(ip("192.0.2.1"), std::nullopt, false);
        if (c % 7 == 0) hosts.record_success(ip("192.0.2.1"), std::nullopt);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // go
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  const uint64_t end = kNow + 400;
  Bytes q = dir.read(Format::qmail);
  REQUIRE(q.size() == 1024u);
  // Every record well formed; no address twice; every child's own address
  // there with count 3 (no update lost), and the shared one.
  std::set<std::string> seen;
  for (size_t i = 0; i < 64; ++i) {
    const uint8_t* p = q.data() + i * 16;
    if (std::all_of(p, p + 16, [](uint8_t b) { return b == 0; })) continue;
    auto r = tcpto::decode(Format::qmail, p, end);
    REQUIRE(r);
    CHECK(seen.insert(r->remote.str()).second);
  }
  CHECK(seen.size() == kChildren + 1u);
  for (int c = 0; c < kChildren; ++c) {
    std::string own = "10.0.1." + std::to_string(c + 1);
    auto i = tcpto::find(Format::qmail, q, ip(own.c_str()), std::nullopt, end);
    REQUIRE(i);
    CHECK(q[*i * 16 + 4] == 3);
  }
  CHECK(tcpto::find(Format::qmail, q, ip("192.0.2.1"), std::nullopt, end));

  Bytes p = dir.read(Format::pairs);
  REQUIRE(p.size() == tcpto::kPairFileSize);
  std::set<std::string> keys;
  size_t used = 0;
  for (size_t i = 0; i < tcpto::kPairRecords; ++i) {
    const uint8_t* rec = p.data() + i * 48;
    if (std::all_of(rec, rec + 48, [](uint8_t b) { return b == 0; })) continue;
    auto r = tcpto::decode(Format::pairs, rec, end);
    REQUIRE(r);
    CHECK(r->count == 3);
    CHECK(keys.insert(r->remote.str() + "/" + (r->local ? r->local->str() : "any")).second);
    ++used;
  }
  CHECK(used == 5u * kChildren);
}

// --- qmail-routes tcpto and tcpok ----------------------------------------

TEST_CASE("tcpto: human_age", "[tcpto][admin]") {
  CHECK(qr::human_age(0) == "0 s");
  CHECK(qr::human_age(59) == "59 s");
  CHECK(qr::human_age(303) == "5 min 3 s");
  CHECK(qr::human_age(7800) == "2 h 10 min");
  CHECK(qr::human_age(273600) == "3 d 4 h");
}

TEST_CASE("tcpto: qmail-routes tcpto lists both files", "[tcpto][admin]") {
  LockDir dir;
  Bytes q(1024);
  qmail_record(q, 0, 192, 0, 2, 1, 3, uint32_t(kNow - 303));    // skipped
  qmail_record(q, 1, 192, 0, 2, 2, 1, uint32_t(kNow - 10));     // tried last
  qmail_record(q, 2, 192, 0, 2, 3, 2, uint32_t(kNow - 4000));   // some processes
  qmail_record(q, 3, 192, 0, 2, 4, 2, uint32_t(kNow - 7000));   // window passed
  qmail_record(q, 4, 192, 0, 2, 5, 0, uint32_t(kNow - 7000));   // reset: not listed
  qmail_record(q, 5, 192, 0, 2, 6, 12, uint32_t(kNow - 7000));  // spoilt
  dir.write(Format::qmail, q);
  Bytes p(tcpto::kPairFileSize);
  tcpto::encode(Format::pairs, {ip("2001:db8::25"), std::nullopt, 2, uint32_t(kNow - 59)},
                p.data());
  tcpto::encode(Format::pairs, {ip("192.0.2.9"), ip("10.0.0.7"), 1, uint32_t(kNow - 7800)},
                p.data() + 48);
  dir.write(Format::pairs, p);
  qr::Output o = qr::tcpto_list(dir.path(), kNow);
  CHECK(o.code == 0);
  CHECK(o.err == "");
  CHECK(o.out ==
        "remote        local     count  last failure    now\n"
        "192.0.2.1     any       3      5 min 3 s ago   skipped\n"
        "192.0.2.2     any       1      10 s ago        tried last\n"
        "192.0.2.3     any       2      1 h 6 min ago   skipped by some processes\n"
        "192.0.2.4     any       2      1 h 56 min ago  tried\n"
        "2001:db8::25  any       2      59 s ago        skipped\n"
        "192.0.2.9     10.0.0.7  1      2 h 10 min ago  tried\n"
        "queue/lock/tcpto: 1 record ignored (a count over 10, a time in the future or an "
        "unknown format)\n");
}

TEST_CASE("tcpto: qmail-routes tcpto with missing or bad files", "[tcpto][admin]") {
  LockDir dir;
  qr::Output o = qr::tcpto_list(dir.path(), kNow);
  CHECK(o.code == 0);
  CHECK(o.out ==
        "no dead hosts remembered\n"
        "queue/lock/tcpto: missing: nothing is remembered (qmail's installer makes it)\n"
        "queue/lock/tcpto-pairs: missing: IPv6 and pair failures are not remembered "
        "(qmail-routes tcpok makes it)\n");
  dir.write(Format::qmail, Bytes(1000));
  dir.write(Format::pairs, Bytes(tcpto::kPairFileSize));
  o = qr::tcpto_list(dir.path(), kNow);
  CHECK(o.code == 1);
  CHECK(o.out == "no dead hosts remembered\n");
  CHECK(o.err ==
        "qmail-routes: queue/lock/tcpto: 1000 bytes, not 1024: qmail-remote ignores it "
        "(qmail-routes tcpok rewrites it)\n");
}

TEST_CASE("tcpto: qmail-routes tcpok, all or one address", "[tcpto][admin]") {
  // A qmail root: control/ and queue/lock/ side by side.
  LockDir root;
  std::filesystem::create_directories(root.path() + "/control");
  std::filesystem::create_directories(root.path() + "/queue/lock");
  const std::string control = root.path() + "/control";
  const std::string lock = root.path() + "/queue/lock";
  REQUIRE(tcpto::lock_dir_for(control) == lock);
  uint64_t clock = kNow;
  auto fill = [&] {
    DeadHosts::Config c;
    c.lock_dir = lock;
    c.now = [&clock] { return clock; };
    DeadHosts hosts(c);
    hosts.record_timeout(ip("192.0.2.1"), std::nullopt, false);
    hosts.record_timeout(ip("192.0.2.2"), std::nullopt, false);
    hosts.record_timeout(ip("2001:db8::25"), std::nullopt, false);
    hosts.record_timeout(ip("192.0.2.3"), ip("10.0.0.7"), true);
    hosts.record_timeout(ip("192.0.2.1"), ip("10.0.0.8"), true);
  };
  auto count_in = [&](Format f) {
    std::ifstream in(tcpto::path_of(lock, f), std::ios::binary);
    Bytes img(std::istreambuf_iterator<char>(in), {});
    int n = 0;
    for (size_t i = 0; i < img.size() / tcpto::record_size(f); ++i)
      if (tcpto::decode(f, img.data() + i * tcpto::record_size(f), clock)) ++n;
    return n;
  };
  // qmail's file as its installer leaves it; tcpto-pairs missing.
  std::ofstream(tcpto::path_of(lock, Format::qmail), std::ios::binary) << std::string(1024, '\0');

  qr::Output o = qr::run_command({"tcpok"}, control);
  CHECK(o.code == 0);
  CHECK(o.out == "queue/lock/tcpto: cleared\nqueue/lock/tcpto-pairs: cleared\n");
  struct stat st;
  REQUIRE(::stat(tcpto::path_of(lock, Format::pairs).c_str(), &st) == 0);
  CHECK(st.st_size == off_t(tcpto::kPairFileSize));
  CHECK((st.st_mode & 07777) == 0644);

  fill();
  CHECK(count_in(Format::qmail) == 2);
  CHECK(count_in(Format::pairs) == 3);
  o = qr::run_command({"tcpok", "192.0.2.1"}, control);
  CHECK(o.code == 0);
  CHECK(o.out == "cleared 2 records of 192.0.2.1\n");  // its own, and its pair
  CHECK(count_in(Format::qmail) == 1);
  CHECK(count_in(Format::pairs) == 2);
  o = qr::run_command({"tcpok", "[2001:db8::25]"}, control);
  CHECK(o.out == "cleared 1 record of 2001:db8::25\n");
  o = qr::run_command({"tcpok", "10.0.0.7"}, control);  // our local IP
  CHECK(o.out == "cleared 1 record of 10.0.0.7\n");
  o = qr::run_command({"tcpok", "10.0.0.7"}, control);
  CHECK(o.out == "nothing remembered of 10.0.0.7\n");
  o = qr::run_command({"tcpok", "mx.example"}, control);
  CHECK(o.code == 2);
  CHECK(o.err ==
        "qmail-routes: 'mx.example' is not an IP address (see qmail-routes tcpok --help)\n");

  fill();
  // A wrong-sized qmail file is rewritten at the right size, as zeros.
  ::truncate(tcpto::path_of(lock, Format::qmail).c_str(), 2000);
  o = qr::run_command({"tcpok"}, control);
  CHECK(o.code == 0);
  REQUIRE(::stat(tcpto::path_of(lock, Format::qmail).c_str(), &st) == 0);
  CHECK(st.st_size == 1024);
  CHECK(count_in(Format::qmail) == 0);
  CHECK(count_in(Format::pairs) == 0);

  o = qr::run_command({"tcpto"}, control);
  CHECK(o.code == 0);
  CHECK(o.out == "no dead hosts remembered\n");
  CHECK(qr::run_command({"tcpto", "x"}, control).code == 2);
  CHECK(qr::run_command({"tcpok", "--help"}, control).out.find("usage: qmail-routes tcpok") == 0);
}
