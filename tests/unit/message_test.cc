// The message on fd 0 and its DATA form (SPEC §4, §6; RFC 5321 §4.5.2).
#include "lib/smtp/message.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/resource.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
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

TEST_CASE("has_8bit", "[message]") {
  CHECK_FALSE(qr::has_8bit(""));
  CHECK_FALSE(qr::has_8bit("plain ASCII\r\n\x7f"));
  CHECK(qr::has_8bit("caf\xc3\xa9"));
  CHECK(qr::has_8bit(std::string(10000, 'a') + "\x80"));
}

TEST_CASE("BodyEncoder fed in windows equals the whole", "[message]") {
  std::mt19937 rng(13);
  const char alphabet[] = {'a', '.', '.', '\r', '\n', '\n', '\x80'};
  std::uniform_int_distribution<size_t> len(0, 200), pick(0, sizeof alphabet - 1);
  for (int n = 0; n < 300; ++n) {
    std::string in;
    size_t l = len(rng);
    for (size_t i = 0; i < l; ++i) in += alphabet[pick(rng)];
    std::string whole = BodyEncoder::encode(in);
    for (size_t window : {1, 2, 3, 5, 64}) {
      INFO("case " << n << ", window " << window);
      BodyEncoder enc;
      std::string out;
      for (size_t at = 0; at < in.size(); at += window) {
        enc.feed(std::string_view(in).substr(at, window));
        while (!enc.window_done()) enc.append(out, out.size() + 4);
      }
      CHECK(out == whole);
    }
  }
}

namespace {

qr::Fd temp_file_with(const std::string& content) {
  char name[] = "/tmp/qr-message-XXXXXX";
  qr::Fd fd(::mkstemp(name));
  REQUIRE(fd.valid());
  ::unlink(name);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
    REQUIRE(n > 0);
    off += size_t(n);
  }
  REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
  return fd;
}

// from_fd on the read end of a pipe, a writer thread feeding it `content`.
qr::Result<qr::MessageSource> through_pipe(const std::string& content) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  qr::Fd rd(p[0]), wr(p[1]);
  // Larger than the pipe buffer: the writer must run alongside.
  std::thread writer([&] {
    sigset_t set;  // the reader gave up (a spool failure): EPIPE, not a signal
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    size_t off = 0;
    while (off < content.size()) {
      ssize_t n = ::write(wr.get(), content.data() + off, content.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    wr.reset();
  });
  auto m = qr::MessageSource::from_fd(rd.get());
  rd.reset();  // a writer still blocked (from_fd failed) gets EPIPE
  writer.join();
  return m;
}

// Every byte of the message, through read() in windows of `w`.
std::string all_bytes(const qr::MessageSource& m, size_t w = 4096) {
  std::string out;
  std::vector<char> buf(w);
  for (uint64_t off = 0;;) {
    auto v = m.read(off, w, buf.data());
    REQUIRE(v.ok());
    if (v->empty()) break;
    out += *v;
    off += v->size();
  }
  return out;
}

// The whole DATA form through a BodyStream, checking each piece.
std::string stream_all(const qr::MessageSource& m, size_t max) {
  qr::BodyStream body(m);
  std::string all, piece;
  for (;;) {
    auto got = body.next(piece, max);
    REQUIRE(got.ok());
    if (!*got) break;
    REQUIRE_FALSE(piece.empty());
    REQUIRE(piece.size() <= max + 2);
    all += piece;
  }
  return all;
}

// The facts written out independently, byte by byte.
qr::MessageFacts naive_facts(const std::string& m) {
  qr::MessageFacts f;
  f.size = m.size();
  f.wire_size = m.size();
  for (char c : m) {
    if (c == '\n') ++f.wire_size;
    if (static_cast<unsigned char>(c) >= 0x80) f.eight_bit = true;
  }
  f.partial_last_line = !m.empty() && m.back() != '\n';
  return f;
}

std::string show(const qr::MessageFacts& f) {
  return "size=" + std::to_string(f.size) + " wire=" + std::to_string(f.wire_size) +
         " 8bit=" + std::to_string(f.eight_bit) + " partial=" + std::to_string(f.partial_last_line);
}

}  // namespace

// SPEC §4 (partial last line), §7 (SIZE=, BODY=8BITMIME): one pass, the
// same facts from memory, a regular file and a pipe.
TEST_CASE("MessageFacts table", "[message]") {
  struct Case {
    std::string in;
    uint64_t wire;
    bool eight_bit, partial;
  };
  const std::vector<Case> cases = {
      {"", 0, false, false},       // empty: an empty body, not partial
      {"a", 1, false, true},       // no LF at all
      {"a\nb", 4, false, true},    // the last line has none
      {"a\r", 2, false, true},     // a final lone CR is partial (SPEC §4)
      {"a\r\n", 4, false, false},  // CRLF: the LF counts once more only
      {"a\n", 3, false, false},    // LF counted as CRLF
      {"\n\n\n", 6, false, false},
      {"caf\xc3\xa9\n", 7, true, false},  // 8-bit
      {"\x80", 1, true, true},
      {"\x7f\x01\n", 4, false, false},    // high ASCII is not 8-bit
      {".\n..\n.x\n", 11, false, false},  // dots are not counted (an estimate)
      {std::string("a\0b\n", 4), 5, false, false},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.in);
    qr::MessageFacts want;
    want.size = c.in.size();
    want.wire_size = c.wire;
    want.eight_bit = c.eight_bit;
    want.partial_last_line = c.partial;
    REQUIRE(show(naive_facts(c.in)) == show(want));  // the table agrees with the rule
    CHECK(show(qr::MessageSource::from_bytes(c.in).facts()) == show(want));
    auto fd = temp_file_with(c.in);
    auto f = qr::MessageSource::from_fd(fd.get());
    REQUIRE(f.ok());
    CHECK(show(f->facts()) == show(want));
    auto p = through_pipe(c.in);
    REQUIRE(p.ok());
    CHECK(show(p->facts()) == show(want));
  }
}

TEST_CASE("MessageFacts across read windows", "[message]") {
  // The read window is 256 KiB: put the one 8-bit byte, LFs and the end
  // around its edges, and compare with the byte-by-byte count.
  std::mt19937 rng(4);
  for (size_t size :
       {(size_t(1) << 18) - 1, size_t(1) << 18, (size_t(1) << 18) + 1, (size_t(3) << 18) + 17}) {
    for (size_t at : {size_t(0), (size_t(1) << 18) - 1, size_t(1) << 18, size - 1}) {
      if (at >= size) continue;
      std::string m(size, 'x');
      for (size_t i = 0; i < size; i += 1 + rng() % 100) m[i] = '\n';
      m[at] = '\xe9';
      INFO("size " << size << ", 8-bit byte at " << at);
      auto want = show(naive_facts(m));
      CHECK(show(qr::MessageSource::from_bytes(m).facts()) == want);
      auto fd = temp_file_with(m);
      auto f = qr::MessageSource::from_fd(fd.get());
      REQUIRE(f.ok());
      CHECK(show(f->facts()) == want);
      auto p = through_pipe(m);
      REQUIRE(p.ok());
      CHECK(show(p->facts()) == want);
    }
  }
}

TEST_CASE("MessageSource from a regular file", "[message]") {
  SECTION("contents") {
    auto fd = temp_file_with("Subject: hi\n\nbody\n");
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(all_bytes(*m, 3) == "Subject: hi\n\nbody\n");
  }
  SECTION("empty file") {
    auto fd = temp_file_with("");
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(all_bytes(*m).empty());
    CHECK(stream_all(*m, 100).empty());
  }
  SECTION("starts at the current offset, as read(0) would") {
    auto fd = temp_file_with("skip\nkeep\n");
    REQUIRE(::lseek(fd.get(), 5, SEEK_SET) == 5);
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    CHECK(all_bytes(*m) == "keep\n");
    CHECK(m->facts().size == 5);
    CHECK(stream_all(*m, 100) == "keep\r\n");
  }
  SECTION("a closed fd is an error") {
    auto m = qr::MessageSource::from_fd(-1);
    CHECK_FALSE(m.ok());
  }
  SECTION("a file that shrinks after the facts pass is an error, not a crash") {
    std::string content(1 << 20, 'a');
    content += "\n";
    auto fd = temp_file_with(content);
    auto m = qr::MessageSource::from_fd(fd.get());
    REQUIRE(m.ok());
    REQUIRE(::ftruncate(fd.get(), 1000) == 0);
    qr::BodyStream body(*m);
    std::string piece;
    qr::Result<bool> got = true;
    while (got.ok() && *got) got = body.next(piece, 1 << 16);
    REQUIRE_FALSE(got.ok());
    CHECK(got.error() == "cannot read the message: the file has shrunk");
  }
}

TEST_CASE("MessageSource from a pipe: spooled, then read like a file", "[message]") {
  for (size_t size : {size_t(0), size_t(3), size_t(1) << 20, (size_t(3) << 18) + 5}) {
    INFO("size " << size);
    std::string content;
    for (size_t i = 0; i < size; ++i) content += char('a' + i % 26);
    auto m = through_pipe(content);
    REQUIRE(m.ok());
    CHECK(all_bytes(*m, 100000) == content);
    CHECK(m->facts().size == size);
    // Moving keeps the spool file.
    qr::MessageSource moved(std::move(*m));
    CHECK(all_bytes(moved, 100000) == content);
  }
}

TEST_CASE("MessageSource spool failures are errors", "[message]") {
  SECTION("no temporary directory") {
    const char* old = std::getenv("TMPDIR");
    std::string saved = old ? old : "";
    ::setenv("TMPDIR", "/nonexistent/qr-test", 1);
    auto m = through_pipe("a\n");
    if (old) {
      ::setenv("TMPDIR", saved.c_str(), 1);
    } else {
      ::unsetenv("TMPDIR");
    }
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().find("cannot create a temporary file in /nonexistent/qr-test: ") == 0);
  }
  SECTION("the disk fills up (a file size limit stands in for it)") {
    // EFBIG instead of ENOSPC, and the same path: main ignores SIGXFSZ
    // so that the write fails instead of killing the process.
    struct rlimit old;
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 100000;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    auto m = through_pipe(std::string(1 << 20, 'a'));
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().find("cannot copy the message to a temporary file: ") == 0);
  }
}

// SPEC §4: a send that failed before the dot goes to the next pair with the
// whole message again; the source must read from its start every time.
TEST_CASE("BodyStream reads the message again after a partial send", "[message]") {
  std::mt19937 rng(20);
  const std::vector<std::string> pieces = {".",   "..",   "\r",  "\n", "\r\n",
                                           "abc", "\xe9", "\r.", "\n."};
  std::string content = "Subject: again\n\n";
  while (content.size() < (size_t(3) << 19)) content += pieces[rng() % pieces.size()];
  content += "\n";
  const std::string want = BodyEncoder::encode(content);
  auto fd = temp_file_with(content);
  auto file = qr::MessageSource::from_fd(fd.get());
  REQUIRE(file.ok());
  auto pipe = through_pipe(content);
  REQUIRE(pipe.ok());
  auto mem = qr::MessageSource::from_bytes(content);
  for (const qr::MessageSource* m : {&*file, &*pipe, &mem}) {
    // The first session sends a few pieces, then its connection drops.
    {
      qr::BodyStream first(*m);
      std::string piece, sent;
      for (int i = 0; i < 3; ++i) {
        auto got = first.next(piece, 100000);
        REQUIRE(got.ok());
        REQUIRE(*got);
        sent += piece;
      }
      CHECK(want.compare(0, sent.size(), sent) == 0);
    }
    // The next pair gets all of it, in pieces of any size.
    for (size_t max : {size_t(1) << 18, size_t(4093), size_t(7)}) {
      INFO("piece size " << max);
      CHECK(stream_all(*m, max) == want);
    }
  }
}
