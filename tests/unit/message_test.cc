// The message on fd 0 and its DATA form (SPEC §4, §6; RFC 5321 §4.5.2).
#include "lib/smtp/message.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "lib/net/fd.h"

using qr::BodyEncoder;

namespace {

// All pieces of the encoding with a given piece size, checking each one.
std::string encode_in_pieces(std::string_view msg, size_t max) {
  BodyEncoder enc(msg);
  std::string all, piece;
  while (enc.next(piece, max)) {
    REQUIRE_FALSE(piece.empty());
    // "About max": a piece may end with the CRLF or the stuffed dot that
    // did not quite fit.
    REQUIRE(piece.size() <= max + 2);
    all += piece;
  }
  CHECK_FALSE(enc.next(piece, max));  // stays finished
  return all;
}

// What SPEC §6 says the receiver gets back: line ends as LF, the stuffed
// dots removed. Written independently of the encoder, byte by byte.
std::string unstuff(const std::string& wire) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < wire.size(); ++i) {
    if (line_start && wire[i] == '.') {
      line_start = false;
      continue;
    }
    line_start = false;
    if (wire[i] == '\r' && i + 1 < wire.size() && wire[i + 1] == '\n') {
      out += '\n';
      ++i;
      line_start = true;
    } else {
      out += wire[i];
    }
  }
  return out;
}

std::string normalise_line_ends(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += '\n';
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out += in[i];
    }
  }
  return out;
}

bool has_bare_cr_or_lf(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("BodyEncoder table", "[message]") {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"a\n", "a\r\n"},
      {"a\nb\n", "a\r\nb\r\n"},
      {".\n", "..\r\n"},
      {"..x\n", "...x\r\n"},
      {"a.b\n.c\n", "a.b\r\n..c\r\n"},
      {"\n\n", "\r\n\r\n"},
      {"a\r\nb\r\n", "a\r\nb\r\n"},
      {"a\rb\n", "a\r\nb\r\n"},
      {"a\r\r\nb\n", "a\r\n\r\nb\r\n"},
      {"\r\n.\r\n", "\r\n..\r\n"},
      {"a\n\rb\r\n", "a\r\n\r\nb\r\n"},  // LF then a lone CR: two line ends
      {".\r.\n", "..\r\n..\r\n"},        // a lone CR starts a line too
      {"x\x80\xff\x01\n", "x\x80\xff\x01\r\n"},
      {std::string("a\0b\n", 4), std::string("a\0b\r\n", 5)},
      // A final lone CR still becomes CRLF; a partial line stays partial
      // (the caller refuses both before encoding, SPEC §4).
      {"a\r", "a\r\n"},
      {"a", "a"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.in);
    CHECK(BodyEncoder::encode(c.in) == c.out);
    for (size_t max : {1, 2, 3, 5}) CHECK(encode_in_pieces(c.in, max) == c.out);
  }
}

TEST_CASE("BodyEncoder across piece boundaries", "[message]") {
  SECTION("a line starting with '.' right after a boundary") {
    // Pieces of 4: "abc\r\n" ends one piece; the '.' opens the next.
    BodyEncoder enc("abc\n.x\n");
    std::string p1, p2;
    REQUIRE(enc.next(p1, 4));
    REQUIRE(enc.next(p2, 4));
    CHECK(p1 == "abc\r\n");
    CHECK(p2 == "..x\r\n");
  }
  SECTION("a CR at the end of one piece's window, its LF in the next") {
    BodyEncoder enc("ab\r\ncd\n");
    std::string p1, p2, p3;
    REQUIRE(enc.next(p1, 3));
    CHECK(p1 == "ab\r\n");  // one line end, not two
    REQUIRE(enc.next(p2, 3));
    CHECK(p2 == "cd\r\n");
    CHECK_FALSE(enc.next(p3, 3));
  }
  SECTION("a long line split across pieces is stuffed once") {
    std::string line = "." + std::string(100, 'y') + "\n";
    CHECK(encode_in_pieces(line, 7) == "." + line.substr(0, 101) + "\r\n");
  }
}

TEST_CASE("BodyEncoder property: pieces equal encode, no bare CR/LF, reversible", "[message]") {
  std::mt19937 rng(20240521);
  const char alphabet[] = {'a', 'b', '.', '.', '\r', '\n', '\n', ' ', '\x80', '\xff'};
  std::uniform_int_distribution<size_t> len(0, 300), pick(0, sizeof alphabet - 1);
  for (int n = 0; n < 500; ++n) {
    std::string in;
    size_t l = len(rng);
    for (size_t i = 0; i < l; ++i) in += alphabet[pick(rng)];
    INFO("case " << n);
    std::string whole = BodyEncoder::encode(in);
    CHECK_FALSE(has_bare_cr_or_lf(whole));
    CHECK(unstuff(whole) == normalise_line_ends(in));
    for (size_t max : {1, 2, 3, 7, 64, 65536}) CHECK(encode_in_pieces(in, max) == whole);
  }
}

TEST_CASE("BodyEncoder is fast on a 10 MiB message", "[message]") {
  std::string line = std::string(75, 'x') + "\n." + std::string(20, 'z') + "\r\n";
  std::string msg;
  while (msg.size() < (10u << 20)) msg += line;
  auto t0 = std::chrono::steady_clock::now();
  BodyEncoder enc(msg);
  std::string piece;
  size_t total = 0;
  while (enc.next(piece)) total += piece.size();
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
  // Every "\n." line gains a CR and a dot; the CRLF line is unchanged.
  CHECK(total == msg.size() + 2 * (msg.size() / line.size()));
  // A byte-by-byte loop takes tens of ms at -O2; this bound leaves room for
  // a loaded machine while still catching a quadratic encoder.
  CHECK(ms.count() < 250);
}

// Found by fuzz/body: encode() asked next() for 1 MiB pieces, and next()
// reserved the whole 1 MiB even for a message of a few bytes.
TEST_CASE("BodyEncoder reserves no more than the piece can hold", "[message]") {
  for (std::string_view in : {"", "a", ".\r", "a\nb\rc\r\n.d"}) {
    BodyEncoder enc(in);
    std::string piece;
    while (enc.next(piece, 1 << 20)) CHECK(piece.capacity() <= 2 * in.size() + 64);
    CHECK(BodyEncoder::encode(in).capacity() <= 2 * in.size() + 64);
  }
}

TEST_CASE("has_partial_last_line and has_8bit", "[message]") {
  CHECK_FALSE(qr::has_partial_last_line(""));
  CHECK_FALSE(qr::has_partial_last_line("a\n"));
  CHECK_FALSE(qr::has_partial_last_line("a\r\n"));
  CHECK(qr::has_partial_last_line("a"));
  CHECK(qr::has_partial_last_line("a\r"));  // SPEC §4: a final lone CR counts
  CHECK_FALSE(qr::has_8bit(""));
  CHECK_FALSE(qr::has_8bit("plain ASCII\r\n\x7f"));
  CHECK(qr::has_8bit("caf\xc3\xa9"));
  CHECK(qr::has_8bit(std::string(10000, 'a') + "\x80"));
}

namespace {

qr::Fd temp_file_with(const std::string& content) {
  char name[] = "/tmp/qr-message-XXXXXX";
  qr::Fd fd(::mkstemp(name));
  REQUIRE(fd.valid());
  ::unlink(name);
  REQUIRE(::write(fd.get(), content.data(), content.size()) == ssize_t(content.size()));
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

}  // namespace

TEST_CASE("MessageSource from a regular file", "[message]") {
  SECTION("contents") {
    auto fd = temp_file_with("Subject: hi\n\nbody\n");
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(m->bytes() == "Subject: hi\n\nbody\n");
  }
  SECTION("empty file") {
    auto fd = temp_file_with("");
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(m->bytes().empty());
  }
  SECTION("starts at the current offset, as read(0) would") {
    auto fd = temp_file_with("skip\nkeep\n");
    REQUIRE(::lseek(fd.get(), 5, SEEK_SET) == 5);
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(m->bytes() == "keep\n");
  }
  SECTION("a closed fd is an error") {
    auto m = qr::MessageSource::from_fd(-1);
    CHECK_FALSE(m.ok());
  }
}

TEST_CASE("MessageSource from a pipe", "[message]") {
  for (size_t size : {size_t(0), size_t(3), size_t(1) << 20}) {
    INFO("size " << size);
    std::string content;
    for (size_t i = 0; i < size; ++i) content += char('a' + i % 26);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    qr::Fd rd(p[0]), wr(p[1]);
    // Larger than the pipe buffer: the writer must run alongside.
    std::thread writer([&] {
      size_t off = 0;
      while (off < content.size()) {
        ssize_t n = ::write(wr.get(), content.data() + off, content.size() - off);
        if (n <= 0) break;
        off += size_t(n);
      }
      wr.reset();
    });
    auto m = qr::MessageSource::from_fd(rd.get());
    writer.join();
    REQUIRE(m.ok());
    CHECK(m->bytes() == content);
    // A short message lives inside the string object: moving must keep the
    // view valid.
    qr::MessageSource moved(std::move(*m));
    CHECK(moved.bytes() == content);
  }
}
