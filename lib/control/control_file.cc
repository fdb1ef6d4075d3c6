#include "lib/control/control_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "lib/net/fd.h"

#ifndef QMAIL_ROOT_DEFAULT
#define QMAIL_ROOT_DEFAULT "/var/qmail"
#endif

namespace qr {

std::string control_dir() {
  // SPEC §2: the environment overrides the root the build chose.
  const char* root = std::getenv("QMAIL_ROOT");
  std::string base = (root && *root) ? root : QMAIL_ROOT_DEFAULT;
  return base + "/control";
}

namespace {

// SPEC §3: no control file is larger. The real ones are a few KiB; the cap
// keeps a runaway file (or a symlink to /dev/zero) from eating memory.
constexpr size_t kMaxControlFile = size_t(4) << 20;

Error cannot_read(std::string_view name, int err) {
  return control_error(name, 0, std::string("cannot read: ") + std::strerror(err));
}

Error not_regular(std::string_view name) {
  return control_error(name, 0, "not a regular file");
}

Error too_large(std::string_view name) {
  return control_error(name, 0, "larger than the 4 MiB limit");
}

}  // namespace

// nullopt when the file does not exist (SPEC §3: the default applies). Only
// ENOENT means that: EACCES, ENOTDIR, ELOOP and the rest are errors, and so
// is a symbolic link whose target is gone (the administrator named a file).
// O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOCTTY: a tty
// must not become our controlling terminal. fstat then refuses anything but
// a regular file before a byte is read.
Result<std::optional<std::string>> read_control_file(const std::string& dir,
                                                     std::string_view name) {
  std::string path = dir + "/" + std::string(name);
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    struct stat link;
    if (err == ENOENT && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
      return control_error(name, 0, "cannot read: dangling symbolic link");
    if (err == ENOENT) return std::optional<std::string>();
    // A socket cannot be opened at all (ENXIO): say what it is.
    if (struct stat st; ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      return not_regular(name);
    return cannot_read(name, err);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return cannot_read(name, errno);
  if (!S_ISREG(st.st_mode)) return not_regular(name);
  if (st.st_size < 0 || uint64_t(st.st_size) > kMaxControlFile) return too_large(name);
  std::string data;
  data.reserve(size_t(st.st_size));
  // The size is checked again while reading: the file may grow meanwhile,
  // and some files (/proc) say 0 whatever they hold.
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannot_read(name, errno);
    }
    if (n == 0) break;
    if (data.size() + size_t(n) > kMaxControlFile) return too_large(name);
    data.append(buf, size_t(n));
  }
  return std::optional<std::string>(std::move(data));
}

namespace {

std::string_view strip_trailing(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
    line.remove_suffix(1);
  return line;
}

}  // namespace

std::optional<ControlLine> control_line(int number, std::string_view raw) {
  std::string_view line = strip_trailing(raw);
  if (line.empty() || line.front() == '#') return std::nullopt;
  return ControlLine{number, std::string(line)};
}

Result<std::optional<std::vector<ControlLine>>> read_control_lines(const std::string& dir,
                                                                   std::string_view name) {
  auto data = read_control_file(dir, name);
  if (!data) return data.failure();
  if (!*data) return std::optional<std::vector<ControlLine>>();
  std::vector<ControlLine> lines;
  std::string_view rest = **data;
  for (int number = 1; !rest.empty(); ++number) {
    size_t nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (auto line = control_line(number, raw)) lines.push_back(std::move(*line));
  }
  return std::optional<std::vector<ControlLine>>(std::move(lines));
}

Result<std::optional<std::string>> read_control_value(const std::string& dir,
                                                      std::string_view name) {
  auto data = read_control_file(dir, name);
  if (!data) return data.failure();
  if (!*data) return std::optional<std::string>();
  std::string_view text = **data;
  // Like qmail's control_readline: the first line, trailing white space gone.
  // An empty file gives "", which callers treat as they see fit.
  return std::optional<std::string>(std::string(strip_trailing(text.substr(0, text.find('\n')))));
}

}  // namespace qr
