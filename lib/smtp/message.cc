#include "lib/smtp/message.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace qr {

namespace {

Error read_error(const char* what) {
  return Error{std::string("cannot read the message: ") + what + ": " + std::strerror(errno)};
}

}  // namespace

Result<MessageSource> MessageSource::from_fd(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return read_error("fstat");
  MessageSource m;
  if (S_ISREG(st.st_mode)) {
    off_t off = ::lseek(fd, 0, SEEK_CUR);
    off = std::clamp<off_t>(off, 0, st.st_size);
    size_t len = static_cast<size_t>(st.st_size);
    // An empty file cannot be mapped (mmap of length 0 is EINVAL): the empty
    // view is the empty message, sent as an empty body (SPEC §4).
    if (len == 0) return m;
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      m.map_base_ = p;
      m.map_len_ = len;
      m.mapped_ = true;
      m.data_ = static_cast<const char*>(p) + off;
      m.size_ = len - static_cast<size_t>(off);
      return m;
    }
    // Not mappable (an odd file system): read it like a pipe.
  }
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      m.owned_.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      return read_error("read");
    }
  }
  m.data_ = m.owned_.data();
  m.size_ = m.owned_.size();
  return m;
}

MessageSource::MessageSource(MessageSource&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, false)),
      map_base_(std::exchange(o.map_base_, nullptr)),
      map_len_(std::exchange(o.map_len_, 0)),
      owned_(std::move(o.owned_)) {
  // A short string lives inside the object: the view must follow the move.
  if (!mapped_ && data_) data_ = owned_.data();
}

MessageSource::~MessageSource() {
  if (mapped_) ::munmap(map_base_, map_len_);
}

bool has_partial_last_line(std::string_view message) {
  return !message.empty() && message.back() != '\n';
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

bool BodyEncoder::next(std::string& out, size_t max) {
  out.clear();
  if (pos_ >= in_.size()) return false;
  if (max < 1) max = 1;
  // The output is at most twice what is left (a lone CR becomes CRLF, a dot
  // line start doubles), plus a CRLF: no 1 MiB buffer for a short message.
  out.reserve(std::min(max, 2 * (in_.size() - pos_)) + 3);
  const char* base = in_.data();
  const size_t size = in_.size();
  while (pos_ < size && out.size() < max) {
    // SPEC §6 / RFC 5321 §4.5.2: a line starting with '.' gets another '.'.
    if (line_start_ && base[pos_] == '.') {
      out += '.';
      line_start_ = false;
      continue;
    }
    // The input window is what still fits in `out`; a line end is looked for
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
      // No line end inside the window: the line goes on in the next piece.
      if (run > 0) line_start_ = false;
      continue;
    }
    // A line end: LF, CRLF or a lone CR, each one CRLF. The CR's partner is
    // looked for in the whole input, not the window, so a CR that ends one
    // piece and an LF that starts the next stay one line end.
    if (base[pos_] == '\r' && pos_ + 1 < size && base[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    out += "\r\n";
    line_start_ = true;
  }
  return true;
}

std::string BodyEncoder::encode(std::string_view message) {
  std::string all, piece;
  all.reserve(message.size() + message.size() / 32 + 16);
  BodyEncoder enc(message);
  while (enc.next(piece, 1 << 20)) all += piece;
  return all;
}

}  // namespace qr
