// load_control: every control file of SPEC §3, read once.
// Choices: an empty helohost (or me) counts as missing; an empty timeout file
// is "not a number"; an empty defaultoutgoingip means the kernel's choice and
// does not fall back to outgoingip (the administrator wrote the file). Only
// the file that gives the HELO name is checked for bytes that do not belong
// in it: `me` is not read when helohost is set.
#include "lib/control/control.h"

#include "lib/text.h"

namespace qr {

namespace {

// SPEC §3: the name goes on the wire after EHLO; a space, CR, LF, NUL or
// other control byte there would end the command early or add another one
// ("a.example\rRSET"). Printable ASCII and bytes >= 0x80 pass: what a name
// may be is the server's to judge.
Status check_helo_name(std::string_view name, const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c == 0x7f)
      return control_error(name, 1,
                           "contains a space or control character (byte " + byte_hex(c) +
                               " at position " + std::to_string(i + 1) + ")");
  }
  return success();
}

Status read_timeout(const std::string& dir, std::string_view name, unsigned& out) {
  auto value = read_control_value(dir, name);
  if (!value) return value.failure();
  if (!*value) return success();  // missing: the default stays
  auto n = parse_positive(**value);
  if (!n) return control_error(name, 1, "not a number of seconds");
  out = *n;
  return success();
}

// Reads and parses a list file; a missing file is an empty list.
template <class T, class Parse>
Status load_list(const std::string& dir, std::string_view name, std::vector<T>& out, Parse parse) {
  auto lines = read_control_lines(dir, name);
  if (!lines) return lines.failure();
  if (!*lines) return success();
  auto parsed = parse(**lines);
  if (!parsed) return parsed.failure();
  out = std::move(*parsed);
  return success();
}

}  // namespace

Result<Control> load_control(const std::string& dir) {
  Control c;

  for (const char* name : {"helohost", "me"}) {
    auto v = read_control_value(dir, name);
    if (!v) return v.failure();
    if (*v && !(*v)->empty()) {
      if (auto st = check_helo_name(name, **v); !st) return st.failure();
      c.helohost = **v;
      break;
    }
  }
  if (c.helohost.empty()) return Error{"control/me and control/helohost are both missing"};

  if (auto st = read_timeout(dir, "timeoutconnect", c.timeoutconnect); !st) return st.failure();
  if (auto st = read_timeout(dir, "timeoutremote", c.timeoutremote); !st) return st.failure();

  // SPEC §3: defaultoutgoingip, else the outgoingip patch's file.
  for (const char* name : {"defaultoutgoingip", "outgoingip"}) {
    auto v = read_control_value(dir, name);
    if (!v) return v.failure();
    if (!*v) continue;
    auto ips = parse_local_ips(**v);
    if (!ips) return control_error(name, 1, ips.error());
    c.default_ips = std::move(*ips);
    break;
  }

  if (auto st = load_list(dir, "smtproutes", c.smtproutes, parse_smtproutes); !st)
    return st.failure();
  if (auto st = load_list(dir, "routes", c.routes, parse_routes); !st) return st.failure();
  auto parse_map = [&](const std::vector<ControlLine>& lines) {
    return parse_routemap(lines, c.routes);  // ROUTE names must exist (SPEC §3.2)
  };
  if (auto st = load_list(dir, "routemap", c.routemap, parse_map); !st) return st.failure();

  auto tls = load_tls_files(dir);
  if (!tls) return tls.failure();
  c.tls = std::move(*tls);

  // Parsed only when it exists: no anchors, no DNSSEC work (SPEC §13).
  auto anchors = read_control_file(dir, "dnssec-anchors");
  if (!anchors) return Error{anchors.error()};
  if (*anchors) {
    auto parsed = parse_dnssec_anchors(**anchors, "control/dnssec-anchors");
    if (!parsed) return Error{parsed.error()};
    c.anchors = std::move(*parsed);
  }

  return c;
}

}  // namespace qr
