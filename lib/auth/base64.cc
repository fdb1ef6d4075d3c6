#include "lib/auth/base64.h"

#include <cstdint>

namespace qr {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of an alphabet character, or -1.
int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 |
                 uint8_t(data[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(data[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error{"base64 length is not a multiple of 4"};
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  const size_t data_chars = text.size() - pad;
  uint32_t acc = 0;
  for (size_t i = 0; i < data_chars; ++i) {
    int s = sextet(text[i]);
    if (s < 0) {
      return Error{text[i] == '=' ? "base64 padding in the middle" : "invalid character in base64"};
    }
    acc = acc << 6 | uint32_t(s);
    if (i % 4 == 3) {
      out += char(acc >> 16);
      out += char(acc >> 8);
      out += char(acc);
      acc = 0;
    }
  }
  // The last quantum: 2 characters carry 1 byte (4 spare bits), 3 carry 2
  // bytes (2 spare bits). Spare bits set means a non-canonical encoding.
  if (pad == 2) {
    if (acc & 0xF) return Error{"base64 padding bits are not zero"};
    out += char(acc >> 4);
  } else if (pad == 1) {
    if (acc & 0x3) return Error{"base64 padding bits are not zero"};
    out += char(acc >> 10);
    out += char(acc >> 2);
  }
  return out;
}

}  // namespace qr
