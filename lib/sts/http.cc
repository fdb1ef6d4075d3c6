#include "lib/sts/http.h"

#include "lib/text.h"
#include "lib/sts/policy.h"

namespace qr::sts {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The next line of `rest` (without CRLF or LF), or nullopt when no line end
// is left.
std::optional<std::string_view> next_line(std::string_view* rest) {
  size_t lf = rest->find('\n');
  if (lf == std::string_view::npos) return std::nullopt;
  std::string_view line = rest->substr(0, lf);
  rest->remove_prefix(lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// A decimal or hex number that fits `limit`; nullopt otherwise.
std::optional<size_t> parse_number(std::string_view s, int base, size_t limit) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  size_t n = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    n = n * size_t(base) + size_t(d);
    if (n > limit) return std::nullopt;
  }
  return n;
}

// RFC 9112 §7.1: chunks of "SIZE[;ext]" CRLF data CRLF, ended by a 0 chunk.
Result<std::string> dechunk(std::string_view rest) {
  std::string body;
  for (;;) {
    auto line = next_line(&rest);
    if (!line) return Error{"chunked body cut short"};
    std::string_view size_text = trim(line->substr(0, line->find(';')));
    auto size = parse_number(size_text, 16, kMaxPolicyBytes);
    if (!size) return Error{"bad or too large chunk size " + quoted(size_text.substr(0, 20))};
    if (*size == 0) return body;
    if (body.size() + *size > kMaxPolicyBytes) return Error{"body larger than 64 KiB"};
    if (rest.size() < *size + 2) return Error{"chunked body cut short"};
    body.append(rest.substr(0, *size));
    rest.remove_prefix(*size);
    if (rest.substr(0, 2) == "\r\n")
      rest.remove_prefix(2);
    else if (rest.substr(0, 1) == "\n")
      rest.remove_prefix(1);
    else
      return Error{"chunk not followed by CRLF"};
  }
}

}  // namespace

std::string http_request(std::string_view host, std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: " + std::string(host) +
         "\r\nUser-Agent: qmail-remote (MTA-STS)\r\nAccept: text/plain\r\nConnection: "
         "close\r\n\r\n";
}

Result<std::string> http_body(std::string_view raw, bool* delimited) {
  if (delimited) *delimited = false;
  std::string_view rest = raw;
  auto status = next_line(&rest);
  if (!status) return Error{"no HTTP status line"};
  // "HTTP/1.1 200 OK"
  if (status->substr(0, 5) != "HTTP/" || status->size() < 12 || (*status)[8] != ' ')
    return Error{"not an HTTP response: " + quoted(status->substr(0, 40))};
  std::string_view code = status->substr(9, 3);
  if (code != "200")
    return Error{"HTTP status " + quoted(code) +
                 (code[0] == '3' ? " (redirects are not followed)" : "")};
  std::optional<size_t> length;
  bool chunked = false, text_plain = false, have_type = false;
  for (;;) {
    auto line = next_line(&rest);
    if (!line) return Error{"HTTP headers cut short"};
    if (line->empty()) break;
    size_t colon = line->find(':');
    if (colon == std::string_view::npos)
      return Error{"bad HTTP header " + quoted(line->substr(0, 40))};
    std::string name = to_lower(trim(line->substr(0, colon)));
    std::string_view value = trim(line->substr(colon + 1));
    if (name == "content-length") {
      length = parse_number(value, 10, kMaxResponseBytes);
      if (!length)
        return Error{"Content-Length " + quoted(value.substr(0, 20)) + " is bad or over 64 KiB"};
    } else if (name == "transfer-encoding") {
      if (!iequals(value, "chunked"))
        return Error{"Transfer-Encoding " + quoted(value.substr(0, 40))};
      chunked = true;
    } else if (name == "content-type") {
      // RFC 8461 §3.3: "text/plain", parameters (a charset) allowed.
      have_type = true;
      text_plain = iequals(trim(value.substr(0, value.find(';'))), "text/plain");
      if (!text_plain)
        return Error{"Content-Type " + quoted(value.substr(0, 40)) + ", not text/plain"};
    }
  }
  if (!have_type) return Error{"no Content-Type (text/plain required)"};
  if (chunked) {
    auto body = dechunk(rest);
    if (body && delimited) *delimited = true;
    return body;
  }
  if (length) {
    if (*length > kMaxPolicyBytes) return Error{"body larger than 64 KiB"};
    if (rest.size() < *length) return Error{"body shorter than its Content-Length"};
    if (delimited) *delimited = true;
    return std::string(rest.substr(0, *length));
  }
  if (rest.size() > kMaxPolicyBytes) return Error{"body larger than 64 KiB"};
  return std::string(rest);
}

}  // namespace qr::sts
