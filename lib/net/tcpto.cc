#include "lib/net/tcpto.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <thread>

#include "lib/net/fd.h"

namespace qr {
namespace tcpto {

namespace {

// The address bytes of an IpAddr: 4 for IPv4, 16 for IPv6.
struct RawAddr {
  int family = AF_INET;
  uint8_t bytes[16] = {};
  size_t size() const { return family == AF_INET6 ? 16 : 4; }
};

RawAddr raw(const IpAddr& a) {
  RawAddr r;
  r.family = a.family();
  sockaddr_storage ss;
  a.to_sockaddr(0, &ss);
  if (r.family == AF_INET6)
    std::memcpy(r.bytes, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
  else
    std::memcpy(r.bytes, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
  return r;
}

IpAddr from_raw(int family, const uint8_t* bytes) {
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    s->sin6_family = AF_INET6;
    std::memcpy(&s->sin6_addr, bytes, 16);
  } else {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    std::memcpy(&s->sin_addr, bytes, 4);
  }
  return IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// qmail's time: four bytes, least significant first (tcpto.c).
uint32_t get_time(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void put_time(uint8_t* p, uint32_t t) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(t >> (8 * i));
}

// tcpto-pairs, one record (doc/TCPTO.md).
constexpr size_t kPVersion = 0, kPFamily = 1, kPCount = 2, kPTime = 4, kPRemote = 8, kPLocal = 24;
constexpr uint8_t kFamily4 = 4, kFamily6 = 6;

// Does the record at `p` belong to (remote, local), whatever its count and
// time? As tcpto.c matches by the address bytes alone, so that a record
// spoilt by a clock that went back is reused, not duplicated.
bool same_key(Format f, const uint8_t* p, const IpAddr& remote,
              const std::optional<IpAddr>& local) {
  RawAddr r = raw(remote);
  if (f == Format::qmail) return r.family == AF_INET && std::memcmp(p, r.bytes, 4) == 0;
  if (p[kPVersion] != kPairVersion) return false;
  if (p[kPFamily] != (r.family == AF_INET6 ? kFamily6 : kFamily4)) return false;
  uint8_t want[16] = {};
  std::memcpy(want, r.bytes, r.size());
  if (std::memcmp(p + kPRemote, want, 16) != 0) return false;
  uint8_t lwant[16] = {};
  if (local) {
    RawAddr l = raw(*local);
    std::memcpy(lwant, l.bytes, l.size());
  }
  return std::memcmp(p + kPLocal, lwant, 16) == 0;
}

unsigned count_at(Format f, const uint8_t* p) {
  return f == Format::qmail ? p[4] : p[kPCount];
}
uint32_t time_at(Format f, const uint8_t* p) {
  return get_time(f == Format::qmail ? p + 8 : p + kPTime);
}

}  // namespace

std::string skipped_text(const Verdict& v) {
  return "skipped: no connection within timeoutconnect, " + std::to_string(v.age) + " s ago";
}

Verdict judge(unsigned count, uint32_t when, uint64_t now, pid_t pid) {
  if (count == 0 || count > kMaxCount || when > now) return {};
  uint64_t age = now - when;
  if (age >= window(pid)) return {};
  return {count >= 2 ? Kind::skipped : Kind::demoted, age};
}

std::optional<Record> decode(Format f, const uint8_t* p, uint64_t now) {
  Record r;
  r.count = count_at(f, p);
  r.when = time_at(f, p);
  if (r.count > kMaxCount || r.when > now) return std::nullopt;
  if (f == Format::qmail) {
    if (all_zero(p, 4)) return std::nullopt;  // never used (qmail-tcpok's zeros)
    r.remote = from_raw(AF_INET, p);
    return r;
  }
  if (p[kPVersion] != kPairVersion) return std::nullopt;
  int family;
  if (p[kPFamily] == kFamily4)
    family = AF_INET;
  else if (p[kPFamily] == kFamily6)
    family = AF_INET6;
  else
    return std::nullopt;
  size_t n = family == AF_INET6 ? 16 : 4;
  if (all_zero(p + kPRemote, n)) return std::nullopt;
  r.remote = from_raw(family, p + kPRemote);
  if (!all_zero(p + kPLocal, n)) r.local = from_raw(family, p + kPLocal);
  return r;
}

void encode(Format f, const Record& r, uint8_t* p) {
  RawAddr a = raw(r.remote);
  if (f == Format::qmail) {
    std::memcpy(p, a.bytes, 4);
    p[4] = uint8_t(r.count);
    put_time(p + 8, r.when);
    return;
  }
  std::memset(p, 0, kPairRecordSize);
  p[kPVersion] = kPairVersion;
  p[kPFamily] = a.family == AF_INET6 ? kFamily6 : kFamily4;
  p[kPCount] = uint8_t(r.count);
  put_time(p + kPTime, r.when);
  std::memcpy(p + kPRemote, a.bytes, a.size());
  if (r.local) {
    RawAddr l = raw(*r.local);
    std::memcpy(p + kPLocal, l.bytes, l.size());
  }
}

std::optional<size_t> find(Format f, const std::vector<uint8_t>& image, const IpAddr& remote,
                           const std::optional<IpAddr>& local, uint64_t now) {
  if (f == Format::qmail && (remote.is_v6() || local)) return std::nullopt;
  const size_t rs = record_size(f), n = image.size() / rs;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = image.data() + i * rs;
    if (same_key(f, p, remote, local)) {
      if (decode(f, p, now)) return i;
      return std::nullopt;  // the first match decides, as in tcpto.c
    }
  }
  return std::nullopt;
}

namespace {

std::optional<size_t> first_match(Format f, const std::vector<uint8_t>& image, const IpAddr& remote,
                                  const std::optional<IpAddr>& local) {
  const size_t rs = record_size(f), n = image.size() / rs;
  for (size_t i = 0; i < n; ++i)
    if (same_key(f, image.data() + i * rs, remote, local)) return i;
  return std::nullopt;
}

}  // namespace

std::optional<size_t> apply_timeout(Format f, std::vector<uint8_t>& image, const IpAddr& remote,
                                    const std::optional<IpAddr>& local, uint64_t now) {
  if (f == Format::qmail && (remote.is_v6() || local)) return std::nullopt;
  const size_t rs = record_size(f), n = image.size() / rs;
  const uint32_t now32 = uint32_t(now);
  if (auto i = first_match(f, image, remote, local)) {
    uint8_t* p = image.data() + *i * rs;
    auto r = decode(f, p, now);
    if (!r) {
      // Spoilt (count over 10, a time after now): start it afresh.
      r = Record{remote, local, 0, now32};
    } else if (r->count > 0 && now < uint64_t(r->when) + kRecountAfter) {
      return std::nullopt;  // counted less than 120 s ago
    }
    r->count = std::min(r->count + 1, kMaxCount);
    r->when = now32;
    r->local = local;
    encode(f, *r, p);
    return i;
  }
  // A new address: the first free record (count 0, or not well formed),
  // else the one whose time + count * 1024 is the oldest. A record whose
  // time is ahead of ours is not free: the clock may have gone back, but it
  // may as well be another process's record, written a moment ago.
  std::optional<size_t> pick;
  for (size_t i = 0; i < n && !pick; ++i) {
    auto r = decode(f, image.data() + i * rs, UINT64_MAX);
    if (!r || r->count == 0) pick = i;
  }
  if (!pick) {
    uint64_t oldest = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = image.data() + i * rs;
      uint64_t key = uint64_t(time_at(f, p)) + uint64_t(count_at(f, p)) * kCountWeight;
      if (!pick || key < oldest) {
        pick = i;
        oldest = key;
      }
    }
  }
  if (!pick) return std::nullopt;  // an empty image
  uint8_t* p = image.data() + *pick * rs;
  if (f == Format::qmail) std::memset(p, 0, rs);
  encode(f, Record{remote, local, 1, now32}, p);
  return pick;
}

std::optional<size_t> apply_answered(Format f, std::vector<uint8_t>& image, const IpAddr& remote,
                                     const std::optional<IpAddr>& local, uint64_t) {
  if (f == Format::qmail && (remote.is_v6() || local)) return std::nullopt;
  auto i = first_match(f, image, remote, local);
  if (!i) return std::nullopt;
  uint8_t* p = image.data() + *i * record_size(f);
  uint8_t& count = f == Format::qmail ? p[4] : p[kPCount];
  if (count == 0) return std::nullopt;
  count = 0;
  return i;
}

std::vector<size_t> apply_clear(Format f, std::vector<uint8_t>& image,
                                const std::optional<IpAddr>& ip) {
  std::vector<size_t> changed;
  const size_t rs = record_size(f), n = image.size() / rs;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = image.data() + i * rs;
    if (all_zero(p, rs)) continue;
    bool hit = !ip;
    if (ip) {
      RawAddr a = raw(*ip);
      if (f == Format::qmail) {
        hit = a.family == AF_INET && std::memcmp(p, a.bytes, 4) == 0;
      } else if (p[kPFamily] == (a.family == AF_INET6 ? kFamily6 : kFamily4)) {
        hit = std::memcmp(p + kPRemote, a.bytes, a.size()) == 0 ||
              std::memcmp(p + kPLocal, a.bytes, a.size()) == 0;
      }
    }
    if (!hit) continue;
    std::memset(p, 0, rs);
    changed.push_back(i);
  }
  return changed;
}

std::string lock_dir_for(const std::string& control_dir) {
  std::string d = control_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  size_t slash = d.rfind('/');
  std::string root = slash == std::string::npos ? "." : d.substr(0, slash);
  return root + "/queue/lock";
}

std::string path_of(const std::string& lock_dir, Format f) {
  return lock_dir + (f == Format::qmail ? "/tcpto" : "/tcpto-pairs");
}

namespace {

void say(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

// flock with a bounded wait: LOCK_NB retried every 5 ms.
bool lock(int fd, int op, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (::flock(fd, op | LOCK_NB) == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      errno = EWOULDBLOCK;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Opened for writing and locked: qmail's open_write + lock_ex. The lock is
// released when the Fd closes.
std::optional<Fd> open_locked(const std::string& path, int op, std::chrono::milliseconds wait,
                              std::string* why, off_t* size) {
  Fd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    say(why, std::strerror(errno));
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    say(why, "not a regular file");
    return std::nullopt;
  }
  if (!lock(fd.get(), op, wait)) {
    say(why, errno == EWOULDBLOCK ? "locked by another process for too long"
                                  : std::string("cannot lock: ") + std::strerror(errno));
    return std::nullopt;
  }
  // The size under the lock: qmail-tcpok writes the whole file while it holds it.
  if (::fstat(fd.get(), &st) != 0) {
    say(why, std::strerror(errno));
    return std::nullopt;
  }
  *size = st.st_size;
  return fd;
}

bool read_all(int fd, std::vector<uint8_t>& image, std::string* why) {
  size_t got = 0;
  while (got < image.size()) {
    ssize_t r = ::pread(fd, image.data() + got, image.size() - got, off_t(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      say(why, r < 0 ? std::strerror(errno) : "shorter than its size");
      return false;
    }
    got += size_t(r);
  }
  return true;
}

std::string wrong_size(Format f, off_t size) {
  return std::to_string(size) + " bytes, not " + std::to_string(file_size(f));
}

}  // namespace

std::optional<std::vector<uint8_t>> load(const std::string& path, Format f,
                                         std::chrono::milliseconds wait, std::string* why) {
  off_t size = 0;
  // A shared lock: writers (ours, qmail's) take it exclusively.
  auto fd = open_locked(path, LOCK_SH, wait, why, &size);
  if (!fd) return std::nullopt;
  if (size != off_t(file_size(f))) {
    say(why, size == 0 ? "empty" : wrong_size(f, size));
    return std::nullopt;
  }
  std::vector<uint8_t> image(file_size(f));
  if (!read_all(fd->get(), image, why)) return std::nullopt;
  return image;
}

bool update(const std::string& path, Format f,
            const std::function<std::vector<size_t>(std::vector<uint8_t>&)>& change,
            std::chrono::milliseconds wait, std::string* why) {
  off_t size = 0;
  auto fd = open_locked(path, LOCK_EX, wait, why, &size);
  if (!fd) return false;
  std::vector<uint8_t> image(file_size(f));
  if (size == 0 && f == Format::pairs) {
    // A new, empty tcpto-pairs (INSTALL.md: made by `qmail-routes tcpok`
    // or by hand): all records free.
    if (::ftruncate(fd->get(), off_t(file_size(f))) != 0) {
      say(why, std::string("cannot extend: ") + std::strerror(errno));
      return false;
    }
  } else if (size != off_t(file_size(f))) {
    say(why, wrong_size(f, size));
    return false;  // not ours to repair: qmail-tcpok or tcpok rewrites it
  } else if (!read_all(fd->get(), image, why)) {
    return false;
  }
  std::vector<size_t> changed = change(image);
  if (changed.empty()) return true;
  // One record: one pwrite of that record, so the file is never torn. A
  // clear of several: the whole image at once.
  const size_t rs = record_size(f);
  size_t off = 0, len = image.size();
  if (changed.size() == 1) {
    off = changed[0] * rs;
    len = rs;
  }
  ssize_t w = ::pwrite(fd->get(), image.data() + off, len, off_t(off));
  if (w != ssize_t(len)) {
    say(why, w < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  return true;
}

bool reset(const std::string& path, Format f, bool create, const std::string& like,
           std::chrono::milliseconds wait, std::string* why) {
  if (create) {
    Fd made(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0644));
    if (made.valid()) {
      struct stat st;
      ::fchmod(made.get(), 0644);  // whatever the umask
      if (!like.empty() && ::stat(like.c_str(), &st) == 0 &&
          ::fchown(made.get(), st.st_uid, st.st_gid) != 0) {
        say(why, std::string("cannot give it the owner of ") + like + ": " + std::strerror(errno));
        return false;
      }
    } else if (errno != EEXIST) {
      say(why, std::string("cannot create: ") + std::strerror(errno));
      return false;
    }
  }
  off_t size = 0;
  auto fd = open_locked(path, LOCK_EX, wait, why, &size);
  if (!fd) return false;
  std::vector<uint8_t> zeros(file_size(f));
  ssize_t w = ::pwrite(fd->get(), zeros.data(), zeros.size(), 0);
  if (w != ssize_t(zeros.size()) || ::ftruncate(fd->get(), off_t(zeros.size())) != 0) {
    say(why, w < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  return true;
}

}  // namespace tcpto

// --- DeadHosts -----------------------------------------------------------

DeadHosts::DeadHosts(std::string lock_dir)
    : DeadHosts([&] {
        Config c;
        c.lock_dir = std::move(lock_dir);
        return c;
      }()) {}

DeadHosts::DeadHosts(Config config) : config_(std::move(config)) {
  if (config_.pid == 0) config_.pid = ::getpid();
}

DeadHosts::~DeadHosts() {
  try {
    finish();
  } catch (...) {
    // Out of memory in a destructor: the memory of dead hosts is a help,
    // never a reason to fail the delivery.
  }
}

uint64_t DeadHosts::now() const {
  return config_.now ? config_.now() : uint64_t(std::time(nullptr));
}

const std::vector<uint8_t>* DeadHosts::snapshot(tcpto::Format f) {
  Snapshot& s = f == tcpto::Format::qmail ? qmail_ : pairs_;
  if (!s.loaded) {
    s.image = tcpto::load(tcpto::path_of(config_.lock_dir, f), f, config_.lock_wait);
    s.loaded = true;
  }
  return s.image ? &*s.image : nullptr;
}

tcpto::Verdict DeadHosts::check(const IpAddr& remote, const std::optional<IpAddr>& local) {
  using tcpto::Format;
  const uint64_t t = now();
  tcpto::Verdict worst;
  auto consider = [&](Format f, const std::optional<IpAddr>& l) {
    const std::vector<uint8_t>* image = snapshot(f);
    if (!image) return;
    auto i = tcpto::find(f, *image, remote, l, t);
    if (!i) return;
    auto r = tcpto::decode(f, image->data() + *i * tcpto::record_size(f), t);
    if (!r) return;
    tcpto::Verdict v = tcpto::judge(r->count, r->when, t, config_.pid);
    if (int(v.kind) > int(worst.kind)) worst = v;
  };
  consider(remote.is_v6() ? Format::pairs : Format::qmail, std::nullopt);
  if (local) consider(Format::pairs, local);
  return worst;
}

bool DeadHosts::was_there(tcpto::Format f, const IpAddr& remote,
                          const std::optional<IpAddr>& local) {
  const std::vector<uint8_t>* image = snapshot(f);
  if (!image) return false;
  auto i = tcpto::find(f, *image, remote, local, now());
  return i && tcpto::decode(f, image->data() + *i * tcpto::record_size(f), now())->count > 0;
}

void DeadHosts::record_timeout(const IpAddr& remote, const std::optional<IpAddr>& local,
                               bool answered_elsewhere) {
  using tcpto::Format;
  std::optional<IpAddr> key;  // any local IP
  Format f = remote.is_v6() ? Format::pairs : Format::qmail;
  if (answered_elsewhere && local) {
    key = local;
    f = Format::pairs;
  }
  // The time is read under the lock: no other writer's record is newer.
  tcpto::update(
      tcpto::path_of(config_.lock_dir, f), f,
      [&](std::vector<uint8_t>& image) {
        std::vector<size_t> changed;
        if (auto i = tcpto::apply_timeout(f, image, remote, key, now())) changed.push_back(*i);
        return changed;
      },
      config_.lock_wait);
}

void DeadHosts::record_success(const IpAddr& remote, const std::optional<IpAddr>& local) {
  using tcpto::Format;
  auto reset = [&](Format f, const std::optional<IpAddr>& key) {
    // As tcpto.c: only what was there at the first look is reset ("could
    // have been added, but not worth the effort to check"), so a delivery
    // to a healthy host takes no lock for writing.
    if (!was_there(f, remote, key)) return;
    tcpto::update(
        tcpto::path_of(config_.lock_dir, f), f,
        [&](std::vector<uint8_t>& image) {
          std::vector<size_t> changed;
          if (auto i = tcpto::apply_answered(f, image, remote, key, now())) changed.push_back(*i);
          return changed;
        },
        config_.lock_wait);
  };
  reset(remote.is_v6() ? Format::pairs : Format::qmail, std::nullopt);
  if (local) reset(Format::pairs, local);
}

void DeadHosts::switch_to(const IpAddr& remote) {
  if (pending_ && pending_->remote == remote) return;
  finish();
  pending_ = Pending{remote, {}, false};
}

void DeadHosts::timed_out(const IpAddr& remote, const std::optional<IpAddr>& local) {
  switch_to(remote);
  if (pending_->answered)
    record_timeout(remote, local, true);
  else
    pending_->timed_out.push_back(local);
}

void DeadHosts::answered(const IpAddr& remote, const std::optional<IpAddr>& local) {
  switch_to(remote);
  pending_->answered = true;
  // The remote answers: the local IPs that timed out before are to blame.
  for (const auto& l : pending_->timed_out) record_timeout(remote, l, true);
  pending_->timed_out.clear();
  record_success(remote, local);
}

void DeadHosts::finish() {
  if (!pending_) return;
  Pending p = std::move(*pending_);
  pending_.reset();
  // Every local IP tried timed out: the remote's record, once.
  if (!p.answered && !p.timed_out.empty()) record_timeout(p.remote, p.timed_out.front(), false);
}

}  // namespace qr
