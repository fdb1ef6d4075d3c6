#include "lib/control/control_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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

Error cannot_read(std::string_view name, int err) {
  return Error{"control/" + std::string(name) + ": cannot read: " + std::strerror(err)};
}

}  // namespace

// nullopt when the file does not exist (SPEC §3: the default applies).
Result<std::optional<std::string>> read_control_file(const std::string& dir,
                                                     std::string_view name) {
  std::string path = dir + "/" + std::string(name);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<std::string>();
    return cannot_read(name, errno);
  }
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannot_read(name, errno);
    }
    if (n == 0) break;
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

Result<std::optional<std::vector<ControlLine>>> read_control_lines(const std::string& dir,
                                                                   std::string_view name) {
  auto data = read_control_file(dir, name);
  if (!data) return Error{data.error()};
  if (!*data) return std::optional<std::vector<ControlLine>>();
  std::vector<ControlLine> lines;
  std::string_view rest = **data;
  for (int number = 1; !rest.empty(); ++number) {
    size_t nl = rest.find('\n');
    std::string_view line = strip_trailing(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    lines.push_back(ControlLine{number, std::string(line)});
  }
  return std::optional<std::vector<ControlLine>>(std::move(lines));
}

Result<std::optional<std::string>> read_control_value(const std::string& dir,
                                                      std::string_view name) {
  auto data = read_control_file(dir, name);
  if (!data) return Error{data.error()};
  if (!*data) return std::optional<std::string>();
  std::string_view text = **data;
  // Like qmail's control_readline: the first line, trailing white space gone.
  // An empty file gives "", which callers treat as they see fit.
  return std::optional<std::string>(std::string(strip_trailing(text.substr(0, text.find('\n')))));
}

}  // namespace qr
