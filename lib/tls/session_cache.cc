#include "lib/tls/session_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <vector>

#include "lib/net/fd.h"
#include "lib/net/tcpto.h"

namespace qr {

namespace {

constexpr std::string_view kMagic = "qmail-remote tls session 1\n";
// The header around the DER: magic, key line, expires, der length.
constexpr size_t kMaxFileBytes = kSessionMaxBytes + 1024;
// A temporary file older than this was left by a process that died
// between its write and its rename.
constexpr time_t kStaleTemp = 60;
constexpr std::string_view kTempPrefix = ".tmp.";

void say(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

bool is_entry_name(std::string_view n) {
  return n.size() == 64 && std::all_of(n.begin(), n.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Reads one "NAME VALUE\n" header line at `pos`; advances pos.
bool header_line(std::string_view bytes, size_t& pos, std::string_view name,
                 std::string_view* value) {
  size_t end = bytes.find('\n', pos);
  if (end == std::string_view::npos) return false;
  std::string_view line = bytes.substr(pos, end - pos);
  if (line.size() <= name.size() || line.substr(0, name.size()) != name || line[name.size()] != ' ')
    return false;
  *value = line.substr(name.size() + 1);
  pos = end + 1;
  return true;
}

bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// When OpenSSL itself says the session ends (its time plus its timeout: for
// a TLS 1.3 ticket, the server's ticket_lifetime_hint).
time_t openssl_expiry(const SSL_SESSION* s) {
  return time_t(SSL_SESSION_get_time(s)) + time_t(SSL_SESSION_get_timeout(s));
}

// The whole file, if it is a regular file of ours and not too large.
bool read_entry(const std::string& path, std::string* bytes, std::string* why) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    say(why, errno == ENOENT ? "no entry" : std::string("cannot open: ") + strerror(errno));
    return false;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    say(why, "not a regular file");
    return false;
  }
  if (st.st_uid != ::geteuid()) {
    say(why, "not owned by this user");
    return false;
  }
  if (size_t(st.st_size) > kMaxFileBytes) {
    say(why, "too large");
    return false;
  }
  bytes->resize(size_t(st.st_size));
  size_t got = 0;
  while (got < bytes->size()) {
    ssize_t r = ::read(fd.get(), bytes->data() + got, bytes->size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      say(why, r == 0 ? "shorter than its size" : std::string("read: ") + strerror(errno));
      return false;
    }
    got += size_t(r);
  }
  return true;
}

bool write_all_fd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t r = ::write(fd, bytes.data(), bytes.size());
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    bytes.remove_prefix(size_t(r));
  }
  return true;
}

// Entry files in the directory (not temporaries, not foreign names).
size_t count_entries(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return 0;
  size_t n = 0;
  while (const dirent* e = ::readdir(d.get())) n += is_entry_name(e->d_name) ? 1 : 0;
  return n;
}

}  // namespace

std::string session_cache_dir_for(const std::string& control_dir) {
  // Beside tcpto's queue/lock, the one other queue directory qmail-remote
  // writes (SPEC §12, §15).
  std::string lock = tcpto::lock_dir_for(control_dir);
  return lock.substr(0, lock.rfind('/')) + "/tlscache";
}

std::string session_file_name(const std::string& key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char hex[] = "0123456789abcdef";
  std::string name;
  for (unsigned i = 0; i < len; ++i) {
    name += hex[md[i] >> 4];
    name += hex[md[i] & 15];
  }
  return name;
}

namespace {

// One DER length at `pos` (definite form, at most 4 length bytes); advances
// pos past it. false when malformed or beyond `der`.
bool der_length(std::string_view der, size_t& pos, size_t* len) {
  if (pos >= der.size()) return false;
  const auto first = static_cast<unsigned char>(der[pos++]);
  if (first < 0x80) {
    *len = first;
  } else {
    const size_t bytes = first & 0x7f;
    if (bytes == 0 || bytes > 4 || der.size() - pos < bytes) return false;
    *len = 0;
    for (size_t i = 0; i < bytes; ++i) *len = (*len << 8) | static_cast<unsigned char>(der[pos++]);
  }
  return *len <= der.size() - pos;
}

std::string der_header(unsigned char tag, size_t len) {
  std::string h(1, char(tag));
  if (len < 0x80) return h + char(len);
  std::string bytes;
  for (; len > 0; len >>= 8) bytes.insert(bytes.begin(), char(len & 0xff));
  return h + char(0x80 | bytes.size()) + bytes;
}

}  // namespace

std::string strip_peer_certificate(std::string_view der) {
  constexpr unsigned char kSequence = 0x30, kPeer = 0xa3;  // [3] EXPLICIT, constructed
  size_t pos = 1, len = 0;
  if (der.empty() || static_cast<unsigned char>(der[0]) != kSequence ||
      !der_length(der, pos, &len) || pos + len != der.size())
    return "";
  std::string body;
  while (pos < der.size()) {
    const size_t start = pos++;
    size_t n = 0;
    // Single-byte tags only: SSL_SESSION_ASN1's are all below 31.
    if ((static_cast<unsigned char>(der[start]) & 0x1f) == 0x1f || !der_length(der, pos, &n))
      return "";
    pos += n;
    if (static_cast<unsigned char>(der[start]) != kPeer)
      body.append(der.substr(start, pos - start));
  }
  return der_header(kSequence, body.size()) + body;
}

std::string encode_session_file(const std::string& key, SSL_SESSION* session, time_t expires,
                                bool keep_peer) {
  if (key.find('\n') != std::string::npos) return "";
  int n = i2d_SSL_SESSION(session, nullptr);
  if (n <= 0) return "";
  std::string der(size_t(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_SSL_SESSION(session, &p) != n) return "";
  if (!keep_peer) der = strip_peer_certificate(der);
  if (der.empty() || der.size() > kSessionMaxBytes) return "";
  std::string out(kMagic);
  out += "key " + key + "\n";
  out += "expires " + std::to_string(uint64_t(expires)) + "\n";
  out += "der " + std::to_string(der.size()) + "\n";
  out += der;
  return out;
}

SslSessionPtr decode_session_file(const std::string& bytes, const std::string& key, time_t now,
                                  std::string* why) {
  std::string_view b = bytes;
  if (b.substr(0, kMagic.size()) != kMagic) {
    say(why, "not a session file");
    return nullptr;
  }
  size_t pos = kMagic.size();
  std::string_view k, exp, der_len;
  uint64_t expires = 0, len = 0;
  if (!header_line(b, pos, "key", &k) || !header_line(b, pos, "expires", &exp) ||
      !header_line(b, pos, "der", &der_len) || !parse_u64(exp, &expires) ||
      !parse_u64(der_len, &len)) {
    say(why, "bad header");
    return nullptr;
  }
  if (k != key) {
    say(why, "stored for another key");
    return nullptr;
  }
  if (len == 0 || len > kSessionMaxBytes || b.size() - pos != len) {
    say(why, "truncated or padded");
    return nullptr;
  }
  // A clock set back since the entry was written makes it look young: an
  // expiry beyond what store() could have written is not believed.
  if (time_t(expires) <= now || time_t(expires) > now + kSessionMaxLifetime) {
    say(why, "expired");
    return nullptr;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + pos);
  SslSessionPtr s(d2i_SSL_SESSION(nullptr, &p, long(len)));
  if (!s || p != reinterpret_cast<const unsigned char*>(b.data() + b.size())) {
    say(why, "bad session encoding");
    return nullptr;
  }
  if (openssl_expiry(s.get()) <= now || SSL_SESSION_is_resumable(s.get()) != 1) {
    say(why, "expired");
    return nullptr;
  }
  return s;
}

bool SessionCache::dir_safe(std::string* why) const {
  struct stat st {};
  if (dir_.empty() || ::stat(dir_.c_str(), &st) != 0) {
    say(why, dir_ + ": " + (dir_.empty() ? "no directory" : strerror(errno)));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    say(why, dir_ + ": not a directory");
    return false;
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    say(why, dir_ + ": not owned by this user, or writable by others");
    return false;
  }
  return true;
}

SslSessionPtr SessionCache::load(const std::string& key, time_t now, std::string* why) const {
  if (!dir_safe(why)) return nullptr;
  std::string name = session_file_name(key);
  std::string bytes;
  if (name.empty() || !read_entry(dir_ + "/" + name, &bytes, why)) return nullptr;
  return decode_session_file(bytes, key, now, why);
}

bool SessionCache::store(const std::string& key, SSL_SESSION* session, time_t now, std::string* why,
                         bool keep_peer) const {
  if (SSL_SESSION_is_resumable(session) != 1) {
    say(why, "not resumable");
    return false;
  }
  time_t expires = std::min(openssl_expiry(session), now + kSessionMaxLifetime);
  if (expires <= now) {
    say(why, "expired");
    return false;
  }
  std::string bytes = encode_session_file(key, session, expires, keep_peer);
  std::string name = session_file_name(key);
  if (bytes.empty() || name.empty()) {
    say(why, "cannot encode");
    return false;
  }
  if (!dir_safe(why)) return false;
  const std::string path = dir_ + "/" + name;
  // Unique among live processes: the PID, and a clock tick for the second
  // ticket of one connection.
  const auto tick = std::chrono::steady_clock::now().time_since_epoch().count();
  const std::string temp = dir_ + "/" + std::string(kTempPrefix) + std::to_string(::getpid()) +
                           "." + std::to_string(tick);
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    say(why, temp + ": " + strerror(errno));
    return false;
  }
  if (!write_all_fd(fd.get(), bytes)) {
    say(why, temp + ": write: " + strerror(errno));
    ::unlink(temp.c_str());
    return false;
  }
  fd.reset();
  // No fsync: a session lost in a crash costs one full handshake.
  const bool is_new = ::access(path.c_str(), F_OK) != 0;
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    say(why, path + ": rename: " + strerror(errno));
    ::unlink(temp.c_str());
    return false;
  }
  // Only a new key can take the directory beyond its bound.
  if (is_new && count_entries(dir_) > kSessionMaxEntries) prune(kSessionPruneTo, now);
  return true;
}

void SessionCache::remove(const std::string& key) const {
  std::string name = session_file_name(key);
  if (!name.empty() && !dir_.empty()) ::unlink((dir_ + "/" + name).c_str());
}

bool SessionCache::prune(size_t keep, time_t now) const {
  Fd dfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::flock(dfd.get(), LOCK_EX | LOCK_NB) != 0) return false;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(::dup(dfd.get())), ::closedir);
  if (!d) return false;
  struct Entry {
    time_t mtime;
    std::string name;
  };
  std::vector<Entry> live;
  while (const dirent* e = ::readdir(d.get())) {
    std::string_view n = e->d_name;
    const bool temp = n.substr(0, kTempPrefix.size()) == kTempPrefix;
    if (!temp && !is_entry_name(n)) continue;  // not ours: left alone
    struct stat st {};
    if (::fstatat(dfd.get(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    // An entry is never stored for longer than kSessionMaxLifetime, so its
    // mtime tells that it has expired without reading it.
    const bool dead =
        temp ? st.st_mtime + kStaleTemp <= now : st.st_mtime + kSessionMaxLifetime <= now;
    if (dead)
      ::unlinkat(dfd.get(), e->d_name, 0);
    else if (!temp)
      live.push_back({st.st_mtime, e->d_name});
  }
  if (live.size() > keep) {
    std::sort(live.begin(), live.end(),
              [](const Entry& a, const Entry& b) { return a.mtime < b.mtime; });
    for (size_t i = 0; i < live.size() - keep; ++i) ::unlinkat(dfd.get(), live[i].name.c_str(), 0);
  }
  return true;
}

}  // namespace qr
