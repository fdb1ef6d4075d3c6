// Control files from a real directory (SPEC §2, §3): defaults for missing
// files, errors naming file and line.
#include <catch2/catch.hpp>

#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "lib/control/control.h"
#include "tests/unit/control_fixtures.h"

using namespace qr;

using qr::test::Files;
using qr::test::TempDir;

TEST_CASE("read_control_lines strips, drops comments and blanks, numbers lines", "[control]") {
  TempDir dir;
  dir.write("routes", "a;;;; \t\r\n\n# comment\n \t\nb;;;;\r\n  c;;;;");
  auto lines = read_control_lines(dir.path(), "routes");
  REQUIRE(lines.ok());
  REQUIRE(lines->has_value());
  const auto& v = **lines;
  REQUIRE(v.size() == 3);
  CHECK(v[0].number == 1);
  CHECK(v[0].text == "a;;;;");
  CHECK(v[1].number == 5);
  CHECK(v[1].text == "b;;;;");
  CHECK(v[2].number == 6);  // no final LF; leading spaces are kept
  CHECK(v[2].text == "  c;;;;");

  auto missing = read_control_lines(dir.path(), "smtproutes");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  // A directory where a file should be (SPEC §3).
  REQUIRE(::mkdir((dir.path() + "/routemap").c_str(), 0700) == 0);
  auto unreadable = read_control_lines(dir.path(), "routemap");
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error() == "control/routemap: not a regular file");
}

namespace {

// What read_control_file says about DIR/NAME, as "missing", "ok:<size>" or
// the error. Runs in a child process killed after two seconds, so that a
// read that blocks (a FIFO) or never ends (/dev/zero) fails the test
// ("timed out") instead of hanging it; with `as_nobody`, the child drops
// root first (root reads any file whatever its mode).
std::string read_in_child(const std::string& dir, const std::string& name, bool as_nobody = false) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    if (as_nobody &&
        (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) {
      out = "could not become nobody";
    } else {
      auto r = read_control_file(dir, name);
      out = !r ? r.error() : !*r ? "missing" : "ok:" + std::to_string((*r)->size());
    }
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) {
      out = "timed out";
      ::kill(pid, SIGKILL);
      break;
    }
    char buf[512];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fds[0]);
  ::waitpid(pid, nullptr, 0);
  return out;
}

}  // namespace

TEST_CASE("read_control_file: regular files only, 4 MiB at most, ENOENT only is missing",
          "[control]") {
  TempDir dir;
  const std::string d = dir.path();
  dir.write("me", "mail.example.com\n");
  dir.write("exactly4MiB", std::string(4u << 20, 'x'));
  dir.write("big", std::string(5u << 20, 'x'));
  REQUIRE(::mkfifo((d + "/fifo").c_str(), 0600) == 0);
  REQUIRE(::mkdir((d + "/dir").c_str(), 0700) == 0);
  REQUIRE(::symlink("/dev/zero", (d + "/zero").c_str()) == 0);
  REQUIRE(::symlink("/dev/null", (d + "/null").c_str()) == 0);
  REQUIRE(::symlink("me", (d + "/link-to-me").c_str()) == 0);
  REQUIRE(::symlink("no-such-file", (d + "/dangling").c_str()) == 0);
  REQUIRE(::symlink("loop", (d + "/loop").c_str()) == 0);
  // A Unix socket bound where a control file should be.
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::string sock_path = d + "/socket";
  REQUIRE(sock_path.size() < sizeof sun.sun_path);
  std::memcpy(sun.sun_path, sock_path.c_str(), sock_path.size() + 1);
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
  ::close(sock);

  struct Case {
    std::string dir, name, result;
  };
  const std::vector<Case> cases = {
      {d, "me", "ok:17"},
      {d, "link-to-me", "ok:17"},  // a symlink to a regular file is fine
      {d, "exactly4MiB", "ok:4194304"},
      {d, "nosuch", "missing"},
      {d + "/nosuchdir", "me", "missing"},
      {d, "big", "control/big: larger than the 4 MiB limit"},
      {d, "fifo", "control/fifo: not a regular file"},  // must not wait for a writer
      {d, "dir", "control/dir: not a regular file"},
      {d, "zero", "control/zero: not a regular file"},  // must not read forever
      {d, "null", "control/null: not a regular file"},
      {d, "socket", "control/socket: not a regular file"},
      {d, "dangling", "control/dangling: cannot read: dangling symbolic link"},
      {d, "loop", "control/loop: cannot read: Too many levels of symbolic links"},
      // A path component that is a file: not "missing" (SPEC §3).
      {d + "/me", "routes", "control/routes: cannot read: Not a directory"},
  };
  for (const auto& c : cases) {
    INFO(c.dir << " " << c.name);
    CHECK(read_in_child(c.dir, c.name) == c.result);
  }
}

TEST_CASE("read_control_file: EACCES is an error, never missing (SPEC §3)", "[control]") {
  TempDir dir;
  const std::string d = dir.path();
  dir.write("routes", "r1;;;;\n");
  dir.write("closed/routes", "r1;;;;\n");
  REQUIRE(::chmod(d.c_str(), 0755) == 0);  // mkdtemp made it 0700
  REQUIRE(::chmod((d + "/routes").c_str(), 0) == 0);
  REQUIRE(::chmod((d + "/closed").c_str(), 0) == 0);
  // Root ignores file modes: read as nobody then.
  bool drop = ::geteuid() == 0;
  CHECK(read_in_child(d, "routes", drop) == "control/routes: cannot read: Permission denied");
  CHECK(read_in_child(d + "/closed", "routes", drop) ==
        "control/routes: cannot read: Permission denied");
  CHECK(read_in_child(d + "/closed", "nosuch", drop) ==
        "control/nosuch: cannot read: Permission denied");
  REQUIRE(::chmod((d + "/closed").c_str(), 0700) == 0);  // so that TempDir can remove it
}

TEST_CASE("read_control_value gives the first line, stripped", "[control]") {
  TempDir dir;
  dir.write("me", "mail.example.com \r\nsecond\n");
  dir.write("empty", "");
  auto me = read_control_value(dir.path(), "me");
  REQUIRE(me.ok());
  CHECK(**me == "mail.example.com");
  auto empty = read_control_value(dir.path(), "empty");
  REQUIRE(empty.ok());
  CHECK(**empty == "");
  auto none = read_control_value(dir.path(), "helohost");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("control_dir: $QMAIL_ROOT/control, else the built-in root", "[control]") {
  const char* saved = std::getenv("QMAIL_ROOT");
  std::string keep = saved ? saved : "";
  ::setenv("QMAIL_ROOT", "/opt/qmail", 1);
  CHECK(control_dir() == "/opt/qmail/control");
  ::setenv("QMAIL_ROOT", "", 1);
  CHECK(control_dir() == std::string(QMAIL_ROOT_DEFAULT) + "/control");
  ::unsetenv("QMAIL_ROOT");
  CHECK(control_dir() == std::string(QMAIL_ROOT_DEFAULT) + "/control");
  if (saved) ::setenv("QMAIL_ROOT", keep.c_str(), 1);
}

TEST_CASE("load_control: missing files take the defaults", "[control]") {
  TempDir dir(Files{{"me", "mail.example.com\n"}});
  auto c = load_control(dir.path());
  REQUIRE(c.ok());
  CHECK(c->helohost == "mail.example.com");
  CHECK(c->timeoutconnect == 60);
  CHECK(c->timeoutremote == 1200);
  CHECK(c->default_ips.empty());
  CHECK(c->routes.empty());
  CHECK(c->routemap.empty());
  CHECK(c->smtproutes.empty());
}

TEST_CASE("load_control reads every file", "[control]") {
  TempDir dir(Files{
      {"me", "mail.example.com\n"},
      {"helohost", "helo.example.com\n"},
      {"timeoutconnect", "30\n"},
      {"timeoutremote", "600\n"},
      {"defaultoutgoingip", "192.0.2.1|192.0.2.2\n"},
      {"outgoingip", "192.0.2.99\n"},
      {"smtproutes", "example.org:relay.example.net:2525\n"},
      {"routes", "# the relays\nbulk;;relay.example.net;;\n"},
      {"routemap", "*;example.com;bulk\n"},
  });
  auto c = load_control(dir.path());
  REQUIRE(c.ok());
  CHECK(c->helohost == "helo.example.com");
  CHECK(c->timeoutconnect == 30);
  CHECK(c->timeoutremote == 600);
  const Groups<IpAddr> ips = {{*IpAddr::parse("192.0.2.1"), *IpAddr::parse("192.0.2.2")}};
  CHECK(c->default_ips == ips);
  REQUIRE(c->smtproutes.size() == 1);
  CHECK(c->smtproutes[0].port == 2525);
  REQUIRE(c->routes.size() == 1);
  CHECK(c->routes[0].line == 2);
  REQUIRE(c->routemap.size() == 1);
  CHECK(c->routemap[0].route == "bulk");
}

TEST_CASE("load_control: outgoingip when defaultoutgoingip is missing", "[control]") {
  TempDir dir(Files{{"me", "m.example\n"}, {"outgoingip", "2001:db8::5\n"}});
  auto c = load_control(dir.path());
  REQUIRE(c.ok());
  const Groups<IpAddr> ips = {{*IpAddr::parse("2001:db8::5")}};
  CHECK(c->default_ips == ips);
}

TEST_CASE("load_control: the first problem, naming file and line", "[control]") {
  struct Case {
    const char* name;
    Files files;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"no me, no helohost", {}, "control/me and control/helohost are both missing"},
      {"empty helohost and me",
       {{"helohost", "\n"}, {"me", ""}},
       "control/me and control/helohost are both missing"},
      {"timeoutremote not a number",
       {{"me", "m\n"}, {"timeoutremote", "soon\n"}},
       "control/timeoutremote line 1: not a number of seconds"},
      {"timeoutconnect zero",
       {{"me", "m\n"}, {"timeoutconnect", "0\n"}},
       "control/timeoutconnect line 1: not a number of seconds"},
      {"timeoutconnect negative",
       {{"me", "m\n"}, {"timeoutconnect", "-5\n"}},
       "control/timeoutconnect line 1: not a number of seconds"},
      {"bad defaultoutgoingip",
       {{"me", "m\n"}, {"defaultoutgoingip", "192.0.2.300\n"}},
       "control/defaultoutgoingip line 1: bad IP address '192.0.2.300'"},
      {"bad outgoingip",
       {{"me", "m\n"}, {"outgoingip", "192.0.2.1/192.0.2.2\n"}},
       "control/outgoingip line 1: unknown separator '/'"},
      {"routes line 3",
       {{"me", "m\n"}, {"routes", "ok;;;;\n# comment\nbad;;1.2.3.4:99999;;\n"}},
       "control/routes line 3: bad port '99999' in REMOTE_ADDRS"},
      {"routemap unknown route",
       {{"me", "m\n"}, {"routes", "ok;;;;\n"}, {"routemap", "\n*;*;nope\n"}},
       "control/routemap line 2: unknown route 'nope'"},
      {"smtproutes line 1",
       {{"me", "m\n"}, {"smtproutes", "example.com\n"}},
       "control/smtproutes line 1: expected domain:relay[:port]"},
      // SPEC §3: helohost/me go on the wire after EHLO; no byte may end the
      // command or start another.
      {"helohost with CR",
       {{"me", "m\n"}, {"helohost", "a.example\rRSET\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x0d at position "
       "10)"},
      {"helohost with a space",
       {{"me", "m\n"}, {"helohost", "a.example RSET\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x20 at position "
       "10)"},
      {"helohost with a tab",
       {{"me", "m\n"}, {"helohost", "a\tb\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x09 at position "
       "2)"},
      {"helohost with NUL",
       {{"me", "m\n"}, {"helohost", std::string("a.exa\0mple\n", 11)}},
       "control/helohost line 1: contains a space or control character (byte 0x00 at position "
       "6)"},
      {"helohost only NUL",
       {{"me", "m\n"}, {"helohost", std::string("\0", 1)}},
       "control/helohost line 1: contains a space or control character (byte 0x00 at position "
       "1)"},
      {"helohost with DEL",
       {{"me", "m\n"}, {"helohost", "a\x7f\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x7f at position "
       "2)"},
      {"helohost with ESC",
       {{"me", "m\n"}, {"helohost", "\x1b[2Ja\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x1b at position "
       "1)"},
      {"bad helohost: me is not the fallback",
       {{"me", "m.example\n"}, {"helohost", "a b\n"}},
       "control/helohost line 1: contains a space or control character (byte 0x20 at position "
       "2)"},
      {"me with CR, helohost missing",
       {{"me", "m.example\rQUIT\n"}},
       "control/me line 1: contains a space or control character (byte 0x0d at position 10)"},
      {"me with a space, helohost empty",
       {{"me", "m example\n"}, {"helohost", "\n"}},
       "control/me line 1: contains a space or control character (byte 0x20 at position 2)"},
      {"routemap is a directory",
       {{"me", "m\n"}, {"routemap/x", ""}},
       "control/routemap: not a regular file"},
      {"smtproutes too large",
       {{"me", "m\n"}, {"smtproutes", std::string(5u << 20, '#')}},
       "control/smtproutes: larger than the 4 MiB limit"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    TempDir dir(c.files);
    auto control = load_control(dir.path());
    REQUIRE_FALSE(control.ok());
    CHECK(control.error() == c.error);
  }
}
