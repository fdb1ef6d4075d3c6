#include "lib/control/tls_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "lib/control/control_file.h"
#include "lib/net/fd.h"
#include "lib/text.h"

namespace qr {

namespace {

Error cannot_read(std::string_view name, int err) {
  return control_error(name, 0, std::string("cannot read: ") + std::strerror(err));
}

// The path of control/NAME when it is a readable regular file; "" when it
// does not exist. It is opened (and closed) here, so that a file qmailr
// cannot read is an error now rather than a failed handshake later.
Result<std::string> readable_file(const std::string& dir, std::string_view name) {
  std::string path = dir + "/" + std::string(name);
  Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::string();
    return cannot_read(name, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return cannot_read(name, errno);
  if (!S_ISREG(st.st_mode)) return control_error(name, 0, "not a regular file");
  return path;
}

// The entries of control/NAME/, or none when it does not exist.
Result<std::set<std::string>> directory(const std::string& dir, std::string_view name) {
  std::string path = dir + "/" + std::string(name);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) return std::set<std::string>();
    if (errno == ENOTDIR) return control_error(name, 0, "not a directory");
    return cannot_read(name, errno);
  }
  std::set<std::string> out;
  errno = 0;
  while (const dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(std::move(n));
    errno = 0;
  }
  if (errno != 0) return cannot_read(name, errno);
  return out;
}

bool ends_with_pem(std::string_view n) {
  return n.size() > 4 && iequals(n.substr(n.size() - 4), ".pem");
}

}  // namespace

std::string tls_host_key(std::string_view host) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  return to_lower(host);
}

Result<TlsFiles> load_tls_files(const std::string& dir) {
  TlsFiles f;
  auto ciphers = read_control_value(dir, "tlsclientciphers");
  if (!ciphers) return ciphers.failure();
  if (*ciphers) f.ciphers = **ciphers;

  auto cert = readable_file(dir, "clientcert.pem");
  if (!cert) return cert.failure();
  f.client_cert = *cert;

  auto tlshosts = directory(dir, "tlshosts");
  if (!tlshosts) return tlshosts.failure();
  // In name order, so that of "A.pem" and "a.pem" the same one always wins.
  for (const std::string& n : *tlshosts) {
    if (!ends_with_pem(n)) continue;  // qmail-tls reads only <FQDN>.pem
    f.ca_files.emplace(tls_host_key(std::string_view(n).substr(0, n.size() - 4)),
                       dir + "/tlshosts/" + n);
  }
  auto notlshosts = directory(dir, "notlshosts");
  if (!notlshosts) return notlshosts.failure();
  for (const std::string& n : *notlshosts) f.no_tls.insert(tls_host_key(n));
  return f;
}

}  // namespace qr
