// Sockets on loopback only: connect_tcp, is_local_address, Connection.
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "lib/net/connect.h"
#include "lib/net/connection.h"

using qr::IpAddr;

namespace {

IpAddr ip(const char* text) {
  auto a = IpAddr::parse(text);
  REQUIRE(a);
  return *a;
}

// A TCP socket bound to 127.0.0.1 on a kernel-chosen port; listening or not.
struct Loopback {
  qr::Fd fd;
  uint16_t port = 0;
  explicit Loopback(bool listening) {
    fd = qr::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_storage sa;
    socklen_t len = ip("127.0.0.1").to_sockaddr(0, &sa);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0);
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
    if (listening) REQUIRE(::listen(fd.get(), 4) == 0);
  }
};

}  // namespace

TEST_CASE("connect_tcp to a listening loopback socket", "[net]") {
  Loopback server(true);
  auto fd = qr::connect_tcp(ip("127.0.0.1"), server.port, ip("127.0.0.1"), 5);
  INFO((fd ? "" : fd.failure().text));
  REQUIRE(fd);
  // Left non-blocking: all later I/O goes through poll (SPEC §7 timeouts).
  CHECK((::fcntl(fd->get(), F_GETFL) & O_NONBLOCK) != 0);
  sockaddr_storage peer;
  socklen_t len = sizeof peer;
  qr::Fd accepted(::accept(server.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len));
  REQUIRE(accepted.valid());
  CHECK(IpAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer)) == ip("127.0.0.1"));
}

TEST_CASE("connect_tcp to a closed port is refused", "[net]") {
  Loopback closed(false);  // bound, never listening: the port refuses
  auto fd = qr::connect_tcp(ip("127.0.0.1"), closed.port, std::nullopt, 5);
  REQUIRE_FALSE(fd);
  const qr::ConnectFailure& why = fd.failure();
  CHECK_FALSE(why.bind_failed);
  CHECK(why.text == "connection refused");
  CHECK_FALSE(why.timed_out);  // answers at once: resets qmail's tcpto (SPEC §12)
}

TEST_CASE("connect_tcp to a server that never answers times out", "[net][tcpto]") {
  // A listener whose accept queue is full drops further SYNs: the connect
  // hears nothing, as from a blackholed host.
  Loopback server(false);
  REQUIRE(::listen(server.fd.get(), 0) == 0);
  std::vector<qr::Fd> fillers;
  std::optional<qr::ConnectFailure> failed;
  for (int i = 0; i < 8 && !failed; ++i) {
    auto fd = qr::connect_tcp(ip("127.0.0.1"), server.port, std::nullopt, 1);
    if (fd)
      fillers.push_back(std::move(*fd));
    else
      failed = fd.failure();
  }
  REQUIRE(failed);
  const qr::ConnectFailure& why = *failed;
  CHECK(why.timed_out);
  CHECK_FALSE(why.bind_failed);
  CHECK(why.text == "timed out after 1 s");
}

TEST_CASE("connect_tcp from an address not on this host cannot bind", "[net]") {
  Loopback server(true);
  REQUIRE_FALSE(qr::is_local_address(ip("192.0.2.1")));  // TEST-NET-1, RFC 5737
  auto fd = qr::connect_tcp(ip("127.0.0.1"), server.port, ip("192.0.2.1"), 5);
  REQUIRE_FALSE(fd);
  const qr::ConnectFailure& why = fd.failure();
  CHECK(why.bind_failed);
  CHECK(why.text == std::string("cannot bind 192.0.2.1: ") + std::strerror(EADDRNOTAVAIL));
}

TEST_CASE("is_local_address looks at interfaces, not routes", "[net]") {
  CHECK(qr::is_local_address(ip("127.0.0.1")));
  // SPEC §5: 127.0.0.2 is routed to lo on Linux but configured nowhere.
  CHECK_FALSE(qr::is_local_address(ip("127.0.0.2")));
  CHECK_FALSE(qr::is_local_address(ip("192.0.2.1")));
  CHECK_FALSE(qr::is_local_address(ip("2001:db8::1")));
}

namespace {

struct Pair {
  qr::Fd peer;
  std::unique_ptr<qr::Connection> conn;
  explicit Pair(unsigned timeout_s = 2) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    conn = std::make_unique<qr::Connection>(qr::Fd(sv[0]), timeout_s);
    peer = qr::Fd(sv[1]);
  }
  void put(std::string_view s) {
    REQUIRE(::write(peer.get(), s.data(), s.size()) == ssize_t(s.size()));
  }
  std::string take() {
    char buf[4096];
    ssize_t n = ::read(peer.get(), buf, sizeof buf);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
  }
};

}  // namespace

TEST_CASE("Connection::read_line", "[net]") {
  Pair p;
  const std::string x4999(4999, 'x'), x5000(5000, 'x');
  p.put("one\r\ntwo\nin\rside\r\n\r\n" + x4999 + "\r\n" + x5000 + "\r\n" + "tail");
  const std::vector<std::string> want = {"one", "two", "in\rside", "", x4999, x5000};
  for (const auto& w : want) {
    auto line = p.conn->read_line();
    REQUIRE(line.ok());
    CHECK(*line == w);
  }
  CHECK(p.conn->buffered() == 4);  // "tail" is waiting
  p.peer.reset();
  auto eof = p.conn->read_line();
  REQUIRE_FALSE(eof.ok());
  CHECK(eof.error() == "connection closed by server");
}

TEST_CASE("Connection queue, flush and write", "[net]") {
  Pair p;
  p.conn->queue("MAIL FROM:<a@b>\r\n");
  p.conn->queue("RCPT TO:<c@d>\r\n");
  p.conn->queue("DATA\r\n");
  CHECK(p.take().empty());  // nothing sent before flush
  REQUIRE(p.conn->flush().ok());
  CHECK(p.take() == "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n");
  REQUIRE(p.conn->flush().ok());  // the queue was emptied
  p.conn->queue("queued ");
  REQUIRE(p.conn->write("direct\r\n").ok());
  CHECK(p.take() == "queued direct\r\n");
}

TEST_CASE("peer_closed sees a hang-up before anything is written", "[net]") {
  Pair p;
  CHECK_FALSE(p.conn->peer_closed());
  p.put("354 go ahead\r\n");
  CHECK_FALSE(p.conn->peer_closed());  // data waiting is not a hang-up
  REQUIRE(::shutdown(p.peer.get(), SHUT_WR) == 0);
  CHECK(p.conn->peer_closed());
}

TEST_CASE("writing to a closed peer is an error, not SIGPIPE", "[net]") {
  Pair p;
  p.peer.reset();
  // Without MSG_NOSIGNAL this would kill the test process (SPEC §1).
  auto s = p.conn->write("QUIT\r\n");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error() == "connection closed by server");
}

TEST_CASE("a full socket buffer times out the write", "[net]") {
  Pair p(1);  // timeout 1 s, the least Connection takes; the peer never reads
  std::string big(8 << 20, 'b');
  auto s = p.conn->write(big);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error() == "timed out after 1 s");
}

// SPEC §7: Connection::unread_input() sees bytes in its own buffer and bytes
// still in the socket, but not a FIN.
TEST_CASE("Connection::unread_input", "[net]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  qr::Fd peer(sv[1]);
  qr::Connection conn(qr::Fd(sv[0]), 2);
  auto say = [&](const std::string& s) {
    REQUIRE(::write(peer.get(), s.data(), s.size()) == static_cast<ssize_t>(s.size()));
  };
  CHECK_FALSE(conn.unread_input());
  say("250 one\r\n");  // in the socket, not yet read
  CHECK(conn.unread_input());
  CHECK(*conn.read_line() == "250 one");
  CHECK_FALSE(conn.unread_input());
  say("250 two\r\n250 three\r\n");
  CHECK(*conn.read_line() == "250 two");
  CHECK(conn.unread_input());  // in the Connection's buffer
  CHECK(*conn.read_line() == "250 three");
  CHECK_FALSE(conn.unread_input());
  peer.reset();  // a FIN is not a byte to read
  CHECK_FALSE(conn.unread_input());
  CHECK(conn.peer_closed());
}
