// A scripted SMTP server in a thread, over a socket pair (SPEC §4, §7): it
// answers each command line with the reply its script gives for that stage
// and logs what the client sent; a reply may hold more than one reply (bytes
// the client never asked for), written in one write. Shared by the session
// and walk tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <utility>

#include "lib/net/fd.h"

namespace qr::test {

struct Script {
  std::string greeting = "220 test ESMTP\r\n";
  std::string ehlo = "250-test\r\n250 PIPELINING\r\n";
  std::string mail = "250 ok\r\n";
  std::string rcpt = "250 ok\r\n";
  std::string data = "354 go\r\n";
  std::string dot = "250 queued\r\n";
  std::string helo = "250 hi\r\n";
  // "220 ..." is followed by a close: the client's handshake fails.
  std::string starttls = "500 what?\r\n";
  std::string auth = "535 no\r\n";
  // Hold the replies to MAIL and RCPT and write them with DATA's: a
  // pipelined group answered in one write (RFC 2920 §3.1 allows it).
  bool batch = false;
  // The server hangs up instead of answering this: "EHLO", "MAIL", "RCPT",
  // "DATA", or "DOT" (after the body, before the reply to the final dot).
  std::string drop_at;
};

// What the server saw: "C <line>" per command, "DOT" after the body.
struct Seen {
  std::string log;
  std::string body;
};

class ScriptedServer {
 public:
  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    client_ = sv[0];
    qr::Fd server(sv[1]);
    // The client's end is non-blocking, as connect_tcp leaves it.
    REQUIRE(::fcntl(client_, F_SETFL, ::fcntl(client_, F_GETFL) | O_NONBLOCK) == 0);
    // A bound on every read, so a client that stops talking cannot hang
    // the test run.
    timeval tv{5, 0};
    REQUIRE(::setsockopt(server.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    thread_ = std::thread([this, fd = std::move(server)]() mutable { serve(fd.get()); });
  }
  ~ScriptedServer() {
    if (thread_.joinable()) thread_.join();
  }
  // The client's end; the Connection made from it owns it.
  int take_client() { return std::exchange(client_, -1); }
  // After the client's end is closed: waits for the server, then its log.
  const Seen& seen() {
    if (thread_.joinable()) thread_.join();
    return seen_;
  }

 private:
  void serve(int fd) {
    sigset_t set;  // a client gone away: EPIPE, not a signal
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    say(fd, script_.greeting);
    std::string held, line;
    while (read_line(fd, line)) {
      seen_.log += "C " + line + "\n";
      std::string verb = line.substr(0, 4);
      if (!script_.drop_at.empty() && verb == script_.drop_at) break;
      if (verb == "EHLO") {
        say(fd, script_.ehlo);
      } else if (verb == "MAIL" || verb == "RCPT") {
        const std::string& r = verb == "MAIL" ? script_.mail : script_.rcpt;
        if (script_.batch) {
          held += r;
        } else {
          say(fd, r);
        }
      } else if (verb == "DATA") {
        say(fd, held + script_.data);
        held.clear();
        if (script_.data.compare(0, 3, "354") != 0) continue;
        bool dot = false;
        while (read_line(fd, line)) {
          if (line == ".") {
            dot = true;
            break;
          }
          seen_.body += line + "\n";
        }
        if (!dot) break;
        seen_.log += "DOT\n";
        if (script_.drop_at == "DOT") break;
        say(fd, script_.dot);
      } else if (verb == "HELO") {
        say(fd, script_.helo);
      } else if (verb == "STAR") {
        say(fd, script_.starttls);
        if (script_.starttls.compare(0, 3, "220") == 0) break;
      } else if (verb == "AUTH") {
        say(fd, script_.auth);
      } else if (verb == "QUIT") {
        say(fd, "221 bye\r\n");
        break;
      } else {
        say(fd, "500 what?\r\n");
      }
    }
  }
  static void say(int fd, const std::string& s) {
    if (!s.empty()) (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
  }
  // One line without CRLF; false at end of stream or after the timeout.
  bool read_line(int fd, std::string& line) {
    line.clear();
    for (;;) {
      size_t lf = buf_.find('\n');
      if (lf != std::string::npos) {
        line = buf_.substr(0, lf);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        buf_.erase(0, lf + 1);
        return true;
      }
      char b[4096];
      ssize_t n = ::read(fd, b, sizeof b);
      if (n <= 0) return false;
      buf_.append(b, static_cast<size_t>(n));
    }
  }

  Script script_;
  int client_ = -1;
  std::string buf_;
  Seen seen_;
  std::thread thread_;
};

}  // namespace qr::test
