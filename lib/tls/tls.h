// TLS client side of STARTTLS (RFC 3207) and of port 465, with OpenSSL 3
// (SPEC §8). Which policy applies, when to STARTTLS and what to do when it
// fails belong to the SMTP session; this module makes the handshake and
// carries the bytes.
//
// SIGPIPE: the socket is written with send(MSG_NOSIGNAL) through our own BIO,
// so a peer that has gone away gives EPIPE, never a signal; main() need not
// ignore SIGPIPE for TLS's sake.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "lib/net/stream.h"
#include "lib/result.h"
#include "lib/tls/dane.h"

namespace qr {

// RAII owners for OpenSSL handles (as bssl::UniquePtr, DESIGN.md).
template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL, SSL_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

struct TlsOptions {
  // Check the chain and the name (policy `verify`, or a tlshosts/ file).
  // Also sets the protocol floor, see below.
  bool verify = false;
  // Check the chain (system CAs) and the name as verify does, but let the
  // handshake succeed whatever the result: TlsStream::verify_error says
  // it (MTA-STS testing mode, SPEC §14, reports what enforce would refuse).
  // The protocol floor stays that of no verify.
  bool check_quietly = false;
  // PEM file of trusted CAs (control/tlshosts/<FQDN>.pem). Empty with
  // verify: the system trust store, loaded from OpenSSL's hashed certificate
  // directory (X509_get_default_cert_dir, or $SSL_CERT_DIR), which reads
  // only the CA files a chain needs, not the whole bundle (~20 ms, SPEC §8).
  // $SSL_CERT_FILE, when set, is loaded as well (SPEC §14).
  // Nothing is loaded when verify is off.
  std::string ca_file;
  // The MX or relay host name (or an IP literal's text, no brackets). Sent
  // as SNI unless it is an IP address (RFC 6066 §3 forbids literals there);
  // with verify, the certificate must match it (RFC 6125; an IP literal is
  // matched against the certificate's IP addresses). A trailing dot is
  // ignored.
  std::string host;
  // One PEM file holding the client certificate (chain) and its private key
  // (control/clientcert.pem, as qmail-tls). Empty: no client certificate.
  std::string client_cert;
  // control/tlsclientciphers: an OpenSSL cipher list for TLS 1.2 and
  // below (SSL_CTX_set_cipher_list). TLS 1.3 suites keep OpenSSL's default:
  // they are all AEAD and strong, and qmail-tls's file predates TLS 1.3 and
  // names TLS 1.2 ciphers. Empty: OpenSSL's default list. A list that
  // matches no cipher is an error for every handshake (a Z, not plaintext).
  std::string ciphers;
  // The session cache directory ($QMAIL_ROOT/queue/tlscache, SPEC §15).
  // Empty: no session is offered or kept. Nothing in it is read before the
  // handshake starts.
  std::string cache_dir;
  // What else the session must have been checked against, beyond the
  // fields above (which are part of the cache key already): the policy's
  // name, and for DANE the TLSA RRset the chain was matched with. Part of
  // the cache key, so a session made under one policy is never offered
  // under another (SPEC §15). Must not contain a newline.
  std::string policy_id;
  // DANE (SPEC §13, RFC 7672): when set, the certificate is accepted only
  // when one of these TLSA records matches it; no CA store is loaded, and
  // the protocol floor is TLS 1.2 as with verify. Unset: no DANE.
  std::optional<DaneOptions> dane;
};

// Protocol floor (decided here, SPEC §8): with verify, TLS 1.2 and the
// system's security level: the administrator asked for real security.
// Without verify (`may`, `encrypt`), TLS 1.0 and security level 0: without a
// certificate check an active attacker is not stopped by any cipher, and
// against a passive one old TLS beats the plaintext `may` would fall back to
// (RFC 7435 §1, opportunistic security). A tlsclientciphers "@SECLEVEL=n"
// overrides the level.

// An established TLS session over a socket it does not own (the Connection
// owns the fd and must outlive this stream).
struct SessionSlot;  // tls.cc: where this connection's new sessions go
struct SessionSlotDeleter {
  void operator()(SessionSlot* p) const;
};
using SessionSlotPtr = std::unique_ptr<SessionSlot, SessionSlotDeleter>;

class TlsStream : public Stream {
 public:
  // `slot` (may be null) receives the TLS 1.3 tickets that arrive with
  // later reads; it must outlive the SSL, hence is owned here.
  TlsStream(SslPtr ssl, int fd, SessionSlotPtr slot = nullptr)
      : slot_(std::move(slot)), ssl_(std::move(ssl)), fd_(fd) {}
  // Sends close_notify if the session is healthy; does not wait for the
  // peer's (the QUIT reply is not awaited either, SPEC §7).
  ~TlsStream() override;

  // A whole read_some waits at most timeout_s. 0 at end of stream, including
  // a peer that closes without close_notify: SMTP replies delimit
  // themselves, so truncation cannot go unnoticed.
  Result<size_t> read_some(char* buf, size_t n, unsigned timeout_s) override;
  // Each wait bounded by timeout_s.
  Status write_all(const char* buf, size_t n, unsigned timeout_s) override;
  // Application data already decrypted (SSL_pending), or in records that
  // have arrived and can be processed without waiting. Handshake records
  // (TLS 1.3 NewSessionTicket after the handshake) are processed and do not
  // count; a raw poll of the socket would mistake them for data.
  bool data_waiting() override;

  // The certificate check's failure ("hostname mismatch", ...) when the
  // handshake checked one (verify, check_quietly); empty when it passed.
  std::string verify_error() const;
  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;   // "TLS_AES_256_GCM_SHA384"
  bool resumed() const;         // a cached session was resumed (SPEC §15)
  // The peer's certificate was matched by a TLSA record (SPEC §10 dane=ok).
  bool dane_authenticated() const;

 private:
  SessionSlotPtr slot_;  // declared first: destroyed after the SSL
  SslPtr ssl_;
  int fd_;
  bool broken_ = false;  // a fatal error was seen: no close_notify
};

// Builds the client context for `options` now (it is kept for the
// process's life, as tls_handshake's). Its errors are local configuration
// errors, each naming its file: tlsclientciphers, clientcert.pem, a
// tlshosts/ CA file, the system CA directory. SPEC §8: such an error is a
// Z, never a reason to go on without TLS, so the session asks this first.
Status tls_prepare(const TlsOptions& options);

// Runs the client handshake on `fd` (a connected, non-blocking socket),
// bounded in total by timeout_s. The first call initialises OpenSSL (SPEC
// §8: not before TLS is used); client contexts are built once per distinct
// set of options and kept for the process's life. Error texts name the
// reason: "TLS handshake timed out after 30 s", "certificate verify failed:
// hostname mismatch (expected mx1.example.com)", "TLS handshake failed:
// wrong version number", "connection closed during TLS handshake", ...
Result<std::unique_ptr<TlsStream>> tls_handshake(int fd, const TlsOptions& options,
                                                 unsigned timeout_s);

}  // namespace qr
