#include "lib/tls/tls.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <tuple>
#include <vector>

#include "lib/net/address.h"
#include "lib/openssl_start.h"
#include "lib/tls/session_cache.h"
#include "lib/tls/tls_library.h"

namespace qr {

// Where one connection's sessions go (SPEC §15). The newest session the
// server gave (TLS 1.2's inside SSL_connect, TLS 1.3 tickets with the
// replies read later; OpenSSL's server sends two) waits in `latest`, and is
// written once, when the stream ends, and only if the handshake met the
// policy: one file write per delivery, not one per ticket.
struct SessionSlot {
  SessionCache cache;
  std::string key;
  bool policy_met = false;
  bool keep_peer = true;  // false: may/encrypt, which never look at it
  SslSessionPtr latest;

  void flush() {
    if (policy_met && latest) cache.store(key, latest.get(), time(nullptr), nullptr, keep_peer);
    latest.reset();
  }
};

void SessionSlotDeleter::operator()(SessionSlot* p) const {
  delete p;
}

namespace {

using Clock = std::chrono::steady_clock;

// The reason of the oldest queued OpenSSL error ("wrong version number"),
// or `fallback`; empties the queue so that later calls start clean.
std::string openssl_reason(const char* fallback) {
  unsigned long e = ERR_get_error();
  std::string text;
  if (e != 0) {
    const char* reason = ERR_reason_error_string(e);
    if (reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      text = buf;
    }
  } else {
    text = fallback;
  }
  ERR_clear_error();
  return text;
}

// The poll events an SSL call waits for before it is retried, or 0 when the
// error is final. WANT_WRITE on a read (and WANT_READ on a write) happen too:
// key updates, renegotiation.
short wanted_events(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) return POLLIN;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return POLLOUT;
  return 0;
}

// A socket BIO whose writes use send(MSG_NOSIGNAL): OpenSSL's own uses
// write(), which raises SIGPIPE when the peer has gone (see tls.h).
int nosignal_write(BIO* b, const char* buf, int n) {
  int fd = -1;
  BIO_get_fd(b, &fd);
  BIO_clear_retry_flags(b);
  ssize_t r = ::send(fd, buf, size_t(n), MSG_NOSIGNAL);
  if (r < 0 && BIO_sock_should_retry(-1)) BIO_set_retry_write(b);
  return int(r);
}

const BIO_METHOD* nosignal_socket_method() {
  // Immortal, like OpenSSL's own static methods.
  static BIO_METHOD* method = [] {
    const BIO_METHOD* base = BIO_s_socket();
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "socket, MSG_NOSIGNAL");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, nosignal_write);
    BIO_meth_set_read(m, BIO_meth_get_read(base));
    BIO_meth_set_puts(m, BIO_meth_get_puts(base));
    BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(base));
    BIO_meth_set_create(m, BIO_meth_get_create(base));
    BIO_meth_set_destroy(m, BIO_meth_get_destroy(base));
    return m;
  }();
  return method;
}

int slot_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// SSL_CTX_sess_set_new_cb: 1 keeps OpenSSL's reference, 0 gives it back.
int new_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<SessionSlot*>(SSL_get_ex_data(ssl, slot_index()));
  if (slot == nullptr) return 0;
  slot->latest.reset(session);
  return 1;
}

// The cache key: the server's address and port (from the socket itself),
// the name sent and checked, and everything that decides how strictly the
// handshake was checked (SPEC §15). "local" for a socketpair (unit tests).
std::string session_key(int fd, const TlsOptions& o, const std::string& host) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  std::string peer = "local";
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if (::getpeername(fd, sa, &len) == 0 && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
    uint16_t port = ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(sa)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(sa)->sin6_port;
    peer = format_endpoint(IpAddr::from_sockaddr(sa), ntohs(port));
  }
  return "peer=" + peer + " name=" + host + " verify=" + (o.verify ? "yes" : "no") +
         " ca=" + o.ca_file + " cert=" + o.client_cert + " ciphers=" + o.ciphers +
         " policy=" + o.policy_id;
}

// With verify, a stored session is offered only while its certificate
// still holds for `host`: named by it, and not expired since. (OpenSSL does
// not check a resumed session's certificate again; the chain was checked
// when the session was made, under the CA source that is in the key.)
bool session_still_verified(SSL_SESSION* s, const std::string& host, bool literal) {
  X509* cert = SSL_SESSION_get0_peer(s);
  if (cert == nullptr || X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) return false;
  if (literal) return X509_check_ip_asc(cert, host.c_str(), 0) == 1;
  return X509_check_host(cert, host.data(), host.size(),
                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                         nullptr) == 1;
}

// Builds a client context for one set of options.
Result<SslCtxPtr> make_context(const TlsOptions& o) {
  SslCtxPtr ctx(SSL_CTX_new_ex(tls_library(), nullptr, TLS_client_method()));
  if (!ctx) return Error{"cannot create TLS context: " + openssl_reason("out of memory")};
  // SMTP replies delimit themselves: an EOF without close_notify is an
  // ordinary end of stream, not an attack (see tls.h).
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // SPEC §15: sessions go to the on-disk cache through new_session (per
  // SSL, when it has a slot), never to OpenSSL's in-memory one.
  SSL_CTX_set_session_cache_mode(ctx.get(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx.get(), new_session);
  if (o.dane) {
    // SPEC §13: the TLSA records are the only trust; no CA store (PKIX
    // usages are unusable for SMTP, RFC 7672 §3.1.3).
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    if (auto st = dane_context(ctx.get()); !st) return st.failure();
  } else if (o.verify || o.check_quietly) {
    if (o.verify) {
      SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    }
    if (!o.ca_file.empty()) {
      if (SSL_CTX_load_verify_file(ctx.get(), o.ca_file.c_str()) != 1) {
        return Error{o.ca_file + ": " + openssl_reason("cannot load CA file")};
      }
    } else if (SSL_CTX_set_default_verify_dir(ctx.get()) != 1) {
      return Error{"cannot use the system CA directory: " + openssl_reason("unknown error")};
    } else if (const char* file = std::getenv(X509_get_default_cert_file_env());
               file != nullptr && *file != '\0' && SSL_CTX_load_verify_file(ctx.get(), file) != 1) {
      // $SSL_CERT_FILE, when set, is a bundle the administrator chose (as
      // OpenSSL's own default paths take it, SPEC §14); the bundle's cost
      // (SPEC §8) is paid only then.
      return Error{std::string(file) + " ($SSL_CERT_FILE): " + openssl_reason("cannot load")};
    }
  }
  if (!o.verify && !o.dane) {
    // See "Protocol floor" in tls.h (DANE checks the certificate: its
    // floor is verify's, set above). Level 0 is needed for TLS 1.0/1.1
    // (SHA-1 and MD5 in their handshakes) and 1024-bit server keys.
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), o.ciphers.c_str()) != 1) {
    return Error{"control/tlsclientciphers: OpenSSL takes no cipher from \"" + o.ciphers +
                 "\": " + openssl_reason("no cipher match")};
  }
  if (!o.client_cert.empty()) {
    const char* f = o.client_cert.c_str();
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), f) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), f, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return Error{o.client_cert + ": " + openssl_reason("cannot load certificate and key")};
    }
  }
  return ctx;
}

// Contexts by the options that shape them (not the host: that is per SSL).
// A delivery sees one or two sets; the cache saves rebuilding (and
// re-reading CA files) for each attempt of the walk (SPEC §4).
Result<SSL_CTX*> context_for(const TlsOptions& o) {
  struct Entry {
    bool dane, verify, check_quietly;
    std::string ca_file, client_cert, ciphers;
    SslCtxPtr ctx;
  };
  // Immortal on purpose: OpenSSL's own atexit cleanup may run before a
  // static destructor would, and SSL_CTX_free after it is undefined.
  static auto* cache = new std::vector<Entry>;
  static auto* mutex = new std::mutex;
  std::lock_guard lock(*mutex);
  for (auto& e : *cache) {
    const bool dane = o.dane.has_value();
    if (std::tie(e.dane, e.verify, e.check_quietly, e.ca_file, e.client_cert, e.ciphers) ==
        std::tie(dane, o.verify, o.check_quietly, o.ca_file, o.client_cert, o.ciphers)) {
      return e.ctx.get();
    }
  }
  auto ctx = make_context(o);
  if (!ctx) return ctx.failure();
  cache->push_back({o.dane.has_value(), o.verify, o.check_quietly, o.ca_file, o.client_cert,
                    o.ciphers, std::move(*ctx)});
  return cache->back().ctx.get();
}

// Why SSL_connect failed, in words for the report.
std::string handshake_error(SSL* ssl, int ret, const TlsOptions& o, const std::string& host) {
  int err = SSL_get_error(ssl, ret);
  if ((o.verify || o.dane) && err == SSL_ERROR_SSL) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      ERR_clear_error();
      std::string text = std::string(o.dane ? "DANE: certificate verify failed: "
                                            : "certificate verify failed: ") +
                         X509_verify_cert_error_string(v);
      if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        text += " (expected " + host + ")";
      }
      return text;
    }
  }
  if (err == SSL_ERROR_SYSCALL) {
    int saved = errno;
    std::string reason = openssl_reason("");
    if (!reason.empty()) return "TLS handshake failed: " + reason;
    if (ret == 0 || saved == 0) return "connection closed during TLS handshake";
    return std::string("TLS handshake failed: ") + strerror(saved);
  }
  return "TLS handshake failed: " + openssl_reason("unknown error");
}

}  // namespace

Status tls_prepare(const TlsOptions& options) {
  openssl_start();
  ERR_clear_error();
  auto ctx = context_for(options);
  if (!ctx) return ctx.failure();
  return success();
}

Result<std::unique_ptr<TlsStream>> tls_handshake(int fd, const TlsOptions& options,
                                                 unsigned timeout_s) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  openssl_start();
  ERR_clear_error();
  auto ctx = context_for(options);
  if (!ctx) return ctx.failure();
  SslPtr ssl(SSL_new(*ctx));
  const BIO_METHOD* method = nosignal_socket_method();
  if (!ssl || method == nullptr) {
    return Error{"cannot create TLS session: " + openssl_reason("out of memory")};
  }
  BioPtr bio(BIO_new(method));
  if (!bio) return Error{"cannot create TLS session: " + openssl_reason("out of memory")};
  BIO_set_fd(bio.get(), fd, BIO_NOCLOSE);
  BIO* b = bio.release();
  SSL_set_bio(ssl.get(), b, b);  // the SSL owns the BIO from here

  std::string host = options.host;
  if (!host.empty() && host.back() == '.') host.pop_back();
  const bool literal = IpAddr::parse(host).has_value();
  if (!host.empty() && !literal && SSL_set_tlsext_host_name(ssl.get(), host.c_str()) != 1) {
    return Error{"cannot set TLS server name " + host + ": " + openssl_reason("invalid")};
  }
  if (options.dane) {
    if (auto st = dane_setup(ssl.get(), *options.dane); !st) return st.failure();
  } else if (options.verify || options.check_quietly) {
    if (host.empty()) return Error{"TLS verification needs a host name"};
    int ok;
    if (literal) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str());
    } else {
      // RFC 6125 §6.4.3: a wildcard only as the whole left-most label. No
      // subject CN fallback: RFC 9525 §6.3 (replacing RFC 6125) checks
      // subjectAltName DNS-IDs only, and so does Postfix's smtp client.
      SSL_set_hostflags(ssl.get(),
                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
      ok = SSL_set1_host(ssl.get(), host.c_str());
    }
    if (ok != 1) return Error{"cannot check TLS name " + host + ": " + openssl_reason("invalid")};
  }

  // SPEC §15: the cache is read here, when a handshake is about to start,
  // and only then. Any problem with it is a full handshake.
  SessionSlotPtr slot;
  bool offered = false;
  if (!options.cache_dir.empty()) {
    // The certificate is kept for every policy that may look at it on
    // resumption (verify, DANE, MTA-STS); may and encrypt never do.
    const bool unchecked =
        !options.verify && (options.policy_id == "may" || options.policy_id == "encrypt");
    slot.reset(new SessionSlot{SessionCache(options.cache_dir), session_key(fd, options, host),
                               false, !unchecked, nullptr});
    SslSessionPtr cached = slot->cache.load(slot->key, time(nullptr));
    if (cached && (!options.verify || session_still_verified(cached.get(), host, literal))) {
      offered = SSL_set_session(ssl.get(), cached.get()) == 1;
    }
    SSL_set_ex_data(ssl.get(), slot_index(), slot.get());
  }

  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(ssl.get());
    if (r == 1) break;
    short events = wanted_events(SSL_get_error(ssl.get(), r));
    if (events == 0) {
      // A server that chokes on the session we offered must not fail every
      // delivery until the entry expires: drop it, so the retry (the next
      // pair, or qmail's next try) makes a full handshake.
      if (offered) slot->cache.remove(slot->key);
      return Error{handshake_error(ssl.get(), r, options, host)};
    }
    auto waited = wait_fd_until(fd, events, deadline, timeout_s);
    if (!waited) return Error{"TLS handshake " + waited.error()};
  }
  // A resumed session carries the verify result it was made with
  // (SSL_get_verify_result); it was stored only after a handshake that
  // passed, so this holds unless the entry is not what we wrote.
  bool resumed = SSL_session_reused(ssl.get()) == 1;
  if ((options.verify || options.dane) && SSL_get_verify_result(ssl.get()) != X509_V_OK) {
    if (slot) slot->cache.remove(slot->key);
    return Error{"certificate verify failed: resumed session not verified"};
  }
  // DANE: SSL_VERIFY_PEER already failed a full handshake on a mismatch;
  // this says so again where it matters, so no later change can let one
  // through. OpenSSL does not verify a resumed session again: that session
  // was stored only after a full handshake that a TLSA record of this very
  // RRset matched (the RRset is in its cache key, SPEC §15).
  if (options.dane && !resumed && !dane_authenticated(ssl.get()))
    return Error{"DANE: no TLSA record matched the certificate of " + host};
  // Every check of the policy is behind us: the sessions of this
  // connection may be kept (when the stream ends).
  if (slot) slot->policy_met = true;
  return std::make_unique<TlsStream>(std::move(ssl), fd, std::move(slot));
}

TlsStream::~TlsStream() {
  // One non-blocking attempt; errors do not matter any more.
  if (!broken_) SSL_shutdown(ssl_.get());
  ERR_clear_error();
  if (slot_) slot_->flush();
}

Result<size_t> TlsStream::read_some(char* buf, size_t n, unsigned timeout_s) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  for (;;) {
    ERR_clear_error();
    errno = 0;
    size_t got = 0;
    int r = SSL_read_ex(ssl_.get(), buf, n, &got);
    if (r == 1) return got;
    int err = SSL_get_error(ssl_.get(), r);
    if (err == SSL_ERROR_ZERO_RETURN) return size_t(0);
    short events = wanted_events(err);
    if (events == 0) {
      broken_ = true;
      int saved = errno;
      if (err == SSL_ERROR_SYSCALL && saved != 0) return Error{strerror(saved)};
      return Error{"TLS read: " + openssl_reason("connection closed")};
    }
    auto waited = wait_fd_until(fd_, events, deadline, timeout_s);
    if (!waited) return waited.failure();
  }
}

Status TlsStream::write_all(const char* buf, size_t n, unsigned timeout_s) {
  size_t done = 0;
  while (done < n) {
    ERR_clear_error();
    errno = 0;
    size_t wrote = 0;
    int r = SSL_write_ex(ssl_.get(), buf + done, n - done, &wrote);
    if (r == 1) {
      done += wrote;
      continue;
    }
    int err = SSL_get_error(ssl_.get(), r);
    short events = wanted_events(err);
    if (events == 0) {
      broken_ = true;
      int saved = errno;
      if (err == SSL_ERROR_SYSCALL && saved != 0) return Error{strerror(saved)};
      if (err == SSL_ERROR_ZERO_RETURN) return Error{"connection closed by peer"};
      return Error{"TLS write: " + openssl_reason("connection closed")};
    }
    auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
    auto waited = wait_fd_until(fd_, events, deadline, timeout_s);
    if (!waited) return waited.failure();
  }
  return success();
}

bool TlsStream::data_waiting() {
  if (SSL_pending(ssl_.get()) > 0) return true;
  // The socket is non-blocking: SSL_peek_ex processes what has arrived and
  // returns at once. Whatever it does not report as data (WANT_READ, a
  // close_notify, an error) is for the next read to report.
  ERR_clear_error();
  char c;
  size_t got = 0;
  bool data = SSL_peek_ex(ssl_.get(), &c, 1, &got) == 1 && got > 0;
  ERR_clear_error();
  return data;
}

std::string TlsStream::verify_error() const {
  long v = SSL_get_verify_result(ssl_.get());
  return v == X509_V_OK ? "" : X509_verify_cert_error_string(v);
}

std::string TlsStream::version() const {
  return SSL_get_version(ssl_.get());
}

bool TlsStream::resumed() const {
  return SSL_session_reused(ssl_.get()) == 1;
}

bool TlsStream::dane_authenticated() const {
  return qr::dane_authenticated(ssl_.get());
}

std::string TlsStream::cipher() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  return c != nullptr ? SSL_CIPHER_get_name(c) : "";
}

}  // namespace qr
