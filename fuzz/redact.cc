// The report's secret filter (SPEC §1). The input gives a password and a
// server text; the password's AUTH PLAIN token and the password itself are
// put into that text in one of the forms issue 11 found (as sent, another
// letter case, split by CRs, inside a protocol-error excerpt, split over
// two reply lines, cut short at a line end), and the text goes through
// sanitize() and Secrets::redact() as Report does. Property: no form of
// either secret is left, as written (any case) or as its letters and
// digits, in what the report would carry.
#include <algorithm>
#include <cctype>

#include "fuzz/fuzz_util.h"
#include "lib/auth/auth.h"
#include "lib/redact.h"
#include "lib/report.h"

using namespace qr;

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// The stretches of `out` between two withheld markers: the report's own
// words may look like a secret made of them, and are not a leak.
std::vector<std::string> between_markers(const std::string& out) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (;;) {
    size_t e = out.find(Secrets::kWithheld, b);
    parts.push_back(out.substr(b, (e == std::string::npos ? out.size() : e) - b));
    if (e == std::string::npos) return parts;
    b = e + Secrets::kWithheld.size();
  }
}

// Letters and digits of `seg`, in lower case, a reply code at the start of
// a line skipped as redact() skips it.
std::string squeeze_lines(std::string_view seg) {
  std::string sq;
  for (size_t i = 0; i < seg.size(); ++i) {
    bool start = i == 0 || seg[i - 1] == '\n';
    if (start && i + 4 <= seg.size() && std::isdigit(static_cast<unsigned char>(seg[i])) &&
        std::isdigit(static_cast<unsigned char>(seg[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(seg[i + 2])) &&
        (seg[i + 3] == '-' || seg[i + 3] == ' ')) {
      i += 3;
      continue;
    }
    if (std::isalnum(static_cast<unsigned char>(seg[i])))
      sq.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(seg[i]))));
  }
  return sq;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const unsigned form = data[0] % 7;
  const unsigned flips = data[1];
  auto [pass_in, text] = fuzz::split_nul(fuzz::as_text(data + 2, size - 2));
  // A routes password: no line break, no ';' (the field separator).
  std::string pass;
  for (char c : pass_in.substr(0, 64))
    if (c != '\n' && c != ';') pass.push_back(c);
  if (squeeze(sanitize(pass)).size() < 4) return 0;  // too short to be found reliably
  const std::string token = plain_initial_response("alice", pass);
  const std::string secret = (flips & 1) ? token : pass;

  std::string put;
  switch (form) {
    case 0:
      put = secret;
      break;
    case 1:  // another letter case
      put = secret;
      for (size_t i = 0; i < put.size(); ++i)
        if ((flips >> (i % 8)) & 2)
          put[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(put[i])));
      break;
    case 2:  // split by CRs
      for (char c : secret) put += std::string(1, c) + "\r";
      break;
    case 3:  // a protocol-error excerpt
      put = "protocol error: malformed reply line \"5x5 " + secret.substr(0, 100) + "\"";
      break;
    case 4: {  // over two reply lines
      size_t cut = 1 + flips % (secret.size() - 1);
      put = secret.substr(0, cut) + "\n535 " + secret.substr(cut);
      break;
    }
    case 5:  // cut short at a line end
      put = secret.substr(0, std::max<size_t>(8, secret.size() / 2)) + "...\n";
      break;
    default:
      put = secret + " " + secret;
      break;
  }
  const size_t at = text.empty() ? 0 : flips % (text.size() + 1);
  const std::string frame = "Remote host said: 535 " + std::string(text);
  std::string full = "Remote host said: 535 " + std::string(text.substr(0, at)) + put +
                     std::string(text.substr(at));

  Secrets secrets;
  secrets.add(pass);
  secrets.add(token);
  const std::string out = secrets.redact(sanitize(full));

  // What the text around it already held cannot be blamed on redact (what
  // the report keeps is contiguous text of the original): only forms that
  // `put` added are checked.
  const std::string sq_secret = squeeze(sanitize(secret));
  std::string whole_clean = squeeze_lines(sanitize(frame));
  std::string want = form == 5 ? squeeze(sanitize(put)) : sq_secret;
  if (want.size() < 4 || whole_clean.find(want) != std::string::npos) return 0;
  // What a reader could put together again from what is left.
  for (const std::string& part : between_markers(out))
    FUZZ_CHECK(squeeze_lines(part).find(want) == std::string::npos);
  if (form != 4 && form != 5) {
    std::string l = lower(sanitize(secret));
    if (lower(sanitize(frame)).find(l) == std::string::npos)
      for (const std::string& part : between_markers(out))
        FUZZ_CHECK(lower(part).find(l) == std::string::npos);
  }
  return 0;
}
