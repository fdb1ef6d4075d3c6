#include "lib/smtp/address.h"

namespace qr {

namespace {

// RFC 5322 §3.2.3 atext, plus RFC 6531 §3.3's UTF-8 (any byte >= 0x80: a
// CR, LF or NUL never gets here, SPEC §6 refuses them first).
bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

}  // namespace

bool local_part_needs_quotes(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return true;
  if (local.find("..") != std::string_view::npos) return true;
  for (unsigned char c : local) {
    if (c != '.' && !is_atext(c)) return true;
  }
  return false;
}

std::string quote_local_part(std::string_view local) {
  std::string q;
  q.reserve(local.size() + 2);
  q += '"';
  for (char c : local) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  q += '"';
  return q;
}

std::string smtp_path(std::string_view address) {
  if (address.empty()) return std::string();  // the null sender: MAIL FROM:<>
  size_t at = address.rfind('@');
  std::string_view local = address.substr(0, at);  // all of it when there is no '@'
  std::string path = local_part_needs_quotes(local) ? quote_local_part(local) : std::string(local);
  if (at != std::string_view::npos) path.append(address.substr(at));
  return path;
}

bool sendable_domain(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return true;  // no domain: all local part
  for (unsigned char c : address.substr(at + 1)) {
    if (c <= ' ' || c == 0x7f) return false;
    if (std::string_view("<>\"\\,;()").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  }
  return true;
}

}  // namespace qr
