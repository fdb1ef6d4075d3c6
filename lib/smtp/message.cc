#include "lib/smtp/message.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace qr {

namespace {

// The read window: the facts pass and each BodyStream read the message in
// pieces of this size with pread(2) (doc/DECISIONS.md: why not mmap).
constexpr size_t kWindow = 1 << 18;

// A small message needs no 256 KiB buffer (start-up cost, SPEC §1).
size_t window_for(uint64_t size) {
  return static_cast<size_t>(std::min<uint64_t>(kWindow, size));
}

Error os_error(const std::string& what) {
  return Error{"cannot read the message: " + what + ": " + std::strerror(errno)};
}

// The facts of one pass, fed window by window.
class FactsScan {
 public:
  void add(const char* p, size_t n) {
    if (n == 0) return;
    size_ += n;
    last_ = p[n - 1];
    // Whole 16-byte blocks with vector types (plain C++ loops are not
    // vectorised at -O2): OR for 8-bit bytes, a byte-wide LF count that
    // is summed before it can wrap (255 blocks).
    using V = unsigned char __attribute__((vector_size(16)));
    V any = {};
    size_t i = 0;
    while (n - i >= 16) {
      V count = {};
      size_t end = i + std::min<size_t>((n - i) / 16, 255) * 16;
      for (; i < end; i += 16) {
        V b;
        std::memcpy(&b, p + i, 16);
        any |= b;
        count -= reinterpret_cast<V>(b == '\n');  // each LF lane is -1
      }
      for (int k = 0; k < 16; ++k) lf_ += count[k];
    }
    unsigned char rest = 0;
    for (; i < n; ++i) {
      rest |= static_cast<unsigned char>(p[i]);
      lf_ += p[i] == '\n';
    }
    for (int k = 0; k < 16; ++k) rest |= any[k];
    if (rest & 0x80) eight_bit_ = true;
  }

  MessageFacts facts() const {
    MessageFacts f;
    f.size = size_;
    f.wire_size = size_ + lf_;
    f.eight_bit = eight_bit_;
    f.partial_last_line = size_ > 0 && last_ != '\n';
    return f;
  }

 private:
  uint64_t size_ = 0, lf_ = 0;
  bool eight_bit_ = false;
  char last_ = 0;
};

// pread until n bytes or the end of the file.
Result<size_t> pread_full(int fd, char* buf, size_t n, uint64_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, static_cast<off_t>(off + got));
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r == 0) {
      break;
    } else if (errno != EINTR) {
      return os_error("read");
    }
  }
  return got;
}

Status write_full(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t r = ::write(fd, p, n);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
    } else if (r < 0 && errno != EINTR) {
      return Error{std::string("cannot copy the message to a temporary file: ") +
                   std::strerror(errno)};
    }
  }
  return success();
}

// An unlinked file in $TMPDIR (else /tmp) for the copy of a pipe: nothing
// is left behind, whatever happens to the process.
Result<Fd> spool_file() {
  const char* env = std::getenv("TMPDIR");
  std::string dir = (env && *env) ? env : "/tmp";
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return Fd(fd);
#endif
  // O_TMPFILE unsupported there (an old kernel, some file systems).
  std::string name = dir + "/qmail-remote-XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0)
    return Error{"cannot create a temporary file in " + dir + ": " + std::strerror(errno)};
  ::unlink(name.c_str());
  return Fd(fd);
}

}  // namespace

Result<MessageSource> MessageSource::from_fd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return os_error("fstat");
  MessageSource m;
  FactsScan scan;
  if (S_ISREG(st.st_mode)) {
    off_t off = ::lseek(fd, 0, SEEK_CUR);
    off = std::clamp<off_t>(off, 0, st.st_size);
    m.fd_ = fd;
    m.start_ = static_cast<uint64_t>(off);
    uint64_t size = static_cast<uint64_t>(st.st_size - off);
    std::unique_ptr<char[]> buf(new char[window_for(size)]);
    // Read ahead generously; the pages stay in the page cache for the
    // body (and for the other deliveries of the same queue file).
    (void)::posix_fadvise(fd, off, 0, POSIX_FADV_SEQUENTIAL);
    for (uint64_t at = 0; at < size;) {
      auto n = pread_full(fd, buf.get(), std::min<uint64_t>(kWindow, size - at), m.start_ + at);
      if (!n) return n.failure();
      if (*n == 0) break;  // shrank meanwhile: the facts are of what is there
      scan.add(buf.get(), *n);
      at += *n;
    }
    m.facts_ = scan.facts();
    return m;
  }
  auto spool = spool_file();
  if (!spool) return spool.failure();
  std::unique_ptr<char[]> buf(new char[kWindow]);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kWindow);
    if (n > 0) {
      scan.add(buf.get(), static_cast<size_t>(n));
      if (auto st = write_full(spool->get(), buf.get(), static_cast<size_t>(n)); !st)
        return st.failure();
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      return os_error("read");
    }
  }
  m.spool_ = std::move(*spool);
  m.fd_ = m.spool_.get();
  m.facts_ = scan.facts();
  return m;
}

MessageSource MessageSource::from_bytes(std::string bytes) {
  MessageSource m;
  FactsScan scan;
  scan.add(bytes.data(), bytes.size());
  m.facts_ = scan.facts();
  m.bytes_ = std::move(bytes);
  return m;
}

Result<std::string_view> MessageSource::read(uint64_t off, size_t n, char* buf) const {
  if (off >= facts_.size) return std::string_view();
  n = static_cast<size_t>(std::min<uint64_t>(n, facts_.size - off));
  if (fd_ < 0) return std::string_view(bytes_).substr(off, n);
  auto got = pread_full(fd_, buf, n, start_ + off);
  if (!got) return got.failure();
  if (*got < n) return Error{"cannot read the message: the file has shrunk"};
  return std::string_view(buf, n);
}

bool has_8bit(std::string_view bytes) {
  // OR whole blocks together so the compiler can vectorise; stop early per
  // block only.
  constexpr size_t kBlock = 4096;
  for (size_t i = 0; i < bytes.size(); i += kBlock) {
    size_t end = std::min(bytes.size(), i + kBlock);
    unsigned char acc = 0;
    for (size_t j = i; j < end; ++j) acc |= static_cast<unsigned char>(bytes[j]);
    if (acc & 0x80) return true;
  }
  return false;
}

void BodyEncoder::append(std::string& out, size_t max) {
  if (max < 1) max = 1;
  const char* base = in_.data();
  const size_t size = in_.size();
  // A CR ended the last window: an LF opening this one is its partner.
  if (skip_lf_ && pos_ < size) {
    if (base[pos_] == '\n') ++pos_;
    skip_lf_ = false;
  }
  while (pos_ < size && out.size() < max) {
    // SPEC §6 / RFC 5321 §4.5.2: a line starting with '.' gets another '.'.
    if (line_start_ && base[pos_] == '.') {
      out += '.';
      line_start_ = false;
      continue;
    }
    // The input span is what still fits in `out`; a line end is looked for
    // within it, LF with memchr first, then CR only before that LF, so every
    // byte is scanned about twice whatever the line lengths.
    size_t limit = std::min(size, pos_ + (max - out.size()));
    const char* from = base + pos_;
    size_t span = limit - pos_;
    auto* lf = static_cast<const char*>(std::memchr(from, '\n', span));
    size_t run = lf ? static_cast<size_t>(lf - from) : span;
    if (auto* cr = static_cast<const char*>(std::memchr(from, '\r', run))) {
      run = static_cast<size_t>(cr - from);
    }
    out.append(from, run);
    pos_ += run;
    if (pos_ == limit) {
      // No line end inside the span: the line goes on in the next piece.
      if (run > 0) line_start_ = false;
      continue;
    }
    // A line end: LF, CRLF or a lone CR, each one CRLF. The CR's partner is
    // looked for in the whole window, not the span, and across the window's
    // end, so a CR that ends one piece and an LF that starts the next stay
    // one line end.
    bool cr = base[pos_] == '\r';
    ++pos_;
    if (cr) {
      if (pos_ == size) {
        skip_lf_ = true;
      } else if (base[pos_] == '\n') {
        ++pos_;
      }
    }
    out += "\r\n";
    line_start_ = true;
  }
}

bool BodyEncoder::next(std::string& out, size_t max) {
  out.clear();
  if (window_done()) return false;
  // The output is at most twice what is left (a lone CR becomes CRLF, a dot
  // line start doubles), plus a CRLF: no 1 MiB buffer for a short message.
  out.reserve(std::min(std::max<size_t>(max, 1), 2 * (in_.size() - pos_)) + 3);
  append(out, max);
  return !out.empty();
}

std::string BodyEncoder::encode(std::string_view message) {
  std::string all, piece;
  all.reserve(message.size() + message.size() / 32 + 16);
  BodyEncoder enc(message);
  while (enc.next(piece, 1 << 20)) all += piece;
  return all;
}

BodyStream::BodyStream(const MessageSource& m) : m_(m) {}

Result<bool> BodyStream::next(std::string& out, size_t max) {
  out.clear();
  if (max < 1) max = 1;
  while (out.size() < max) {
    if (enc_.window_done()) {
      if (off_ >= m_.facts().size) break;
      size_t window = window_for(m_.facts().size);
      if (!buf_) buf_.reset(new char[window]);
      auto w = m_.read(off_, window, buf_.get());
      if (!w) return w.failure();
      off_ += w->size();
      enc_.feed(*w);
    }
    enc_.append(out, max);
  }
  return !out.empty();
}

}  // namespace qr
