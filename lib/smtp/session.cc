#include "lib/smtp/session.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "lib/report.h"
#include "lib/smtp/address.h"
#include "lib/smtp/capabilities.h"
#include "lib/smtp/message.h"
#include "lib/smtp/reply.h"
#include "lib/smtp/secure.h"

namespace qr {

bool envelope_needs_smtputf8(const Envelope& env) {
  if (has_8bit(env.sender)) return true;
  return std::any_of(env.recipients.begin(), env.recipients.end(),
                     [](const std::string& r) { return has_8bit(r); });
}

namespace {

// Body writes: large enough that a 10 MiB message is a few dozen writes.
constexpr size_t kBodyChunk = 1 << 18;

// SPEC §7: a reply can only answer a command already sent. Bytes already
// waiting when a command (or the body) is about to go out were sent before
// the server could know it: read later, they would pass for its answer (a
// "250" queued behind the 354 would answer the final dot). The server is
// out of step, so the session is over, as after a 421.
constexpr std::string_view kEarlyCommand =
    "protocol error: bytes received before the command was sent";
constexpr std::string_view kEarlyBody =
    "protocol error: bytes received before the message was sent";

// The phases of one session, each small, in the order SPEC §4 walks them.
// A connection that fails before the final dot sends the walk to the next
// pair; replies from that session are forgotten.
class Session {
 public:
  Session(Connection& conn, const SessionSettings& s, const Envelope& env, const MessageSource& msg)
      : conn_(conn), s_(s), env_(env), msg_(msg) {}

  SessionOutcome run();

 private:
  static NextPair next_pair(std::string reason) { return NextPair{std::move(reason)}; }
  Final final(Letter letter, std::string text) {
    // start_tls succeeds under DANE only when a TLSA record matched.
    bool dane = tls_active_ && s_.dane.has_value();
    return Final{letter, std::move(text), {}, tls_, auth_, dane};
  }
  // The message could not be read (an I/O error) after part of it was
  // sent: no dot may follow, so the connection is dropped without one (the
  // server then discards the transaction, RFC 5321 §4.1.1.4) and no QUIT,
  // which would be body text. Every pair would fail alike.
  Final unreadable(const std::string& why) {
    return final(Letter::Z, std::string(texts::kReadMessage) + why + "\n");
  }
  // "Connected to 192.0.2.1 but sender was rejected.\nRemote host said: ..."
  std::string said(std::string_view first, const Reply& r) {
    std::string t(first);
    t += remote_said(r.text, r.truncated);
    return t;
  }

  Result<Reply> command(std::string_view line);
  // A dropped link, a timeout, a garbage reply or a 421: the next pair.
  static bool lost(const Result<Reply>& r) { return !r || r->code == 421; }
  std::string lost_reason(std::string_view step, const Result<Reply>& r) {
    if (!r) return std::string(step) + ": " + r.error();
    return std::string(step) + ": " + sanitize(r->text);
  }

  // SPEC §8: a TLS set-up that fails here (tlsclientciphers, clientcert.pem,
  // a CA file) fails on every pair, and is never a reason for plaintext.
  std::optional<SessionOutcome> local_tls_error() {
    auto st = prepare_tls(s_);
    if (st) return std::nullopt;
    quit();
    return final(Letter::Z, texts::tls_config(st.error()));
  }
  std::optional<SessionOutcome> greet();
  std::optional<SessionOutcome> hello();
  std::optional<SessionOutcome> secure();
  std::optional<SessionOutcome> login();
  SessionOutcome transaction();
  SessionOutcome send_body(const std::vector<RecipientResult>& rcpts);
  void quit();

  Connection& conn_;
  const SessionSettings& s_;
  const Envelope& env_;
  const MessageSource& msg_;
  Capabilities caps_;
  bool tls_active_ = false;
  std::string tls_ = "none";
  std::string auth_ = "none";
};

// A lock-step command and its reply. Anything the server sent before the
// command is a protocol error, not its reply (SPEC §7).
Result<Reply> Session::command(std::string_view line) {
  if (conn_.unread_input()) return Error{std::string(kEarlyCommand)};
  conn_.queue(line);
  conn_.queue("\r\n");
  if (auto st = conn_.flush(); !st) return st.failure();
  return read_reply(conn_);
}

std::optional<SessionOutcome> Session::greet() {
  auto r = read_reply(conn_);
  if (!r) return next_pair("greeting: " + r.error());
  if (r->code / 100 != 2) return next_pair("greeting failed: " + sanitize(r->text));
  return std::nullopt;
}

// EHLO, and HELO when EHLO is refused with 5xx (SPEC §7).
std::optional<SessionOutcome> Session::hello() {
  auto r = command("EHLO " + s_.helo);
  if (lost(r)) return next_pair(lost_reason("EHLO", r));
  if (r->code == 250) {
    caps_ = Capabilities::from_ehlo(*r);
    return std::nullopt;
  }
  if (r->permanent()) {
    caps_ = Capabilities{};
    auto h = command("HELO " + s_.helo);
    if (lost(h)) return next_pair(lost_reason("HELO", h));
    if (h->code == 250) return std::nullopt;
    return next_pair("my name was rejected: " + sanitize(h->text));
  }
  return next_pair("my name was rejected: " + sanitize(r->text));
}

// STARTTLS per the route's policy (SPEC §8).
std::optional<SessionOutcome> Session::secure() {
  if (tls_active_ || s_.tls == TlsPolicy::None || s_.skip_starttls) return std::nullopt;
  // SPEC §13: a host with usable TLSA records never gets plaintext.
  bool required =
      s_.tls == TlsPolicy::Encrypt || s_.tls == TlsPolicy::Verify || s_.tls == TlsPolicy::Dane;
  if (!caps_.starttls) {
    if (required)
      return next_pair("STARTTLS required by tls=" + std::string(tls_policy_name(s_.tls)) +
                       " but not offered");
    return std::nullopt;
  }
  // Before STARTTLS, not before the look at the EHLO reply: plaintext to a
  // server without STARTTLS costs no OpenSSL start-up.
  if (auto o = local_tls_error()) return o;
  auto r = command("STARTTLS");
  if (lost(r)) return next_pair(lost_reason("STARTTLS", r));
  if (r->code != 220) {
    if (required) return next_pair("STARTTLS refused: " + sanitize(r->text));
    return std::nullopt;  // `may`: the server changed its mind; go on in plaintext
  }
  // CVE-2011-0411 class: anything already sent after the 220 was injected
  // before the handshake and must not be read as coming from inside TLS.
  if (conn_.buffered() > 0) return next_pair("bytes received after the 220 to STARTTLS: dropped");
  auto hs = start_tls(conn_, s_);
  if (!hs) {
    auto o = next_pair("TLS handshake failed: " + hs.error());
    o.tls_failed_may = (s_.tls == TlsPolicy::May);
    return o;
  }
  tls_active_ = true;
  tls_ = *hs;
  // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
  return hello();
}

// AUTH with the route's credentials (SPEC §9).
std::optional<SessionOutcome> Session::login() {
  if (s_.user.empty()) return std::nullopt;
  auto result = authenticate(conn_, caps_, tls_active_, s_);
  if (!result) return next_pair(result.error());
  auth_ = *result;
  return std::nullopt;
}

SessionOutcome Session::run() {
  if (s_.implicit_tls) {
    if (auto o = local_tls_error()) return *o;
    auto hs = start_tls(conn_, s_);
    if (!hs) return next_pair("TLS handshake failed: " + hs.error());
    tls_active_ = true;
    tls_ = *hs;
  }
  if (auto o = greet()) return *o;
  if (auto o = hello()) return *o;
  if (auto o = secure()) return *o;
  if (auto o = login()) return *o;
  if (envelope_needs_smtputf8(env_) && !caps_.smtputf8) {
    auto o = next_pair("the envelope is not ASCII and the server does not offer SMTPUTF8");
    o.refusal = Refusal::NoSmtpUtf8;
    return o;
  }
  uint64_t size = msg_.facts().wire_size;
  if (caps_.size && caps_.size_limit > 0 && size > caps_.size_limit) {
    quit();
    return final(Letter::D, texts::too_big(s_.peer, size, caps_.size_limit));
  }
  return transaction();
}

// MAIL, every RCPT and DATA: one write when PIPELINING is offered (RFC 2920
// §3.1: DATA may end the group), replies read in order; else lock-step.
SessionOutcome Session::transaction() {
  // SPEC §6: a local part that is not a dot-atom goes quoted, so no address
  // can end the path early or add parameters.
  std::string mail = "MAIL FROM:<" + smtp_path(env_.sender) + ">";
  if (caps_.size) mail += " SIZE=" + std::to_string(msg_.facts().wire_size);
  if (caps_.eightbitmime && msg_.facts().eight_bit) mail += " BODY=8BITMIME";
  if (caps_.smtputf8 && envelope_needs_smtputf8(env_)) mail += " SMTPUTF8";

  const bool pipelined = caps_.pipelining;
  std::vector<RecipientResult> rcpts;
  rcpts.reserve(env_.recipients.size());

  if (pipelined) {
    // RFC 2920: the group's replies may come together; only bytes that came
    // before the group was sent are out of step (SPEC §7).
    if (conn_.unread_input()) return next_pair("MAIL: " + std::string(kEarlyCommand));
    conn_.queue(mail + "\r\n");
    for (const auto& r : env_.recipients) conn_.queue("RCPT TO:<" + smtp_path(r) + ">\r\n");
    conn_.queue("DATA\r\n");
    if (auto st = conn_.flush(); !st) return next_pair("MAIL: " + st.error());
  }

  auto m = pipelined ? read_reply(conn_) : command(mail);
  if (lost(m)) return next_pair(lost_reason("MAIL", m));
  bool mail_ok = m->positive();

  size_t accepted = 0, temporary = 0;
  for (const auto& r : env_.recipients) {
    Result<Reply> rr = Error{""};
    if (pipelined) {
      rr = read_reply(conn_);
    } else if (mail_ok) {
      rr = command("RCPT TO:<" + smtp_path(r) + ">");
    } else {
      break;
    }
    if (lost(rr)) return next_pair(lost_reason("RCPT", rr));
    if (!mail_ok) continue;  // pipelined replies to a refused MAIL are read and dropped
    if (rr->positive()) {
      rcpts.push_back({RcptLetter::Accepted, ""});
      ++accepted;
    } else {
      // RFC 1870 §6.1: 552 to RCPT is a temporary "too much mail" condition.
      bool perm = rr->permanent() && rr->code != 552;
      if (!perm) ++temporary;
      rcpts.push_back({perm ? RcptLetter::Refused : RcptLetter::Deferred,
                       said(texts::recipient_rejected(s_.peer), *rr)});
    }
  }

  Result<Reply> d = Error{""};
  if (pipelined) {
    d = read_reply(conn_);
    if (lost(d)) return next_pair(lost_reason("DATA", d));
    // RFC 2920 §3.1: a 354 when nothing was accepted must still be ended.
    if (d->code == 354 && (!mail_ok || accepted == 0)) {
      auto end = command(".");
      if (lost(end)) return next_pair(lost_reason("DATA", end));
    }
  }

  if (!mail_ok) {
    quit();
    Letter letter = m->permanent() ? Letter::D : Letter::Z;
    return final(letter, said(texts::sender_rejected(s_.peer), *m));
  }
  if (accepted == 0) {
    quit();
    auto o = final(temporary > 0 ? Letter::Z : Letter::D, texts::giving_up(s_.peer));
    o.recipients = std::move(rcpts);
    return o;
  }
  if (!pipelined) {
    d = command("DATA");
    if (lost(d)) return next_pair(lost_reason("DATA", d));
  }
  if (d->code != 354) {
    quit();
    auto o = final(d->permanent() ? Letter::D : Letter::Z, said(texts::data_failed(s_.peer), *d));
    o.recipients = std::move(rcpts);
    return o;
  }
  return send_body(rcpts);
}

SessionOutcome Session::send_body(const std::vector<RecipientResult>& rcpts) {
  // SPEC §4: until the final dot is sent, a lost connection means the next
  // pair. A server that closed right after its 354 would otherwise let the
  // body vanish into the socket and look like a loss after the dot.
  if (conn_.peer_closed()) return next_pair("DATA: the server closed the connection after 354");
  // SPEC §7: bytes behind the 354 ("354 go\r\n250 fake\r\n") would be read as
  // the reply to the final dot: K for a message the server may refuse.
  if (conn_.unread_input()) return next_pair("DATA: " + std::string(kEarlyBody));
  // The final ".\r\n" rides on the last chunk: one write fewer, and for a
  // small message the whole body and its end go out in one segment.
  BodyStream body(msg_);
  std::string chunk, ahead;
  auto got = body.next(chunk, kBodyChunk);
  if (!got) return unreadable(got.error());
  // An empty message is an empty body (SPEC §4): the dot alone.
  for (bool last = !*got;;) {
    if (!last) {
      got = body.next(ahead, kBodyChunk);
      if (!got) return unreadable(got.error());
      last = !*got;
    }
    if (last) chunk.append(".\r\n");
    if (auto st = conn_.write(chunk); !st) return next_pair("sending the message: " + st.error());
    if (last) break;
    chunk.swap(ahead);
  }

  // From here on the server may have the message: never go to another pair.
  auto r = read_reply(conn_);
  if (!r) {
    return final(Letter::Z, texts::connection_died(s_.peer) + r.error() + "\n");
  }
  quit();
  Final o = r->positive() ? final(Letter::K, said(texts::accepted(s_.peer), *r))
                          : final(r->permanent() ? Letter::D : Letter::Z,
                                  said(texts::message_failed(s_.peer), *r));
  o.recipients = rcpts;
  return o;
}

// QUIT is sent and its reply not awaited (SPEC §7): the outcome is known and
// Exim, for one, holds that reply for 200 ms.
void Session::quit() {
  conn_.queue("QUIT\r\n");
  (void)conn_.flush();
}

}  // namespace

SessionOutcome run_session(Connection& conn, const SessionSettings& settings, const Envelope& env,
                           const MessageSource& message) {
  return Session(conn, settings, env, message).run();
}

}  // namespace qr
