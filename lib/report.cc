#include "lib/report.h"

#include <unistd.h>

#include <cerrno>

#include "lib/smtp/reply.h"

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
  if (reply_text.size() > ReplyParser::kMaxText) {
    reply_text = reply_text.substr(0, ReplyParser::kMaxText);
    truncated = true;
  }
  std::string s = "Remote host said: ";
  s.append(reply_text);
  if (truncated) s.append("...");
  if (s.back() != '\n') s.push_back('\n');
  return s;
}

void Report::recipient(char letter, std::string_view text) {
  if (finished_) return;
  out_.push_back(letter);
  out_.append(secrets_.redact(sanitize(text)));
  out_.push_back('\0');
}

void Report::message(char letter, std::string_view text) {
  if (finished_) return;
  finished_ = true;
  out_.push_back(letter);
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

}  // namespace texts

}  // namespace qr
