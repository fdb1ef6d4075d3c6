// Control files from a real directory (SPEC §2, §3): defaults for missing
// files, errors naming file and line.
#include <catch2/catch.hpp>

#include <sys/stat.h>

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

  // A directory where a file should be: open works, read fails.
  REQUIRE(::mkdir((dir.path() + "/routemap").c_str(), 0700) == 0);
  auto unreadable = read_control_lines(dir.path(), "routemap");
  REQUIRE_FALSE(unreadable.ok());
  CHECK(unreadable.error() == "control/routemap: cannot read: Is a directory");
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
  };
  for (const auto& c : cases) {
    INFO(c.name);
    TempDir dir(c.files);
    auto control = load_control(dir.path());
    REQUIRE_FALSE(control.ok());
    CHECK(control.error() == c.error);
  }
}
