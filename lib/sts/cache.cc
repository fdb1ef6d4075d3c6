#include "lib/sts/cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lib/text.h"
#include "lib/net/fd.h"

namespace qr::sts {

namespace {

constexpr std::string_view kMagic = "qmail-remote sts cache 1\n";
// Header plus the largest policy.
constexpr size_t kMaxFileBytes = kMaxPolicyBytes + 1024;

// A domain is a file name here: no '/', no leading '.', nothing but host
// characters, so no name can reach outside the directory or a temp file.
bool usable_name(std::string_view domain) {
  return !domain.empty() && domain.size() <= 253 && domain.front() != '.' && is_host_name(domain);
}

// "key: value\n" at the start of *rest; the value, or nullopt.
std::optional<std::string_view> header(std::string_view* rest, std::string_view key) {
  size_t lf = rest->find('\n');
  if (lf == std::string_view::npos) return std::nullopt;
  std::string_view line = rest->substr(0, lf);
  if (line.substr(0, key.size()) != key || line.substr(key.size(), 2) != ": ") return std::nullopt;
  rest->remove_prefix(lf + 1);
  return line.substr(key.size() + 2);
}

}  // namespace

std::string cache_dir_for(const std::string& control_dir) {
  std::string d = control_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  size_t slash = d.rfind('/');
  return (slash == std::string::npos ? "." : d.substr(0, slash)) + "/queue/sts";
}

std::string cache_text(const Cached& c) {
  return std::string(kMagic) + "id: " + c.id + "\nfetched: " + std::to_string(c.fetched) + "\n\n" +
         c.text;
}

Result<Cached> parse_cache_text(std::string_view text) {
  if (text.substr(0, kMagic.size()) != kMagic) return Error{"not a cache file (first line)"};
  std::string_view rest = text.substr(kMagic.size());
  auto id = header(&rest, "id");
  auto fetched = header(&rest, "fetched");
  if (!id || !fetched || rest.substr(0, 1) != "\n") return Error{"bad header"};
  rest.remove_prefix(1);
  Cached c;
  c.id = std::string(*id);
  if (fetched->empty() || fetched->size() > 12) return Error{"bad fetched: time"};
  for (char ch : *fetched) {
    if (ch < '0' || ch > '9') return Error{"bad fetched: time"};
    c.fetched = c.fetched * 10 + (ch - '0');
  }
  auto p = parse_policy(rest);
  if (!p) return Error{p.error()};
  c.policy = std::move(*p);
  c.text = std::string(rest);
  return c;
}

std::optional<Cached> read_cached(const std::string& dir, std::string_view domain,
                                  std::string* why) {
  if (!usable_name(domain)) {
    *why = "not a usable file name: " + quoted(domain);
    return std::nullopt;
  }
  const std::string path = dir + "/" + std::string(domain);
  // O_NONBLOCK: a FIFO planted here is never waited on.
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    *why = errno == ENOENT ? "not cached" : path + ": cannot read: " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || size_t(st.st_size) > kMaxFileBytes) {
    *why = path + ": not a regular file of at most 65 KiB";
    return std::nullopt;
  }
  std::string text(size_t(st.st_size), '\0');
  size_t got = 0;
  while (got < text.size()) {
    ssize_t r = ::read(fd.get(), text.data() + got, text.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  text.resize(got);
  auto c = parse_cache_text(text);
  if (!c) {
    *why = path + ": corrupt: " + c.error();
    return std::nullopt;
  }
  return std::move(*c);
}

Status write_cached(const std::string& dir, std::string_view domain, const Cached& c) {
  if (!usable_name(domain)) return Error{"not a usable file name: " + quoted(domain)};
  const std::string path = dir + "/" + std::string(domain);
  const std::string tmp = dir + "/." + std::string(domain) + "." + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return Error{tmp + ": cannot create: " + std::strerror(errno)};
  const std::string text = cache_text(c);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t w = ::write(fd.get(), text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += size_t(w);
  }
  if (done != text.size() || ::fsync(fd.get()) != 0) {
    std::string err = tmp + ": cannot write: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error{err};
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = path + ": cannot rename into place: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return Error{err};
  }
  return success();
}

}  // namespace qr::sts
