#include "lib/report.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace qr {

std::string sanitize(std::string_view text) {
  std::string s;
  s.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\r') continue;
    if (c == '\n' || (c >= 32 && c < 127))
      s.push_back(static_cast<char>(c));
    else
      s.push_back('?');
  }
  return s;
}

std::string remote_said(std::string_view reply_text, bool truncated) {
  if (reply_text.size() > kMaxReplyText) {
    reply_text = reply_text.substr(0, kMaxReplyText);
    truncated = true;
  }
  std::string s = "Remote host said: ";
  s.append(reply_text);
  if (truncated) s.append("...");
  if (s.back() != '\n') s.push_back('\n');
  return s;
}

void Report::recipient(RcptLetter letter, std::string_view text) {
  if (finished_) return;
  out_.push_back(letter_char(letter));
  out_.append(secrets_.redact(sanitize(text)));
  out_.push_back('\0');
}

void Report::message(Letter letter, std::string_view text) {
  if (finished_) return;
  finished_ = true;
  out_.push_back(letter_char(letter));
  out_.append(secrets_.redact(sanitize(text)));
  out_.push_back('\0');
  // One write of everything; a short write or EINTR is continued. Nothing else
  // can be done if qmail-rspawn has gone away.
  const char* p = out_.data();
  size_t left = out_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

namespace texts {

std::string accepted(std::string_view host) {
  return std::string(host) + " accepted message.\n";
}
std::string sender_rejected(std::string_view host) {
  return "Connected to " + std::string(host) + " but sender was rejected.\n";
}
std::string recipient_rejected(std::string_view host) {
  return std::string(host) + " does not like recipient.\n";
}
std::string giving_up(std::string_view host) {
  return "Giving up on " + std::string(host) + ".\n";
}
std::string data_failed(std::string_view host) {
  return std::string(host) + " failed on DATA command.\n";
}
std::string message_failed(std::string_view host) {
  return std::string(host) + " failed after I sent the message.\n";
}
std::string connection_died(std::string_view host) {
  return "Connected to " + std::string(host) +
         " but connection died. Possible duplicate! (#4.4.2)\n";
}
std::string too_big(std::string_view host, size_t size, uint64_t limit) {
  return "Connected to " + std::string(host) + " but the message is " + std::to_string(size) +
         " bytes and the server takes at most " + std::to_string(limit) + ". (#5.3.4)\n";
}
std::string no_such_domain(std::string_view domain) {
  return "Sorry, I couldn't find any host named " + std::string(domain) + ". (#5.1.2)\n";
}
std::string tls_config(std::string_view what) {
  return "TLS cannot be set up here: " + std::string(what) + ". (#4.3.0)\n";
}
std::string null_mx(std::string_view domain) {
  return std::string(domain) + " does not accept mail (null MX). (#5.1.10)\n";
}

std::string_view dns_text(DnsVerdict::Kind kind) {
  switch (kind) {
    case DnsVerdict::Kind::TempFail:
      return kDnsTemp;
    case DnsVerdict::Kind::SelfMx:
      return kSelfMx;
    case DnsVerdict::Kind::NoMailExchanger:
      return kNoMailExchanger;
    case DnsVerdict::Kind::NoAddress:
      return kNoHost;
    case DnsVerdict::Kind::NoSuchDomain:
    case DnsVerdict::Kind::NullMx:
      break;  // they name the domain: no_such_domain(), null_mx()
  }
  return "";
}

}  // namespace texts

namespace {

const AttemptLine& line_of(const Failure& f) {
  return std::visit([](const auto& x) -> const AttemptLine& { return x.line; }, f);
}

// One attempt, one line: "WHERE[ from LOCAL]: WHY", the cap applied before
// our local IP goes in, a multi-line server reply folded.
std::string format_line(const AttemptLine& a, bool with_from) {
  std::string line = a.where + ": " + a.why;
  if (line.size() > kMaxAttemptLine) {
    line.resize(kMaxAttemptLine);
    line += "...";
  }
  for (char& c : line)
    if (c == '\n') c = ' ';
  if (with_from) line.insert(std::min(a.where.size(), line.size()), a.from);
  return line;
}

}  // namespace

std::string attempt_list(const std::vector<Failure>& failures, Letter letter) {
  std::string list;
  for (const Failure& f : failures) {
    std::string line = format_line(line_of(f), letter != Letter::D);
    if (list.size() + line.size() + 1 > kMaxAttemptText) {
      list += "...\n";
      break;
    }
    list += line + "\n";
  }
  return list;
}

std::string failed_before(const std::vector<Failure>& failures, Letter letter) {
  if (letter == Letter::D || failures.empty()) return "";
  return "Failed before this attempt:\n" + attempt_list(failures, letter);
}

std::string route_line(Letter letter, const RouteLine& l) {
  // SPEC §10: a D report is mailed to the sender; the route's name, our
  // local IP and the AUTH mechanism are the administrator's business.
  if (letter == Letter::D) return "remote=" + l.remote + " tls=" + l.tls + "\n";
  return "route=" + l.route + " local=" + l.local + " remote=" + l.remote + " tls=" + l.tls +
         " auth=" + l.auth + (l.mark.empty() ? "" : " " + l.mark) + "\n";
}

namespace {

// What a report about the whole run ends with: the route's name, except in
// a D report (SPEC §10: it is mailed to the sender).
std::string route_name_line(Letter letter, std::string_view route) {
  return letter == Letter::D ? "" : "route=" + std::string(route) + "\n";
}

}  // namespace

Verdict dns_verdict(const DnsVerdict& v, std::string_view domain, std::string_view route) {
  Verdict out;
  switch (v.kind) {
    case DnsVerdict::Kind::NoSuchDomain:
      out = {Letter::D, texts::no_such_domain(domain)};
      break;
    case DnsVerdict::Kind::NullMx:
      out = {Letter::D, texts::null_mx(domain)};
      break;
    case DnsVerdict::Kind::SelfMx:
    case DnsVerdict::Kind::NoMailExchanger:
      out = {Letter::D, std::string(texts::dns_text(v.kind))};
      break;
    case DnsVerdict::Kind::TempFail:
      out = {Letter::Z, std::string(texts::dns_text(v.kind)) + v.detail + "\n"};
      break;
    case DnsVerdict::Kind::NoAddress:
      out = {Letter::Z,
             std::string(texts::dns_text(v.kind)) + "No address for: " + v.detail + "\n"};
      break;
  }
  out.text += route_name_line(out.letter, route);
  return out;
}

Verdict give_up(const std::vector<Failure>& failures, std::string_view route) {
  // SPEC §7: a D only when every host was reached and none can take this
  // envelope. One host not reached (its DNS failed for now, its connect
  // timed out) may offer SMTPUTF8 tomorrow.
  const bool all_lack_smtputf8 =
      !failures.empty() && std::all_of(failures.begin(), failures.end(), [](const Failure& f) {
        const Refused* r = std::get_if<Refused>(&f);
        return r != nullptr && r->reason == Refusal::NoSmtpUtf8;
      });
  Verdict v;
  v.letter = all_lack_smtputf8 ? Letter::D : Letter::Z;
  v.text = std::string(all_lack_smtputf8 ? texts::kNoSmtpUtf8 : texts::kNoConnection) +
           attempt_list(failures, v.letter) + route_name_line(v.letter, route);
  return v;
}

}  // namespace qr
