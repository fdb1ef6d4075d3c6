#include "lib/smtp/capabilities.h"

#include <algorithm>
#include <cctype>

namespace qr {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// RFC 1870 §4: "SIZE" [SP number], at most 20 digits; 0 means no fixed limit.
uint64_t parse_size(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return 0;
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return 0;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return 0;
    n = n * 10 + d;
  }
  return n;
}

void add_auth(Capabilities& caps, std::string_view mechanism) {
  std::string m = upper(mechanism);
  if (!m.empty() && !caps.has_auth(m)) caps.auth.push_back(std::move(m));
}

}  // namespace

bool Capabilities::has_auth(std::string_view mechanism) const {
  std::string m = upper(mechanism);
  return std::find(auth.begin(), auth.end(), m) != auth.end();
}

Capabilities Capabilities::from_ehlo(const Reply& reply) {
  Capabilities caps;
  std::string_view text = reply.text;
  // The reply text was cut at kMaxText: its last line may be a fragment
  // ("250 SIZE 12" of "250 SIZE 12345"), so it is not trusted.
  if (text.size() >= ReplyParser::kMaxText) {
    size_t lf = text.rfind('\n');
    text = text.substr(0, lf == std::string_view::npos ? 0 : lf);
  }
  // RFC 5321 §4.1.1.1: the first line is the server's domain and greeting;
  // each following line is one ehlo-keyword with its parameters.
  size_t start = text.find('\n');
  while (start != std::string_view::npos) {
    size_t end = text.find('\n', start + 1);
    std::string_view line = text.substr(
        start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
    start = end;
    if (line.size() < 4) continue;
    auto w = words(line.substr(4));
    if (w.empty()) continue;
    std::string key = upper(w[0]);
    if (key == "PIPELINING") {
      caps.pipelining = true;
    } else if (key == "STARTTLS") {
      caps.starttls = true;
    } else if (key == "8BITMIME") {
      caps.eightbitmime = true;
    } else if (key == "SMTPUTF8") {
      caps.smtputf8 = true;
    } else if (key == "SIZE") {
      caps.size = true;
      caps.size_limit = w.size() > 1 ? parse_size(w[1]) : 0;
    } else if (key == "AUTH" || key.starts_with("AUTH=")) {
      // "AUTH=LOGIN PLAIN" is the pre-RFC 2554 form some servers still send.
      if (key.size() > 5) add_auth(caps, w[0].substr(5));
      for (size_t i = 1; i < w.size(); ++i) add_auth(caps, w[i]);
    }
  }
  return caps;
}

}  // namespace qr
