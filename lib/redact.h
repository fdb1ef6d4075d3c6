// The secrets of one run, and the one filter every report text passes
// (SPEC §1): no password, no base64 we sent during AUTH, in any letter case,
// split by CRs, inside a protocol-error excerpt, or echoed by the server in
// any later reply.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace qr {

class Secrets {
 public:
  // Remembers one secret: the route's password, or a line of an AUTH
  // exchange as sent (a base64 token). Empty strings are ignored.
  void add(std::string_view secret);
  bool empty() const { return forms_.empty(); }

  // `text` as the report will carry it (after sanitize(): printable ASCII
  // and LF), with every line that carries a secret in any of its forms
  // replaced: the part before the secret is kept up to its last ": ", then
  // the reply code when one follows, then kWithheld. So "Remote host said:
  // 553 5.7.1 bad password S3cr3t" becomes "Remote host said: 553 [withheld
  // ...]": a reply that may carry a secret is reported by its code only.
  std::string redact(std::string_view text) const;

  static constexpr std::string_view kWithheld = "[withheld: it may repeat the credentials]";

 private:
  struct Form {
    std::string lower;     // sanitised, lower case: found anywhere as it is
    std::string squeezed;  // only its letters and digits, lower case
  };
  std::vector<Form> forms_;
};

// Letters and digits of `text`, in lower case: the form in which a secret is
// still recognised when a server (or a cut) has put CRs, line breaks, quotes
// or other punctuation into it.
std::string squeeze(std::string_view text);

}  // namespace qr
