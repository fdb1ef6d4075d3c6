#include "lib/tls/tls.h"

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

namespace qr {

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

// Builds a client context for one set of options.
Result<SslCtxPtr> make_context(const TlsOptions& o) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error{"cannot create TLS context: " + openssl_reason("out of memory")};
  // SMTP replies delimit themselves: an EOF without close_notify is an
  // ordinary end of stream, not an attack (see tls.h).
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (o.verify || o.check_quietly) {
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
  if (!o.verify) {
    // See "Protocol floor" in tls.h. Level 0 is needed for TLS 1.0/1.1
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
    bool verify, check_quietly;
    std::string ca_file, client_cert, ciphers;
    SslCtxPtr ctx;
  };
  // Immortal on purpose: OpenSSL's own atexit cleanup may run before a
  // static destructor would, and SSL_CTX_free after it is undefined.
  static auto* cache = new std::vector<Entry>;
  static auto* mutex = new std::mutex;
  std::lock_guard lock(*mutex);
  for (auto& e : *cache) {
    if (std::tie(e.verify, e.check_quietly, e.ca_file, e.client_cert, e.ciphers) ==
        std::tie(o.verify, o.check_quietly, o.ca_file, o.client_cert, o.ciphers)) {
      return e.ctx.get();
    }
  }
  auto ctx = make_context(o);
  if (!ctx) return Error{ctx.error()};
  cache->push_back(
      {o.verify, o.check_quietly, o.ca_file, o.client_cert, o.ciphers, std::move(*ctx)});
  return cache->back().ctx.get();
}

// Why SSL_connect failed, in words for the report.
std::string handshake_error(SSL* ssl, int ret, const TlsOptions& o, const std::string& host) {
  int err = SSL_get_error(ssl, ret);
  if (o.verify && err == SSL_ERROR_SSL) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
      ERR_clear_error();
      std::string text =
          std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
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
  ERR_clear_error();
  auto ctx = context_for(options);
  if (!ctx) return Error{ctx.error()};
  return success();
}

Result<std::unique_ptr<TlsStream>> tls_handshake(int fd, const TlsOptions& options,
                                                 unsigned timeout_s) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  ERR_clear_error();
  auto ctx = context_for(options);
  if (!ctx) return Error{ctx.error()};
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
  if (options.verify || options.check_quietly) {
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

  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(ssl.get());
    if (r == 1) break;
    short events = wanted_events(SSL_get_error(ssl.get(), r));
    if (events == 0) return Error{handshake_error(ssl.get(), r, options, host)};
    auto waited = wait_fd_until(fd, events, deadline, timeout_s);
    if (!waited) return Error{"TLS handshake " + waited.error()};
  }
  return std::make_unique<TlsStream>(std::move(ssl), fd);
}

TlsStream::~TlsStream() {
  // One non-blocking attempt; errors do not matter any more.
  if (!broken_) SSL_shutdown(ssl_.get());
  ERR_clear_error();
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
    if (!waited) return Error{waited.error()};
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
    if (!waited) return Error{waited.error()};
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

std::string TlsStream::cipher() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  return c != nullptr ? SSL_CIPHER_get_name(c) : "";
}

}  // namespace qr
