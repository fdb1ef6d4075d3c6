#include "lib/net/connect.h"

#include <ifaddrs.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "lib/net/stream.h"

namespace qr {

namespace {

std::string connect_error_text(int err) {
  if (err == ECONNREFUSED) return "connection refused";
  return std::strerror(err);
}

ConnectFailure fail(std::string text, bool timed_out = false) {
  return ConnectFailure{std::move(text), false, timed_out};
}

}  // namespace

Connected connect_tcp(const IpAddr& remote, uint16_t port, const std::optional<IpAddr>& local,
                      unsigned timeout_s) {
  Fd fd(::socket(remote.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return fail(std::string("cannot create socket: ") + std::strerror(errno));
  }
  if (local) {
    // Port 0: the kernel picks the source port; only the address is chosen
    // (SPEC §4: a local IP that cannot be bound moves the walk on).
    sockaddr_storage sa;
    socklen_t len = local->to_sockaddr(0, &sa);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) != 0) {
      return ConnectFailure{"cannot bind " + local->str() + ": " + std::strerror(errno), true,
                            false};
    }
  }
  sockaddr_storage sa;
  socklen_t len = remote.to_sockaddr(port, &sa);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0) return fd;
  // EINTR: the connect goes on in the background, exactly as EINPROGRESS.
  if (errno != EINPROGRESS && errno != EINTR) {
    return fail(connect_error_text(errno), errno == ETIMEDOUT);
  }
  // wait_fd fails only when the time is up (or poll itself fails).
  if (auto w = wait_fd(fd.get(), POLLOUT, timeout_s); !w) return fail(w.error(), true);
  int err = 0;
  socklen_t errlen = sizeof err;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) err = errno;
  // ETIMEDOUT: the kernel gave up first (qmail's error_timeout is ETIMEDOUT).
  if (err != 0) return fail(connect_error_text(err), err == ETIMEDOUT);
  return fd;
}

bool is_local_address(const IpAddr& addr) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owner(list, &::freeifaddrs);
  // Only addresses configured on an interface count, as vanilla's ipme: on
  // Linux all of 127/8 routes to lo, but 127.0.0.2 is not local (SPEC §5).
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    int fam = i->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    if (IpAddr::from_sockaddr(i->ifa_addr) == addr) return true;
  }
  return false;
}

}  // namespace qr
