// qmail-routes (SPEC §11): the seed's `tmail routes` examples (seed 001) as
// add/list/del sequences on a scratch control directory, the rule order of
// seed 000, check's file:line reports, and a failed write leaving the files
// as they were; route options in add, set and list (SPEC §3.1); who may read
// the control files (issue 14: may, fix_command, check --as) and the mode
// of a new routes file (issue 11). Expected texts are worked out by hand from SPEC §3.1/§3.2/§11
// and the naming scheme of lib/admin/edit.h.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lib/admin/commands.h"
#include "lib/admin/edit.h"
#include "lib/admin/explain.h"
#include "lib/admin/permissions.h"
#include "lib/admin/text_file.h"
#include "lib/control/routemap.h"
#include "tests/unit/fake_dns.h"

namespace fs = std::filesystem;
using qr::Output;
using qr::run_command;

namespace {

// A scratch control directory, removed at the end of the test.
class ControlDir {
 public:
  ControlDir() {
    std::string templ = (fs::temp_directory_path() / "admin_test-XXXXXX").string();
    root_ = ::mkdtemp(templ.data());
    write("me", "mail.example.org\n");
  }
  ~ControlDir() { fs::remove_all(root_); }
  ControlDir(const ControlDir&) = delete;
  ControlDir& operator=(const ControlDir&) = delete;

  const std::string& path() const { return root_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(root_ + "/" + name) << text;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(root_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool exists(const std::string& name) const { return fs::exists(root_ + "/" + name); }
  // check runs as the user running the tests unless the test names one, so
  // that a qmailr account on the machine cannot change what it finds.
  Output run(std::vector<std::string> args) const {
    if (!args.empty() && args[0] == "check" &&
        std::none_of(args.begin(), args.end(),
                     [](const std::string& a) { return a.rfind("--as", 0) == 0; })) {
      args.push_back("--as");
      args.push_back(me());
    }
    return run_command(args, root_);
  }
  static std::string me() { return ::getpwuid(::geteuid())->pw_name; }
  // Runs and requires success, so a sequence stops at the first surprise.
  void ok(const std::vector<std::string>& args) const {
    Output o = run(args);
    INFO(o.err);
    REQUIRE(o.code == 0);
  }

 private:
  std::string root_;
};

const std::string kLine1 = "1 - Destination host: tmail.io - Priority: ";

}  // namespace

TEST_CASE("add: a relay for a destination (seed 001, first example)", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  CHECK(d.read("routes") == "to_tmail.io;;mail.tmail.io;;\n");
  CHECK(d.read("routemap") == "*;tmail.io;to_tmail.io\n");
  CHECK(d.run({"list"}).out ==
        "1 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote host: "
        "mail.tmail.io:25 - Route: to_tmail.io\n");
}

TEST_CASE("add: remote port, and AUTH credentials", "[admin]") {
  ControlDir d;
  SECTION("-rp 2525") {
    d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rp", "2525"});
    CHECK(d.read("routes") == "to_tmail.io;;mail.tmail.io:2525;;\n");
  }
  SECTION("--remotePort=25 is the default and is not written") {
    d.ok({"add", "--destination", "tmail.io", "--remoteHost", "mail.tmail.io", "--remotePort=25"});
    CHECK(d.read("routes") == "to_tmail.io;;mail.tmail.io;;\n");
  }
  SECTION("-rp 587 -rl login -rpwd passwd") {
    d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rp", "587", "-rl", "login", "-rpwd",
          "passwd"});
    CHECK(d.read("routes") == "to_tmail.io;;mail.tmail.io:587;login;passwd\n");
    Output list = d.run({"list"});
    CHECK(list.out ==
          "1 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote host: "
          "mail.tmail.io:587 - Remote login: login - Route: to_tmail.io\n");
    CHECK(list.out.find("passwd") == std::string::npos);
  }
  SECTION("-rl without -rpwd is refused") {
    Output o = d.run({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rl", "login"});
    CHECK(o.code == 1);
    CHECK(o.err.find("-rl") != std::string::npos);
    CHECK_FALSE(d.exists("routes"));
  }
}

TEST_CASE("add: per-sender routes (-u), any destination", "[admin]") {
  ControlDir d;
  d.ok({"add", "-rh", "premium.tmail.io", "-u", "toorop@tmail.io"});
  d.ok({"add", "-rh", "in.mailjet.com", "--smtpUser", "tmail.io", "-rl", "mailjet_login", "-rpwd",
        "mailjet_passwd"});
  CHECK(d.read("routes") ==
        "from_toorop_at_tmail.io;;premium.tmail.io;;\n"
        "from_tmail.io;;in.mailjet.com;mailjet_login;mailjet_passwd\n");
  // Sender address before sender domain (SPEC §11, seed 000).
  CHECK(d.read("routemap") ==
        "toorop@tmail.io;*;from_toorop_at_tmail.io\n"
        "tmail.io;*;from_tmail.io\n");
  CHECK(d.run({"list"}).out ==
        "1 - Sender: toorop@tmail.io - Destination host: * - Priority: 1 - Local IPs: default - "
        "Remote host: premium.tmail.io:25 - Route: from_toorop_at_tmail.io\n"
        "2 - Sender: tmail.io - Destination host: * - Priority: 1 - Local IPs: default - Remote "
        "host: in.mailjet.com:25 - Remote login: mailjet_login - Route: from_tmail.io\n");
}

TEST_CASE("add: -u and -f together are an error, and nothing is written", "[admin]") {
  ControlDir d;
  Output o = d.run({"add", "-rh", "in.mailjet.com", "-u", "tmail.io", "-f", "tmail.io", "-rl",
                    "mailjet_login", "-rpwd", "mailjet_passwd"});
  CHECK(o.code == 2);
  CHECK(o.err.find("-u and -f") != std::string::npos);
  CHECK_FALSE(d.exists("routes"));
  CHECK_FALSE(d.exists("routemap"));
  // -f alone selects by envelope sender, as -u does.
  d.ok({"add", "-rh", "in.mailjet.com", "-f", "tmail.io"});
  CHECK(d.read("routemap") == "tmail.io;*;from_tmail.io\n");
}

TEST_CASE("add: usage errors", "[admin]") {
  ControlDir d;
  CHECK(d.run({"add", "-d", "tmail.io"}).code == 2);  // no -rh
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "-p", "0"}).code == 2);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "-rp", "99999"}).code == 2);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "--bogus", "1"}).code == 2);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "bad host"}).code == 1);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "-l", "1.2.3"}).code == 1);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "-rl", "a;b", "-rpwd", "p"}).code == 1);
  CHECK(d.run({"add", "-d", "tmail.io", "-rh", "x", "-rl", "a", "-rpwd", "p;w"}).code == 1);
  CHECK_FALSE(d.exists("routes"));
}

TEST_CASE("add: failover by priority 1, 2, 3 (seed 001)", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "main.smtp.tmail.io", "-p", "1"});
  d.ok({"add", "-d", "tmail.io", "-rh", "alt1.smtp.tmail.io", "-p", "2"});
  d.ok({"add", "-d", "tmail.io", "-rh", "alt2.smtp.tmail.io", "-p", "3"});
  CHECK(d.read("routes") ==
        "to_tmail.io;;main.smtp.tmail.io&alt1.smtp.tmail.io&alt2.smtp.tmail.io;;\n");
  CHECK(d.read("routemap") == "*;tmail.io;to_tmail.io\n");
  const char* tail = " - Local IPs: default - Remote host: ";
  CHECK(d.run({"list"}).out == kLine1 + "1" + tail +
                                   "main.smtp.tmail.io:25 - Route: to_tmail.io\n" +
                                   "2 - Destination host: tmail.io - Priority: 2" + tail +
                                   "alt1.smtp.tmail.io:25 - Route: to_tmail.io\n" +
                                   "3 - Destination host: tmail.io - Priority: 3" + tail +
                                   "alt2.smtp.tmail.io:25 - Route: to_tmail.io\n");

  SECTION("del 2 removes exactly alt1") {
    d.ok({"del", "2"});
    CHECK(d.read("routes") == "to_tmail.io;;main.smtp.tmail.io&alt2.smtp.tmail.io;;\n");
    CHECK(d.read("routemap") == "*;tmail.io;to_tmail.io\n");
  }
  SECTION("deleting every entry removes the route and its routemap line") {
    d.ok({"del", "3"});
    d.ok({"del", "1"});
    CHECK(d.read("routes") == "to_tmail.io;;alt1.smtp.tmail.io;;\n");
    d.ok({"del", "1"});
    CHECK(d.read("routes").empty());
    CHECK(d.read("routemap").empty());
    CHECK(d.run({"list"}).out.empty());
  }
  SECTION("del of an ID that is not listed") {
    Output o = d.run({"del", "4"});
    CHECK(o.code == 1);
    CHECK(o.err.find("1 to 3") != std::string::npos);
  }
}

TEST_CASE("add: the same host twice weighs double (big, big, small)", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "big.smtp.tmail.io"});
  d.ok({"add", "-d", "tmail.io", "-rh", "big.smtp.tmail.io"});
  d.ok({"add", "-d", "tmail.io", "-rh", "small.smtp.tmail.io"});
  CHECK(d.read("routes") ==
        "to_tmail.io;;big.smtp.tmail.io|big.smtp.tmail.io|small.smtp.tmail.io;;\n");
  std::string list = d.run({"list"}).out;
  CHECK(list.find("3 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote "
                  "host: small.smtp.tmail.io:25") != std::string::npos);
  d.ok({"del", "2"});
  CHECK(d.read("routes") == "to_tmail.io;;big.smtp.tmail.io|small.smtp.tmail.io;;\n");
}

TEST_CASE("add: failover and round robin mixed (priorities 1, 2, 2)", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "main.smtp.tmail.io", "-p", "1"});
  d.ok({"add", "-d", "tmail.io", "-rh", "alt1.smtp.tmail.io", "-p", "2"});
  d.ok({"add", "-d", "tmail.io", "-rh", "alt2.smtp.tmail.io", "-p", "2"});
  CHECK(d.read("routes") ==
        "to_tmail.io;;main.smtp.tmail.io&alt1.smtp.tmail.io|alt2.smtp.tmail.io;;\n");
  std::string list = d.run({"list"}).out;
  CHECK(list.find("3 - Destination host: tmail.io - Priority: 2 - Local IPs: default - Remote "
                  "host: alt2.smtp.tmail.io:25") != std::string::npos);
  SECTION("deleting main promotes the round-robin group to the top") {
    d.ok({"del", "1"});
    CHECK(d.read("routes") == "to_tmail.io;;alt1.smtp.tmail.io|alt2.smtp.tmail.io;;\n");
  }
  SECTION("a priority beyond the last group starts a new last group") {
    d.ok({"add", "-d", "tmail.io", "-rh", "last.tmail.io", "-p", "9"});
    CHECK(
        d.read("routes") ==
        "to_tmail.io;;main.smtp.tmail.io&alt1.smtp.tmail.io|alt2.smtp.tmail.io&last.tmail.io;;\n");
  }
}

TEST_CASE("add: routemap lines follow the order of seed 000", "[admin]") {
  ControlDir d;
  d.write("routes", "# hand-made\nhand;;relay.example;;\n");
  d.write("routemap", "# first comment\n*;hand.example;hand\n");
  d.ok({"add", "-d", "*", "-rh", "mx"});
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  d.ok({"add", "-u", "tmail.io", "-rh", "out.tmail.io"});
  d.ok({"add", "-u", "toorop@tmail.io", "-rh", "premium.tmail.io"});
  d.ok({"add", "-u", "tmail.io", "-d", "x.org", "-rh", "xo.tmail.io"});
  d.ok({"add", "-f", "bob@x.org", "-d", "tmail.io", "-rh", "[2001:db8::1]", "-rp", "587"});
  CHECK(d.read("routemap") ==
        "# first comment\n"
        "bob@x.org;tmail.io;from_bob_at_x.org_to_tmail.io\n"
        "tmail.io;x.org;from_tmail.io_to_x.org\n"
        "toorop@tmail.io;*;from_toorop_at_tmail.io\n"
        "tmail.io;*;from_tmail.io\n"
        "*;hand.example;hand\n"
        "*;tmail.io;to_tmail.io\n"
        "*;*;default\n");
  CHECK(d.read("routes") ==
        "# hand-made\n"
        "hand;;relay.example;;\n"
        "default;;mx;;\n"
        "to_tmail.io;;mail.tmail.io;;\n"
        "from_tmail.io;;out.tmail.io;;\n"
        "from_toorop_at_tmail.io;;premium.tmail.io;;\n"
        "from_tmail.io_to_x.org;;xo.tmail.io;;\n"
        "from_bob_at_x.org_to_tmail.io;;[2001:db8::1]:587;;\n");
  CHECK(d.run({"check"}).code == 0);
}

TEST_CASE("add: a taken route name gets a suffix", "[admin]") {
  ControlDir d;
  d.write("routes", "to_tmail.io;;other.example;;\n");
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  CHECK(d.read("routes") == "to_tmail.io;;other.example;;\nto_tmail.io-2;;mail.tmail.io;;\n");
  CHECK(d.read("routemap") == "*;tmail.io;to_tmail.io-2\n");
}

TEST_CASE("add: conflicts with the selector's route are refused", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "a.tmail.io", "-l", "192.0.2.1", "-rl", "u", "-rpwd",
        "secret"});
  const std::string before = d.read("routes");
  SECTION("other local IPs") {
    Output o = d.run({"add", "-d", "tmail.io", "-rh", "b.tmail.io", "-rl", "u", "-rpwd", "secret"});
    CHECK(o.code == 1);
    CHECK(o.err.find("local IPs 192.0.2.1") != std::string::npos);
  }
  SECTION("other credentials; the password is never shown") {
    Output o = d.run({"add", "-d", "tmail.io", "-rh", "b.tmail.io", "-l", "192.0.2.1", "-rl", "u",
                      "-rpwd", "other"});
    CHECK(o.code == 1);
    CHECK(o.err.find("SMTP AUTH as u") != std::string::npos);
    CHECK(o.err.find("secret") == std::string::npos);
  }
  SECTION("mx cannot join a round-robin group") {
    Output o = d.run(
        {"add", "-d", "tmail.io", "-rh", "mx", "-l", "192.0.2.1", "-rl", "u", "-rpwd", "secret"});
    CHECK(o.code == 1);
  }
  CHECK(d.read("routes") == before);
  // The same -l and credentials join the route.
  d.ok({"add", "-d", "tmail.io", "-rh", "b.tmail.io", "-l", "192.0.2.1", "-rl", "u", "-rpwd",
        "secret"});
  CHECK(d.read("routes") == "to_tmail.io;192.0.2.1;a.tmail.io|b.tmail.io;u;secret\n");
}

TEST_CASE("del: a route shared by two routemap lines", "[admin]") {
  ControlDir d;
  d.write("routes", "relay;;r1.example&r2.example;;\nsolo;;s.example;;\n");
  d.write("routemap", "*;a.example;relay\n*;b.example;relay\n*;c.example;solo\n*;d.example;solo\n");
  Output o = d.run({"del", "1"});
  CHECK(o.code == 1);
  CHECK(o.err.find("several routemap lines") != std::string::npos);
  // The last host of a shared route: only that routemap line goes.
  d.ok({"del", "5"});
  CHECK(d.read("routemap") == "*;a.example;relay\n*;b.example;relay\n*;d.example;solo\n");
  CHECK(d.read("routes") == "relay;;r1.example&r2.example;;\nsolo;;s.example;;\n");
}

TEST_CASE("del and list keep comments and unrelated lines", "[admin]") {
  ControlDir d;
  d.write("routes", "# routes\nroute1;;;;\n\nroute3;1.1.1.1;mx&3.3.3.3:587;;\n");
  d.write("routemap", "# map\n*;example.com;route3\n*;*;route1\n");
  CHECK(d.run({"list"}).out ==
        "1 - Destination host: example.com - Priority: 1 - Local IPs: 1.1.1.1 - Remote host: mx"
        " - Route: route3\n"
        "2 - Destination host: example.com - Priority: 2 - Local IPs: 1.1.1.1 - Remote host: "
        "3.3.3.3:587 - Route: route3\n"
        "3 - Destination host: * - Priority: 1 - Local IPs: default - Remote host: mx - Route: "
        "route1\n");
  d.ok({"del", "3"});
  CHECK(d.read("routes") == "# routes\n\nroute3;1.1.1.1;mx&3.3.3.3:587;;\n");
  CHECK(d.read("routemap") == "# map\n*;example.com;route3\n");
}

TEST_CASE("edits refuse files that do not parse", "[admin]") {
  ControlDir d;
  d.write("routes", "broken;;;\n");
  Output o = d.run({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  CHECK(o.code == 1);
  CHECK(o.err.find("control/routes line 1") != std::string::npos);
  CHECK(d.read("routes") == "broken;;;\n");
  CHECK(d.run({"list"}).code == 1);
}

TEST_CASE("a failed write leaves the old files and names the file", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  const std::string routes = d.read("routes"), routemap = d.read("routemap");
  int calls = 0;
  SECTION("the first write fails") {
    qr::FileWriter failing = [&](const std::string&, const std::string& name, const std::string&) {
      ++calls;
      return qr::Status(qr::Error{"control/" + name + ": cannot create a temporary file: EROFS"});
    };
    Output o = run_command({"add", "-u", "a@b.example", "-rh", "x.example"}, d.path(), failing);
    CHECK(o.code == 1);
    CHECK(o.err.find("control/routes") != std::string::npos);
    CHECK(o.err.find("nothing was changed") != std::string::npos);
    CHECK(calls == 1);
  }
  SECTION("a real write into a directory that is gone") {
    qr::Status st = qr::write_atomic(d.path() + "/missing", "routes", "x;;;;\n");
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().rfind("control/routes: cannot create a temporary file", 0) == 0);
  }
  CHECK(d.read("routes") == routes);
  CHECK(d.read("routemap") == routemap);
}

TEST_CASE("write_atomic keeps the file's mode and leaves no temporary file", "[admin]") {
  ControlDir d;
  d.write("routes", "old\n");
  fs::permissions(d.path() + "/routes", fs::perms(0640));
  REQUIRE(qr::write_atomic(d.path(), "routes", "new\n").ok());
  CHECK(d.read("routes") == "new\n");
  CHECK((fs::status(d.path() + "/routes").permissions() & fs::perms::all) == fs::perms(0640));
  int files = 0;
  for (const auto& e : fs::directory_iterator(d.path())) files += e.is_regular_file();
  CHECK(files == 2);  // me and routes
}

TEST_CASE("check: every problem, as control/FILE:LINE", "[admin]") {
  ControlDir d;
  CHECK(d.run({"check"}).code == 0);
  CHECK(d.run({"check"}).out.empty());

  d.write("timeoutconnect", "soon\n");
  d.write("defaultoutgoingip", "1.1.1.1/2.2.2.2\n");
  d.write("smtproutes", "# comment\nexample.com:relay.example:99999\n:fallback.example\nnocolon\n");
  d.write("routes",
          "ok;;relay.example;;\n"
          "short;;;\n"
          "badip;1.1.1;;;\n"
          "ok;;other.example;;\n"
          "auth;;relay.example;user;\n"
          "opt;;relay.example;;;tls=maybe\n");
  d.write("routemap", "*;a.example;ok\n*;b.example;nosuch\n*;c.example\n*;d.example;badip\n");
  Output o = d.run({"check"});
  CHECK(o.code == 1);
  std::string out = o.out;
  std::vector<std::string> lines;
  for (size_t at = 0; at < out.size();) {
    size_t nl = out.find('\n', at);
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  REQUIRE(lines.size() == 11);
  auto starts = [&](size_t i, const std::string& prefix) {
    INFO(lines[i]);
    CHECK(lines[i].rfind(prefix, 0) == 0);
  };
  starts(0, "control/timeoutconnect:1: not a number");
  starts(1, "control/defaultoutgoingip:1: unknown separator '/'");
  starts(2, "control/smtproutes:2: bad port '99999'");
  starts(3, "control/smtproutes:4: expected domain:relay");
  starts(4, "control/routes:2: expected 5 or 6 fields");
  starts(5, "control/routes:3: bad IP address '1.1.1' in LOCAL_IPS");
  starts(6, "control/routes:5: USER without PASS");
  starts(7, "control/routes:6: bad value 'maybe' for option 'tls'");
  // Across lines: after the line checks of the file.
  starts(8, "control/routes:4: duplicate route name 'ok' (first on line 1)");
  starts(9, "control/routemap:2: unknown route 'nosuch'");
  starts(10, "control/routemap:3: expected 3 fields");
  // routemap line 4 names the broken route of routes line 3: blamed there only.
  CHECK(out.find("control/routemap:4") == std::string::npos);
}

TEST_CASE("check: the HELO name and the routemap's short line", "[admin]") {
  ControlDir d;
  fs::remove(d.path() + "/me");
  d.write("routemap", "*;c.example\n");
  Output o = d.run({"check"});
  CHECK(o.code == 1);
  CHECK(o.out ==
        "control/me: missing or empty, and so is control/helohost: no name for HELO (SPEC §3)\n"
        "control/routemap:1: expected 3 fields SENDER;RECIPIENT;ROUTE, found 2\n");
}

TEST_CASE("explain --no-dns: rule, route, TLS, AUTH and the pairs in order", "[admin]") {
  ControlDir d;
  d.write("routes",
          "route2;1.1.1.1;2.2.2.2:465;admin;123456\n"
          "route5;1.1.1.1&2.2.2.2;mx&6.6.6.6:587;;;tls=verify\n");
  d.write("routemap", "# the seed's routes\nalice@example.com;*;route2\n*;example.com;route5\n");
  d.write("smtproutes", "relayed.example:smarthost.example:2525\n");
  d.write("defaultoutgoingip", "9.9.9.9\n");

  Output o = d.run({"explain", "--no-dns", "example.com", "alice@example.com", "b@example.com"});
  CHECK(o.code == 0);
  // Port 465 is TLS from the first byte: at least encrypt (doc/DECISIONS.md).
  CHECK(o.out ==
        "rule: routemap:2\nroute: route2\n"
        "tls: verify to host names, encrypt to IP literals (USER/PASS and no tls=, SPEC §8)\n"
        "auth: yes (user admin)\n"
        "remote=[2.2.2.2]:465 local=1.1.1.1 tls=encrypt\n");
  CHECK(o.out.find("123456") == std::string::npos);

  // Remote first, then local (SPEC §4, the seed's route5).
  o = d.run({"explain", "--no-dns", "example.com", "bob@example.com", "c@example.com"});
  CHECK(o.out ==
        "rule: routemap:3\nroute: route5\ntls: verify\nauth: no\n"
        "remote=mx local=1.1.1.1 tls=verify\n"
        "remote=mx local=2.2.2.2 tls=verify\n"
        "remote=[6.6.6.6]:587 local=1.1.1.1 tls=verify\n"
        "remote=[6.6.6.6]:587 local=2.2.2.2 tls=verify\n");

  o = d.run({"explain", "--no-dns", "relayed.example", "bob@example.com", "c@relayed.example"});
  CHECK(o.out ==
        "rule: smtproutes:1\nroute: smtproutes\ntls: may\nauth: no\n"
        "remote=smarthost.example:2525 local=9.9.9.9 tls=may\n");

  o = d.run({"explain", "--no-dns", "other.example", "", "c@other.example"});
  CHECK(o.out == "rule: mx\nroute: mx\ntls: may\nauth: no\nremote=mx local=9.9.9.9 tls=may\n");

  CHECK(d.run({"explain", "--no-dns", "example.com"}).code == 2);
}

// Issue 13: explain expands items with the walk's own function, so it stops
// where the walk stops. A null MX ends the walk with D (#5.1.10) whatever
// else the route lists: no pair after it may be shown.
TEST_CASE("explain with DNS: nothing after a null MX, the relay after NXDOMAIN", "[admin][dns]") {
  qr::Control c;
  c.helohost = "client.test";
  auto routes = qr::parse_routes({qr::ControlLine{1, "r;;mx&relay.example;;;"}});
  REQUIRE(routes.ok());
  c.routes = *routes;
  auto map = qr::parse_routemap({qr::ControlLine{1, "*;*;r"}}, c.routes);
  REQUIRE(map.ok());
  c.routemap = *map;
  qr::test::FakeDns dns;
  qr::MxAnswer null;
  null.status = qr::DnsStatus::NullMx;
  dns.answers.mx["null.example"] = null;
  qr::HostAnswer relay;
  relay.addrs = {*qr::IpAddr::parse("192.0.2.5")};
  dns.answers.hosts["relay.example"] = relay;
  qr::Rng rng(1);

  std::string out = qr::explain(c, {"null.example", "s@example.org", "r@null.example"}, &dns, rng);
  CHECK(out ==
        "rule: routemap:1\nroute: r\ntls: may\nauth: no\n"
        "# MX for null.example: null MX\n"
        "# the walk ends here: D null.example does not accept mail (null MX). (#5.1.10)\n");

  // NXDOMAIN is noted, and the walk goes on to the relay (doc/DECISIONS.md).
  out = qr::explain(c, {"gone.example", "s@example.org", "r@gone.example"}, &dns, rng);
  CHECK(out ==
        "rule: routemap:1\nroute: r\ntls: may\nauth: no\n"
        "# MX for gone.example: no such domain\n"
        "remote=relay.example[192.0.2.5]:25 local=default tls=may\n");
}

// SPEC §12: explain marks what the walk would skip, and lists demoted pairs
// last, as the walk tries them.
TEST_CASE("explain: pairs tcpto would skip or demote", "[admin][tcpto]") {
  ControlDir d;
  fs::create_directories(d.path() + "/lock");
  // qmail's tcpto: 64 records of 16 bytes; 192.0.2.1 failed twice 100 s
  // ago (skipped), 192.0.2.2 once (demoted); time least significant first.
  std::string file(1024, '\0');
  const uint32_t now = 1700000000, when = now - 100;
  auto put = [&](size_t rec, unsigned char last, unsigned char count) {
    unsigned char ip[4] = {192, 0, 2, last};
    for (int i = 0; i < 4; ++i) file[rec * 16 + size_t(i)] = char(ip[i]);
    file[rec * 16 + 4] = char(count);
    for (int i = 0; i < 4; ++i) file[rec * 16 + 8 + size_t(i)] = char((when >> (8 * i)) & 0xff);
  };
  put(0, 1, 2);
  put(1, 2, 1);
  std::ofstream(d.path() + "/lock/tcpto", std::ios::binary) << file;
  qr::DeadHosts::Config cfg;
  cfg.lock_dir = d.path() + "/lock";
  cfg.now = [&] { return uint64_t(now); };
  cfg.pid = 1;
  qr::DeadHosts dead(cfg);

  qr::Control c;
  auto routes = qr::parse_routes({qr::ControlLine{1, "r;;192.0.2.2&192.0.2.1&192.0.2.3;;"}});
  REQUIRE(routes.ok());
  c.routes = *routes;
  auto map = qr::parse_routemap({qr::ControlLine{1, "*;*;r"}}, c.routes);
  REQUIRE(map.ok());
  c.routemap = *map;
  qr::Rng rng(1);
  std::string out =
      qr::explain(c, {"dest.example", "s@example.org", "r@dest.example"}, nullptr, rng, &dead);
  CHECK(out ==
        "rule: routemap:1\nroute: r\ntls: may\nauth: no\n"
        "# remote=[192.0.2.1]:25 local=default tls=may: skipped: no connection within "
        "timeoutconnect, 100 s ago\n"
        "remote=[192.0.2.3]:25 local=default tls=may\n"
        "remote=[192.0.2.2]:25 local=default tls=may (demoted: a connect timed out 100 s ago)\n");
  // Without the files' answers, every pair in plan order.
  out = qr::explain(c, {"dest.example", "s@example.org", "r@dest.example"}, nullptr, rng);
  CHECK(out.find("remote=[192.0.2.2]:25 local=default tls=may\nremote=[192.0.2.1]") !=
        std::string::npos);
}

// --- add without -d (issue 14) ------------------------------------------

TEST_CASE("add: no -d, -u or -f is the default rule *;*, and it stays last", "[admin]") {
  ControlDir d;
  d.ok({"add", "-rh", "smarthost.example"});
  CHECK(d.read("routes") == "default;;smarthost.example;;\n");
  CHECK(d.read("routemap") == "*;*;default\n");
  // The same selector as -d '*': both join the route.
  d.ok({"add", "-rh", "backup.example", "-p", "2"});
  d.ok({"add", "-d", "*", "-rh", "third.example", "-p", "3"});
  CHECK(d.read("routes") == "default;;smarthost.example&backup.example&third.example;;\n");
  // More specific selectors added later go before it (SPEC §11, seed 000).
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io"});
  d.ok({"add", "-u", "toorop@tmail.io", "-rh", "premium.tmail.io"});
  d.ok({"add", "-u", "tmail.io", "-d", "x.org", "-rh", "xo.tmail.io"});
  CHECK(d.read("routemap") ==
        "tmail.io;x.org;from_tmail.io_to_x.org\n"
        "toorop@tmail.io;*;from_toorop_at_tmail.io\n"
        "*;tmail.io;to_tmail.io\n"
        "*;*;default\n");
  CHECK(d.run({"list"}).out.find("6 - Destination host: * - Priority: 3 - Local IPs: default - "
                                 "Remote host: third.example:25 - Route: default\n") !=
        std::string::npos);
  CHECK(d.run({"check"}).code == 0);
}

// --- route options (SPEC §3.1 OPTIONS) -----------------------------------

TEST_CASE("edit_options: keys keep their place, new ones are appended, default removes",
          "[admin]") {
  struct Case {
    std::string field;
    qr::OptionList changes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", {{"tls", "verify"}}, "tls=verify"},
      {"", {{"tls", "verify"}, {"helo", "ptr"}}, "tls=verify,helo=ptr"},
      {"helo=ptr", {{"tls", "may"}}, "helo=ptr,tls=may"},
      {"tls=may,helo=ptr", {{"tls", "encrypt"}}, "tls=encrypt,helo=ptr"},
      {"tls=may,helo=ptr", {{"tls", "default"}}, "helo=ptr"},
      {"tls=may", {{"tls", "default"}}, ""},
      {"", {{"auth-cleartext", "default"}}, ""},
  };
  for (const Case& c : cases) {
    INFO(c.field);
    CHECK(qr::edit_options(c.field, c.changes) == c.expected);
  }
}

TEST_CASE("add: --tls, --helo and --auth-cleartext write the route's options", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "--auth-cleartext", "yes", "--tls=verify",
        "--helo", "ptr"});
  // In one order whatever the order given: tls, helo, auth-cleartext.
  CHECK(d.read("routes") ==
        "to_tmail.io;;mail.tmail.io;;;tls=verify,helo=ptr,auth-cleartext=yes\n");
  CHECK(d.run({"list"}).out ==
        "1 - Destination host: tmail.io - Priority: 1 - Local IPs: default - Remote host: "
        "mail.tmail.io:25 - Options: tls=verify,helo=ptr,auth-cleartext=yes - Route: "
        "to_tmail.io\n");
  SECTION("an add without options joins the route as it is") {
    d.ok({"add", "-d", "tmail.io", "-rh", "alt.tmail.io", "-p", "2"});
    CHECK(d.read("routes") ==
          "to_tmail.io;;mail.tmail.io&alt.tmail.io;;;tls=verify,helo=ptr,auth-cleartext=yes\n");
  }
  SECTION("the same option joins") {
    d.ok({"add", "-d", "tmail.io", "-rh", "alt.tmail.io", "--tls", "verify"});
    CHECK(d.read("routes") ==
          "to_tmail.io;;mail.tmail.io|alt.tmail.io;;;tls=verify,helo=ptr,auth-cleartext=yes\n");
  }
  SECTION("another value is refused and names set") {
    Output o = d.run({"add", "-d", "tmail.io", "-rh", "alt.tmail.io", "--tls", "may"});
    CHECK(o.code == 1);
    CHECK(o.err.find("has tls=verify; this add asks for tls=may") != std::string::npos);
    CHECK(o.err.find("qmail-routes set ID --tls may") != std::string::npos);
    CHECK(d.read("routes") ==
          "to_tmail.io;;mail.tmail.io;;;tls=verify,helo=ptr,auth-cleartext=yes\n");
  }
  SECTION("with credentials, in the sixth field after them") {
    d.ok({"add", "-d", "x.org", "-rh", "relay.x.org", "-rp", "587", "-rl", "u", "-rpwd", "p",
          "--tls", "encrypt"});
    CHECK(d.read("routes").find("to_x.org;;relay.x.org:587;u;p;tls=encrypt\n") !=
          std::string::npos);
    CHECK(d.run({"check"}).code == 0);
  }
}

TEST_CASE("add: bad option values are refused in the parser's words", "[admin]") {
  struct Case {
    std::vector<std::string> option;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--tls", "maybe"},
       1,
       "bad value 'maybe' for option 'tls' (none, may, encrypt, verify or dane)"},
      {{"--helo", "bad name"}, 1, "bad value 'bad name' for option 'helo'"},
      {{"--helo", "a,tls=none"}, 1, "no ',' or ';'"},
      {{"--auth-cleartext", "perhaps"}, 1, "bad value 'perhaps' for option 'auth-cleartext'"},
      {{"--tls", "default"}, 1, "bad value 'default'"},  // only set removes options
      {{"--tls"}, 2, "--tls needs a value"},
      {{"--tls", "may", "--tls", "none"}, 2, "--tls given twice"},
      {{"--port", "25"}, 2, "unknown argument '--port'"},
  };
  for (const Case& c : cases) {
    ControlDir d;
    std::vector<std::string> args = {"add", "-d", "tmail.io", "-rh", "mail.tmail.io"};
    args.insert(args.end(), c.option.begin(), c.option.end());
    Output o = d.run(args);
    INFO(c.option[0] << " -> " << o.err);
    CHECK(o.code == c.code);
    CHECK(o.err.find(c.says) != std::string::npos);
    CHECK_FALSE(d.exists("routes"));
  }
}

TEST_CASE("set: change, add and remove the options of an entry's route", "[admin]") {
  ControlDir d;
  d.ok({"add", "-d", "tmail.io", "-rh", "a.tmail.io", "-p", "1"});
  d.ok({"add", "-d", "tmail.io", "-rh", "b.tmail.io", "-p", "2"});
  d.ok({"add", "-d", "x.org", "-rh", "c.x.org"});
  const std::string other = "to_x.org;;c.x.org;;\n";

  Output o = d.run({"set", "2", "--tls", "encrypt"});
  CHECK(o.code == 0);
  CHECK(o.out == "route to_tmail.io (entries 1, 2): options tls=encrypt (were none)\n");
  CHECK(d.read("routes") == "to_tmail.io;;a.tmail.io&b.tmail.io;;;tls=encrypt\n" + other);

  d.ok({"set", "1", "--helo", "out.example.org", "--tls=verify"});
  CHECK(d.read("routes") ==
        "to_tmail.io;;a.tmail.io&b.tmail.io;;;tls=verify,helo=out.example.org\n" + other);
  CHECK(d.run({"list"}).out.find("Remote host: b.tmail.io:25 - Options: "
                                 "tls=verify,helo=out.example.org - Route: to_tmail.io\n") !=
        std::string::npos);

  d.ok({"set", "1", "--tls", "default"});
  CHECK(d.read("routes") == "to_tmail.io;;a.tmail.io&b.tmail.io;;;helo=out.example.org\n" + other);
  // The last option gone: the line is back to five fields.
  o = d.run({"set", "1", "--helo", "default", "--auth-cleartext", "default"});
  CHECK(o.out == "route to_tmail.io (entries 1, 2): options none (were helo=out.example.org)\n");
  CHECK(d.read("routes") == "to_tmail.io;;a.tmail.io&b.tmail.io;;\n" + other);
  o = d.run({"set", "3", "--auth-cleartext", "no"});
  CHECK(d.read("routes") ==
        "to_tmail.io;;a.tmail.io&b.tmail.io;;\nto_x.org;;c.x.org;;;auth-cleartext=no\n");
  CHECK(d.run({"check"}).code == 0);
}

TEST_CASE("set: what is refused changes nothing", "[admin]") {
  ControlDir d;
  d.write("routes", "relay;;r1.example;;\nsolo;;s.example;;\n");
  d.write("routemap", "*;a.example;relay\n*;b.example;relay\n*;c.example;solo\n");
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"set"}, 2, "needs one ID"},
      {{"set", "3"}, 2, "nothing to set"},
      {{"set", "x", "--tls", "may"}, 2, "bad ID 'x'"},
      {{"set", "3", "4", "--tls", "may"}, 2, "needs one ID"},
      {{"set", "3", "-rh", "x"}, 2, "unknown argument '-rh'"},
      {{"set", "9", "--tls", "may"}, 1, "no entry 9 (qmail-routes list numbers them 1 to 3)"},
      {{"set", "3", "--tls", "maybe"}, 1, "bad value 'maybe' for option 'tls'"},
      {{"set", "1", "--tls", "verify"}, 1, "route relay is used by several routemap lines"},
  };
  for (const Case& c : cases) {
    Output o = d.run(c.args);
    INFO(o.err);
    CHECK(o.code == c.code);
    CHECK(o.err.find(c.says) != std::string::npos);
  }
  CHECK(d.read("routes") == "relay;;r1.example;;\nsolo;;s.example;;\n");
  d.ok({"set", "3", "--tls", "none"});
  CHECK(d.read("routes") == "relay;;r1.example;;\nsolo;;s.example;;;tls=none\n");
}

// --- who may read the control files (issue 14) ----------------------------

TEST_CASE("may: owner, group and other bits against the account", "[admin][perms]") {
  using qr::Need;
  const qr::Account qmailr{"qmailr", 991, 995, "qmail", {995, 50}};
  struct Case {
    qr::Inode inode;
    Need need;
    bool expected;
    const char* why;
  };
  const std::vector<Case> cases = {
      {{0, 0, S_IFREG | 0600}, Need::Read, false, "root's private file"},
      {{0, 0, S_IFREG | 0644}, Need::Read, true, "every user may read"},
      {{0, 995, S_IFREG | 0640}, Need::Read, true, "group qmail"},
      {{0, 50, S_IFREG | 0640}, Need::Read, true, "a supplementary group"},
      {{0, 995, S_IFREG | 0604}, Need::Read, false, "a member gets the group bits, not other's"},
      {{991, 0, S_IFREG | 0400}, Need::Read, true, "the owner"},
      {{991, 995, S_IFREG | 0044}, Need::Read, false, "the owner gets the owner bits only"},
      {{0, 0, S_IFDIR | 0755}, Need::Search, true, "a usual directory"},
      {{0, 0, S_IFDIR | 0754}, Need::Search, false, "read without search"},
      {{0, 995, S_IFDIR | 0710}, Need::Search, true, "search through group qmail"},
      {{0, 0, S_IFDIR | 0700}, Need::Search, false, "root's private directory"},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    CHECK(qr::may(qmailr, c.inode, c.need) == c.expected);
  }
  const qr::Account root{"root", 0, 0, "root", {0}};
  CHECK(qr::may(root, {991, 995, S_IFREG | 0000}, Need::Read));
  CHECK(qr::may(root, {991, 995, S_IFDIR | 0000}, Need::Search));
}

TEST_CASE("fix_command: the least change that lets qmailr read, secrets kept private",
          "[admin][perms]") {
  using qr::Need;
  const qr::Account qmailr{"qmailr", 991, 995, "qmail", {995}};
  struct Case {
    qr::Inode inode;
    Need need;
    bool secret;
    std::string path, expected;
  };
  const std::string r = "/var/qmail/control/routes";
  const std::vector<Case> cases = {
      {{0, 0, S_IFREG | 0600}, Need::Read, true, r, "chgrp qmail " + r + " && chmod 0640 " + r},
      {{0, 0, S_IFREG | 0644},
       Need::Read,
       true,
       r,  // qmailr reads it only as "other"
       "chgrp qmail " + r + " && chmod 0640 " + r},
      {{0, 995, S_IFREG | 0644}, Need::Read, true, r, "chmod 0640 " + r},
      {{0, 995, S_IFREG | 0600}, Need::Read, true, r, "chmod 0640 " + r},
      {{991, 0, S_IFREG | 0200}, Need::Read, true, r, "chmod 0600 " + r},
      {{0, 0, S_IFREG | 0600}, Need::Read, false, "/q/control/me", "chmod 0644 /q/control/me"},
      {{0, 995, S_IFREG | 0600}, Need::Read, false, "/q/control/me", "chmod 0640 /q/control/me"},
      {{0, 0, S_IFDIR | 0700}, Need::Search, false, "/q/control", "chmod 0755 /q/control"},
      {{0, 995, S_IFDIR | 0700}, Need::Search, false, "/q/control", "chmod 0750 /q/control"},
      {{0, 0, S_IFDIR | 01700}, Need::Search, false, "/q/tmp", "chmod 1755 /q/tmp"},
      {{0, 0, S_IFREG | 0600},
       Need::Read,
       false,
       "/q/my control/me",
       "chmod 0644 '/q/my control/me'"},
      {{0, 0, S_IFREG | 0600}, Need::Read, false, "/q/it's", "chmod 0644 '/q/it'\\''s'"},
  };
  for (const Case& c : cases) {
    INFO(c.path << " " << std::oct << c.inode.mode);
    CHECK(qr::fix_command(c.path, c.inode, qmailr, c.need, c.secret) == c.expected);
  }
}

namespace {

std::string owner_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const passwd* pw = ::getpwuid(st.st_uid);
  const group* gr = ::getgrgid(st.st_gid);
  return std::string(pw ? pw->pw_name : "?") + ":" + (gr ? gr->gr_name : "?");
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("check --as: what the user cannot read or search, with the command that fixes it",
          "[admin][perms]") {
  std::optional<qr::Account> nobody = qr::find_account("nobody");
  if (!nobody || ControlDir::me() == "nobody") {
    WARN("no user nobody, or running as nobody: skipped");
    return;
  }
  ControlDir d;
  const std::string& dir = d.path();
  fs::permissions(dir, fs::perms(0755));
  d.write("routes", "r;;relay.example;;\n");
  d.write("routemap", "*;*;r\n");
  fs::permissions(dir + "/routes", fs::perms(0644));
  fs::permissions(dir + "/routemap", fs::perms(0644));
  fs::permissions(dir + "/me", fs::perms(0644));
  CHECK(d.run({"check", "--as", "nobody"}).out == "");

  // The case of issue 14: routes 0600 root, every delivery deferred.
  fs::permissions(dir + "/routes", fs::perms(0600));
  Output o = d.run({"check", "--as=nobody"});
  CHECK(o.code == 1);
  CHECK(o.out == "control/routes: nobody cannot read it (0600 " + owner_of(dir + "/routes") +
                     "): chgrp " + nobody->group + " " + dir + "/routes && chmod 0640 " + dir +
                     "/routes\n");
  // The command it prints is the fix.
  REQUIRE(std::system(
              ("chgrp " + nobody->group + " " + dir + "/routes && chmod 0640 " + dir + "/routes")
                  .c_str()) == 0);
  CHECK(d.run({"check", "--as", "nobody"}).out == "");

  // Directories: control itself, tlshosts/ and notlshosts/, and a CA file.
  fs::create_directory(dir + "/tlshosts");
  fs::create_directory(dir + "/notlshosts");
  d.write("tlshosts/mx.example.com.pem", "x\n");
  d.write("notlshosts/mx.example.net", "");
  fs::permissions(dir + "/tlshosts", fs::perms(0700));
  fs::permissions(dir + "/notlshosts", fs::perms(0700));
  fs::permissions(dir + "/tlshosts/mx.example.com.pem", fs::perms(0600));
  fs::permissions(dir + "/notlshosts/mx.example.net", fs::perms(0600));  // never read: fine
  fs::permissions(dir, fs::perms(0711));                                 // search is enough
  o = d.run({"check", "--as", "nobody"});
  CHECK(o.out == "control/tlshosts: nobody cannot search it (0700 " + owner_of(dir) +
                     "): chmod 0755 " + dir + "/tlshosts\n" +
                     "control/tlshosts/mx.example.com.pem: nobody cannot read it (0600 " +
                     owner_of(dir) + "): chmod 0644 " + dir + "/tlshosts/mx.example.com.pem\n" +
                     "control/notlshosts: nobody cannot search it (0700 " + owner_of(dir) +
                     "): chmod 0755 " + dir + "/notlshosts\n");

  // A directory on the way to control/.
  fs::create_directories(dir + "/q/control");
  d.write("q/control/me", "mail.example.org\n");
  fs::permissions(dir + "/q", fs::perms(0700));
  fs::permissions(dir + "/q/control", fs::perms(0755));
  fs::permissions(dir + "/q/control/me", fs::perms(0644));
  o = run_command({"check", "--as", "nobody"}, dir + "/q/control");
  CHECK(o.out == dir + "/q: nobody cannot search it (0700 " + owner_of(dir) + "): chmod 0755 " +
                     dir + "/q\n");
}

TEST_CASE("check: a password every user can read; a user that does not exist is a note",
          "[admin][perms]") {
  ControlDir d;
  const std::string routes = d.path() + "/routes";
  d.write("routes", "r;;relay.example;u;s3cret\n");
  d.write("routemap", "*;*;r\n");
  fs::permissions(routes, fs::perms(0644));
  // check runs --as the test's own user, the file's owner: chmod alone.
  Output o = d.run({"check"});
  CHECK(o.code == 1);
  CHECK(o.out == "control/routes: holds a password or key and every user can read it (0644 " +
                     owner_of(routes) + "): chmod 0640 " + routes + "\n");
  CHECK(o.out.find("s3cret") == std::string::npos);

  fs::permissions(routes, fs::perms(0640));
  CHECK(d.run({"check"}).out == "");
  // No password: nothing to hide.
  d.write("routes", "r;;relay.example;;\n");
  fs::permissions(routes, fs::perms(0644));
  CHECK(d.run({"check"}).out == "");
  // The AUTH patch's credentials in smtproutes count too.
  d.write("smtproutes", "example.com:relay.example:587|user|pass\n");
  fs::permissions(d.path() + "/smtproutes", fs::perms(0644));
  o = d.run({"check"});
  CHECK(o.out.rfind("control/smtproutes: holds a password or key and every user can read it", 0) ==
        0);
  fs::remove(d.path() + "/smtproutes");

  // No such user: a note on stderr, the rest of the check still done.
  o = d.run({"check", "--as", "no-such-user-qr"});
  CHECK(o.code == 0);
  CHECK(o.out == "");
  CHECK(o.err.find("note: there is no user no-such-user-qr here") != std::string::npos);
  d.write("routes", "r;;relay.example;u;s3cret\n");
  o = d.run({"check", "--as", "no-such-user-qr"});
  CHECK(o.code == 1);
  CHECK(o.out == "control/routes: holds a password or key and every user can read it (0644 " +
                     owner_of(routes) + "): chmod 0640 " + routes + "\n");

  CHECK(d.run({"check", "--as"}).code == 2);
  CHECK(d.run({"check", "--as="}).code == 2);
  CHECK(d.run({"check", "extra"}).code == 2);
}

// --- the mode of a new routes file (issue 11) -----------------------------

TEST_CASE("a new routes file is 0640 with group qmail; an edit never widens a mode",
          "[admin][perms]") {
  CHECK(qr::new_file_mode("routes").mode == 0640);
  CHECK(qr::new_file_mode("routes").group == "qmail");
  CHECK(qr::new_file_mode("routemap").mode == 0644);
  CHECK(qr::new_file_mode("routemap").group.empty());

  ControlDir d;
  SECTION("new files") {
    d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rl", "u", "-rpwd", "secret"});
    CHECK(mode_of(d.path() + "/routes") == 0640);
    CHECK(mode_of(d.path() + "/routemap") == 0644);
    const group* qmail = ::getgrnam("qmail");
    if (qmail && ::geteuid() == 0) {
      struct stat st {};
      REQUIRE(::stat((d.path() + "/routes").c_str(), &st) == 0);
      CHECK(st.st_gid == qmail->gr_gid);
    } else {
      WARN("no group qmail, or not root: the group of a new routes file is not checked");
    }
  }
  SECTION("an existing 0600 file stays 0600") {
    d.write("routes", "# mine\n");
    fs::permissions(d.path() + "/routes", fs::perms(0600));
    d.ok({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rl", "u", "-rpwd", "secret"});
    CHECK(mode_of(d.path() + "/routes") == 0600);
  }
  SECTION("an existing 0644 file keeps its mode, and add warns about the password") {
    d.write("routes", "# mine\n");
    fs::permissions(d.path() + "/routes", fs::perms(0644));
    Output o = d.run({"add", "-d", "tmail.io", "-rh", "mail.tmail.io", "-rl", "u", "-rpwd", "pw"});
    CHECK(o.code == 0);
    CHECK(mode_of(d.path() + "/routes") == 0644);
    CHECK(o.err.find("qmail-routes: warning: control/routes: holds a password or key and every "
                     "user can read it (0644") != std::string::npos);
    CHECK(o.err.find("chmod 0640 " + d.path() + "/routes") != std::string::npos);
  }
}

TEST_CASE("--help for the tool and each command", "[admin]") {
  ControlDir d;
  CHECK(d.run({"--help"}).out.find("usage: qmail-routes COMMAND") == 0);
  for (const char* cmd : {"check", "explain", "list", "add", "set", "del"}) {
    Output o = d.run({cmd, "--help"});
    INFO(cmd);
    CHECK(o.code == 0);
    CHECK(o.out.find(std::string("usage: qmail-routes ") + cmd) == 0);
  }
  CHECK(d.run({"add", "--help"}).out.find("--remotePasswd") != std::string::npos);
  CHECK(d.run({"add", "--help"}).out.find("--auth-cleartext yes|no") != std::string::npos);
  CHECK(d.run({"check", "--help"}).out.find("--as USER") != std::string::npos);
  CHECK(d.run({"frobnicate"}).code == 2);
  CHECK(d.run({}).code == 2);
}

TEST_CASE("check: notes on TLS policies that SPEC §8 changed or that notlshosts cannot lower",
          "[admin]") {
  ControlDir d;
  d.write("routes",
          "old;;relay.example;u;s3cret\n"
          "kept;;relay.example;u;s3cret;tls=may\n"
          "lit;;192.0.2.1:587;u;s3cret\n"
          "clear;;relay.example;u;s3cret;auth-cleartext=yes\n"
          "strict;;Plain.Example.:25;;;tls=verify\n"
          "soft;;plain.example;;;tls=may\n");
  d.write("routemap", "*;*;old\n");
  d.write("smtproutes", "example.com:relay.example:587|user|pass\n");
  fs::create_directories(d.path() + "/notlshosts");
  d.write("notlshosts/plain.example", "");
  fs::permissions(d.path() + "/routes", fs::perms(0640));
  fs::permissions(d.path() + "/smtproutes", fs::perms(0640));
  Output o = d.run({"check"});
  INFO(o.out << o.err);
  CHECK(o.code == 0);  // notes are not problems
  CHECK(o.out == "");
  const std::string changed =
      " has USER/PASS and no tls=, so its TLS policy is verify (encrypt to an IP literal), "
      "where other qmail-remotes used may (SPEC §8); ";
  CHECK(o.err ==
        "control/routes:1: note: route old" + changed +
            "write tls=may in its OPTIONS to keep the old behaviour\n"
            "control/routes:3: note: route lit" +
            changed +
            "write tls=may in its OPTIONS to keep the old behaviour\n"
            "control/smtproutes:1: note: this smtproutes entry" +
            changed +
            "to relax it, move it to control/routes with tls=may\n"
            "control/notlshosts/plain.example: note: control/routes:5 requires TLS (verify) to "
            "plain.example; notlshosts/ only turns tls=may off (SPEC §8), so TLS is still used\n");
  CHECK(o.err.find("s3cret") == std::string::npos);
}
