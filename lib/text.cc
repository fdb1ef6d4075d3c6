#include "lib/text.h"

#include <limits>

namespace qr {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

static char lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower_char(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  return true;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool is_host_name(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!is_host_char(c)) return false;
  return true;
}

// Digits only: "+25", " 25" and "25x" are refused rather than half-read the
// way vanilla's scan_ulong would.
static std::optional<unsigned long> parse_digits(std::string_view text, unsigned long max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + unsigned(c - '0');
  }
  if (n > max) return std::nullopt;
  return n;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  auto n = parse_digits(text, 65535);
  if (!n || *n == 0) return std::nullopt;
  return uint16_t(*n);
}

Result<HostPort> split_host_port(std::string_view text) {
  HostPort hp{text, {}, false};
  std::string_view after;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Error{"unclosed bracket " + quoted(text)};
    hp.host = text.substr(1, close - 1);
    hp.bracketed = true;
    after = text.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return Error{"expected ':PORT' after ']' in " + quoted(text)};
  } else if (size_t colon = text.find(':'); colon != std::string_view::npos &&
                                            text.find(':', colon + 1) == std::string_view::npos) {
    hp.host = text.substr(0, colon);
    after = text.substr(colon);
  }
  if (!after.empty()) {
    hp.port = after.substr(1);
    if (hp.port.empty()) return Error{"bad port ''"};
  }
  return hp;
}

std::optional<unsigned> parse_positive(std::string_view text) {
  auto n = parse_digits(text, std::numeric_limits<unsigned>::max());
  if (!n || *n == 0) return std::nullopt;
  return unsigned(*n);
}

std::string byte_hex(unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  return std::string("0x") + hex[c >> 4] + hex[c & 15];
}

std::string quoted(std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "'";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "'";
}

size_t utf8_sequence(std::string_view text) {
  if (text.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char c = b(0);
  size_t len;
  uint32_t cp, min;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;  // ASCII, a continuation byte, 0xc0/0xc1 (overlong) or 0xf5..0xff
  }
  if (text.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  if (cp <= 0x9f) return 0;  // C1 controls
  return len;
}

}  // namespace qr
