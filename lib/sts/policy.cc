#include "lib/sts/policy.h"

#include "lib/text.h"

namespace qr::sts {

namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view strip_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

// RFC 8461 §3.2's mx pattern: a host name, optionally "*." first; letters,
// digits, '-' and '.', no empty label.
bool is_mx_pattern(std::string_view p) {
  if (p.substr(0, 2) == "*.") p.remove_prefix(2);
  p = strip_dot(p);
  if (p.empty() || p.size() > 253) return false;
  for (std::string_view label : split(p, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

Result<std::string> txt_id(const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  for (const std::string& r : records) {
    // §3.1: "v=STSv1" must be the record's first field, exactly so.
    std::string_view v(r);
    if (v.substr(0, 7) != "v=STSv1" || (v.size() > 7 && v[7] != ';' && !is_wsp(v[7]))) continue;
    if (found) return Error{"more than one v=STSv1 TXT record"};
    found = &r;
  }
  if (!found) return Error{"no v=STSv1 TXT record"};
  std::optional<std::string> id;
  bool first = true;
  for (std::string_view field : split(*found, ';')) {
    field = trim_wsp(field);
    if (first) {
      first = false;
      continue;  // v=STSv1, checked above
    }
    if (field.empty()) continue;  // the record may end with ';'
    size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return Error{"TXT field " + quoted(field) + " is not key=value"};
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    // §3.1: id is 1 to 32 letters and digits; other keys are extensions.
    if (key == "id" && !id) {
      if (value.empty() || value.size() > 32)
        return Error{"TXT id " + quoted(value) + " is not 1 to 32 letters and digits"};
      for (char c : value)
        if (!is_alnum(c))
          return Error{"TXT id " + quoted(value) + " is not 1 to 32 letters and digits"};
      id = std::string(value);
    }
  }
  if (!id) return Error{"v=STSv1 TXT record without id="};
  return *id;
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Enforce:
      return "enforce";
    case Mode::Testing:
      return "testing";
    case Mode::None:
      return "none";
  }
  return "none";
}

Result<Policy> parse_policy(std::string_view text) {
  if (text.size() > kMaxPolicyBytes) return Error{"policy larger than 64 KiB"};
  Policy p;
  bool have_version = false, have_mode = false, have_age = false;
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim_wsp(line).empty()) continue;
    const std::string where = "policy line " + std::to_string(number) + ": ";
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Error{where + quoted(line.substr(0, 80)) + " is not key: value"};
    std::string_view key = line.substr(0, colon);
    std::string_view value = trim_wsp(line.substr(colon + 1));
    for (char c : key)
      if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
        return Error{where + "bad key " + quoted(key.substr(0, 80))};
    if (key == "version" && !have_version) {
      if (value != "STSv1") return Error{where + "version " + quoted(value) + " is not STSv1"};
      have_version = true;
    } else if (key == "mode" && !have_mode) {
      if (value == "enforce")
        p.mode = Mode::Enforce;
      else if (value == "testing")
        p.mode = Mode::Testing;
      else if (value == "none")
        p.mode = Mode::None;
      else
        return Error{where + "mode " + quoted(value) + " is not enforce, testing or none"};
      have_mode = true;
    } else if (key == "max_age" && !have_age) {
      // §3.2: 1*10DIGIT; values over kMaxAge are cut to it.
      if (value.empty() || value.size() > 10)
        return Error{where + "max_age " + quoted(value) + " is not 1 to 10 digits"};
      uint64_t age = 0;
      for (char c : value) {
        if (c < '0' || c > '9')
          return Error{where + "max_age " + quoted(value) + " is not 1 to 10 digits"};
        age = age * 10 + uint64_t(c - '0');
      }
      p.max_age = uint32_t(age > kMaxAge ? kMaxAge : age);
      have_age = true;
    } else if (key == "mx") {
      if (!is_mx_pattern(value))
        return Error{where + "mx " + quoted(value) + " is not a host name pattern"};
      p.mx.push_back(to_lower(strip_dot(value)));
    }
  }
  if (!have_version) return Error{"policy has no version: STSv1"};
  if (!have_mode) return Error{"policy has no mode"};
  if (!have_age) return Error{"policy has no max_age"};
  if (p.mode != Mode::None && p.mx.empty()) return Error{"policy has no mx:"};
  return p;
}

bool mx_matches(std::string_view pattern, std::string_view host) {
  pattern = strip_dot(pattern);
  host = strip_dot(host);
  if (pattern.substr(0, 2) == "*.") {
    // §4.1: the wildcard stands for exactly one label, the leftmost.
    size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return iequals(host.substr(dot + 1), pattern.substr(2));
  }
  return iequals(host, pattern);
}

bool mx_allowed(const Policy& p, std::string_view host) {
  for (const std::string& pattern : p.mx)
    if (mx_matches(pattern, host)) return true;
  return false;
}

}  // namespace qr::sts
