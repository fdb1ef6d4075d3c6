// The TLS session cache's files (SPEC §15): format, keying, expiry,
// corruption, the directory's checks and the bound on its size. Sessions
// are made here with the OpenSSL API; the handshakes that store and resume
// them are in tls_test.cc.
#include "lib/tls/session_cache.h"

#include "lib/admin/tlscache_note.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace qr;
namespace fs = std::filesystem;

namespace {

const time_t kNow = 1'800'000'000;

// A resumable TLS 1.3 session made at `made` for `lifetime` seconds, with
// `tag` in its id and master key so that two sessions can be told apart.
SslSessionPtr make_session(time_t made, long lifetime, unsigned char tag = 1) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(ctx.get()));
  REQUIRE(ssl);
  SslSessionPtr s(SSL_SESSION_new());
  REQUIRE(s);
  const unsigned char suite[2] = {0x13, 0x01};  // TLS_AES_128_GCM_SHA256
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl.get(), suite);
  REQUIRE(cipher != nullptr);
  unsigned char id[32], key[32];
  std::fill(std::begin(id), std::end(id), tag);
  std::fill(std::begin(key), std::end(key), static_cast<unsigned char>(tag + 1));
  REQUIRE(SSL_SESSION_set_protocol_version(s.get(), TLS1_3_VERSION) == 1);
  REQUIRE(SSL_SESSION_set_cipher(s.get(), cipher) == 1);
  REQUIRE(SSL_SESSION_set1_id(s.get(), id, sizeof id) == 1);
  REQUIRE(SSL_SESSION_set1_master_key(s.get(), key, sizeof key) == 1);
  SSL_SESSION_set_time(s.get(), long(made));
  SSL_SESSION_set_timeout(s.get(), lifetime);
  REQUIRE(SSL_SESSION_is_resumable(s.get()) == 1);
  return s;
}

std::string master_key(SSL_SESSION* s) {
  unsigned char k[64];
  size_t n = SSL_SESSION_get_master_key(s, k, sizeof k);
  return std::string(reinterpret_cast<char*>(k), n);
}

struct CacheDir {
  fs::path path;
  CacheDir() {
    char tmpl[] = "/tmp/session_cache_test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);  // mode 0700, ours
    path = tmpl;
  }
  ~CacheDir() { fs::remove_all(path); }
  std::string file(const std::string& key) const {
    return (path / session_file_name(key)).string();
  }
  size_t entries() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(path))
      n += e.path().filename().string().size() == 64;
    return n;
  }
};

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

const std::string kKey =
    "peer=192.0.2.1:25 name=mx1.example verify=no ca= cert= ciphers= policy=may";

}  // namespace

TEST_CASE("session file: a round trip keeps the session", "[session_cache]") {
  auto s = make_session(kNow - 10, 7200, 7);
  std::string bytes = encode_session_file(kKey, s.get(), kNow + 600);
  REQUIRE(bytes.rfind("qmail-remote tls session 1\nkey " + kKey + "\nexpires ", 0) == 0);
  std::string why;
  auto back = decode_session_file(bytes, kKey, kNow, &why);
  REQUIRE(back);
  CHECK(master_key(back.get()) == master_key(s.get()));
  CHECK(SSL_SESSION_get_protocol_version(back.get()) == TLS1_3_VERSION);
}

TEST_CASE("session file: every cut, and bytes added, are refused", "[session_cache]") {
  auto s = make_session(kNow - 10, 7200);
  const std::string bytes = encode_session_file(kKey, s.get(), kNow + 600);
  for (size_t n = 0; n < bytes.size(); ++n) {
    INFO("cut at " << n);
    std::string why;
    CHECK_FALSE(decode_session_file(bytes.substr(0, n), kKey, kNow, &why));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  CHECK_FALSE(decode_session_file(bytes + "x", kKey, kNow, &why));
  CHECK(why == "truncated or padded");
}

TEST_CASE("session file: corrupt and foreign contents are refused", "[session_cache]") {
  auto s = make_session(kNow - 10, 7200);
  const std::string good = encode_session_file(kKey, s.get(), kNow + 600);
  const size_t der = good.find("\nder ");
  const size_t body = good.find('\n', der + 1) + 1;
  struct Case {
    const char* name;
    std::string bytes;
    std::string key;
    const char* why;
  };
  std::string flipped = good;
  flipped[body] = char(flipped[body] ^ 0xff);  // the DER's SEQUENCE tag
  std::string bad_len = good;
  bad_len.replace(der + 5, good.find('\n', der + 1) - der - 5, "abc");
  const Case cases[] = {
      {"empty", "", kKey, "not a session file"},
      {"another program's file", "GIF89a....", kKey, "not a session file"},
      {"another key's entry", good, kKey + "x", "stored for another key"},
      {"the may entry asked for under verify", good,
       "peer=192.0.2.1:25 name=mx1.example verify=yes ca= cert= ciphers= policy=verify",
       "stored for another key"},
      {"DER damaged", flipped, kKey, "bad session encoding"},
      {"length not a number", bad_len, kKey, "bad header"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::string why;
    CHECK_FALSE(decode_session_file(c.bytes, c.key, kNow, &why));
    CHECK(why == c.why);
  }
}

TEST_CASE("session file: never used at or past its lifetime", "[session_cache]") {
  std::string why;
  // The header's expiry.
  auto s = make_session(kNow - 10, 7200);
  std::string bytes = encode_session_file(kKey, s.get(), kNow + 600);
  CHECK(decode_session_file(bytes, kKey, kNow + 599, &why));
  CHECK_FALSE(decode_session_file(bytes, kKey, kNow + 600, &why));
  CHECK(why == "expired");
  // A header written for longer than the cache ever keeps (a clock set
  // back, or not our writing).
  bytes = encode_session_file(kKey, s.get(), kNow + kSessionMaxLifetime + 1);
  CHECK_FALSE(decode_session_file(bytes, kKey, kNow, &why));
  CHECK(why == "expired");
  // OpenSSL's own: time + timeout, whatever the header says.
  auto old = make_session(kNow - 100, 50);
  bytes = encode_session_file(kKey, old.get(), kNow + 600);
  CHECK_FALSE(decode_session_file(bytes, kKey, kNow, &why));
  CHECK(why == "expired");
}

TEST_CASE("session cache: store, load, replace, remove", "[session_cache]") {
  CacheDir dir;
  SessionCache cache(dir.path.string());
  std::string why;
  CHECK_FALSE(cache.load(kKey, kNow, &why));
  CHECK(why == "no entry");

  auto first = make_session(kNow, 7200, 1);
  REQUIRE(cache.store(kKey, first.get(), kNow, &why));
  struct stat st {};
  REQUIRE(stat(dir.file(kKey).c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the file holds the session's secret
  auto got = cache.load(kKey, kNow + 1, &why);
  REQUIRE(got);
  CHECK(master_key(got.get()) == master_key(first.get()));
  // Kept at most an hour, though the session says two.
  CHECK_FALSE(cache.load(kKey, kNow + kSessionMaxLifetime, &why));

  auto second = make_session(kNow, 7200, 9);
  REQUIRE(cache.store(kKey, second.get(), kNow, &why));
  got = cache.load(kKey, kNow + 1, &why);
  REQUIRE(got);
  CHECK(master_key(got.get()) == master_key(second.get()));
  CHECK(dir.entries() == 1);
  // No temporary file left behind.
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  // The key is checked whole: the same file under another key's name is
  // a miss.
  const std::string other = kKey + " tlsa=abc";
  fs::copy_file(dir.file(kKey), dir.file(other));
  CHECK_FALSE(cache.load(other, kNow + 1, &why));
  CHECK(why == "stored for another key");

  cache.remove(kKey);
  CHECK_FALSE(cache.load(kKey, kNow + 1, &why));
  CHECK(why == "no entry");
}

TEST_CASE("session cache: expired or unresumable sessions are not stored", "[session_cache]") {
  CacheDir dir;
  SessionCache cache(dir.path.string());
  std::string why;
  auto old = make_session(kNow - 100, 50);
  CHECK_FALSE(cache.store(kKey, old.get(), kNow, &why));
  CHECK(why == "expired");
  SslSessionPtr empty(SSL_SESSION_new());
  CHECK_FALSE(cache.store(kKey, empty.get(), kNow, &why));
  CHECK(why == "not resumable");
  CHECK(dir.entries() == 0);
}

TEST_CASE("session cache: a directory that is not safe is not used", "[session_cache]") {
  auto s = make_session(kNow, 7200);
  std::string why;
  {
    SessionCache missing("/nonexistent/tlscache");
    CHECK_FALSE(missing.store(kKey, s.get(), kNow, &why));
    CHECK_FALSE(missing.load(kKey, kNow, &why));
    SessionCache none("");
    CHECK_FALSE(none.load(kKey, kNow, &why));
  }
  CacheDir dir;
  SessionCache cache(dir.path.string());
  REQUIRE(cache.store(kKey, s.get(), kNow, &why));
  // Group- or world-writable: someone else could plant a session there.
  for (mode_t mode : {0770, 0703}) {
    INFO("mode " << std::oct << mode);
    REQUIRE(chmod(dir.path.c_str(), mode) == 0);
    CHECK_FALSE(cache.load(kKey, kNow, &why));
    CHECK(why.find("writable by others") != std::string::npos);
    CHECK_FALSE(cache.store(kKey, s.get(), kNow, &why));
  }
  REQUIRE(chmod(dir.path.c_str(), 0700) == 0);
  CHECK(cache.load(kKey, kNow, &why));
  // An entry that is not a regular file (a FIFO would block a reader).
  const std::string fifo_key = kKey + " fifo";
  REQUIRE(mkfifo(dir.file(fifo_key).c_str(), 0600) == 0);
  CHECK_FALSE(cache.load(fifo_key, kNow, &why));
  CHECK(why == "not a regular file");
  // A symbolic link is not followed.
  const std::string link_key = kKey + " link";
  fs::create_symlink(dir.file(kKey), dir.file(link_key));
  CHECK_FALSE(cache.load(link_key, kNow, &why));
  // Larger than any entry we write.
  const std::string big_key = kKey + " big";
  spit(dir.file(big_key), std::string(kSessionMaxBytes + 2048, 'x'));
  CHECK_FALSE(cache.load(big_key, kNow, &why));
  CHECK(why == "too large");
}

TEST_CASE("session cache: bounded; expired and oldest entries go first", "[session_cache]") {
  CacheDir dir;
  SessionCache cache(dir.path.string());
  auto s = make_session(kNow, 7200);
  std::string why;
  // A stale temporary (a writer that died) and a file not ours.
  spit((dir.path / ".tmp.1.1").string(), "x");
  spit((dir.path / "README").string(), "not ours");
  const auto stamp = [](const std::string& path, time_t t) {
    fs::last_write_time(path,
                        fs::file_time_type::clock::now() - std::chrono::seconds(time(nullptr) - t));
  };
  stamp((dir.path / ".tmp.1.1").string(), time(nullptr) - 120);
  const time_t now = time(nullptr);
  auto live = make_session(now, 7200);
  for (size_t i = 0; i < kSessionMaxEntries; ++i) {
    const std::string key = kKey + " n=" + std::to_string(i);
    REQUIRE(cache.store(key, live.get(), now, &why));
    // Entry 0 is stale (older than any lifetime); the others in order of age.
    stamp(dir.file(key), i == 0 ? now - kSessionMaxLifetime - 1 : now - 2000 + time_t(i));
  }
  CHECK(dir.entries() == kSessionMaxEntries);
  // One more key: beyond the bound, so pruned to kSessionPruneTo.
  REQUIRE(cache.store(kKey + " n=new", live.get(), now, &why));
  CHECK(dir.entries() == kSessionPruneTo);
  CHECK(cache.load(kKey + " n=new", now, &why));
  CHECK(cache.load(kKey + " n=" + std::to_string(kSessionMaxEntries - 1), now, &why));
  // The 101 oldest are gone: the stale one and 1..100.
  CHECK_FALSE(fs::exists(dir.file(kKey + " n=0")));
  CHECK_FALSE(fs::exists(dir.file(kKey + " n=100")));
  CHECK(fs::exists(dir.file(kKey + " n=101")));
  CHECK_FALSE(fs::exists(dir.path / ".tmp.1.1"));
  CHECK(fs::exists(dir.path / "README"));
  // Replacing an existing key never prunes.
  REQUIRE(cache.store(kKey + " n=new", live.get(), now, &why));
  CHECK(dir.entries() == kSessionPruneTo);
}

TEST_CASE("session cache: the directory beside queue/lock", "[session_cache]") {
  CHECK(session_cache_dir_for("/var/qmail/control") == "/var/qmail/queue/tlscache");
  CHECK(session_cache_dir_for("/var/qmail/control/") == "/var/qmail/queue/tlscache");
  CHECK(session_file_name("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 B.1
}

// qmail-routes check (SPEC §11, §15): the cache directory is a note only.
TEST_CASE("check: notes on queue/tlscache", "[session_cache][admin]") {
  CacheDir root;  // stands for $QMAIL_ROOT
  const std::string control = (root.path / "control").string();
  const std::string cache = (root.path / "queue" / "tlscache").string();
  Account me{"me", getuid(), getgid(), "mine", {getgid()}};
  Account other{"qmailr", getuid() + 1, getgid(), "qmail", {getgid()}};
  auto note = tlscache_note(control, &me);
  REQUIRE(note);
  CHECK(note->rfind("queue/tlscache: note: " + cache + ": No such file or directory", 0) == 0);
  CHECK(note->find("install -d -m 0700 -o me -g mine " + cache) != std::string::npos);
  fs::create_directories(cache);
  REQUIRE(chmod(cache.c_str(), 0700) == 0);
  CHECK_FALSE(tlscache_note(control, &me));
  CHECK_FALSE(tlscache_note(control, nullptr));  // no such user: the mode only
  note = tlscache_note(control, &other);
  REQUIRE(note);
  CHECK(note->find("is not owned by qmailr, so qmail-remote does not use it") != std::string::npos);
  CHECK(note->find("fix: chown qmailr:qmail " + cache + " && chmod 0700 " + cache) !=
        std::string::npos);
  REQUIRE(chmod(cache.c_str(), 0775) == 0);
  note = tlscache_note(control, &me);
  REQUIRE(note);
  CHECK(note->find(" is writable by others, so qmail-remote does not use it") != std::string::npos);
}

TEST_CASE("session file: the peer certificate can be left out", "[session_cache]") {
  // A session with a peer certificate, from a real encoding: d2i of a DER
  // that has [3] gives a session whose SSL_SESSION_get0_peer is set.
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  REQUIRE(key);
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  auto s = make_session(kNow, 7200);
  // No setter for the peer: splice [3] EXPLICIT cert into the DER by hand.
  std::string der(size_t(i2d_SSL_SESSION(s.get(), nullptr)), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_SSL_SESSION(s.get(), &p);
  std::string c(size_t(i2d_X509(cert.get(), nullptr)), '\0');
  auto* q = reinterpret_cast<unsigned char*>(c.data());
  i2d_X509(cert.get(), &q);
  REQUIRE(c.size() < 0x10000);
  const auto long_len = [](size_t n) {
    return std::string{char(0x82), char(n >> 8), char(n & 0xff)};
  };
  // The fields must stay in order: [3] goes right after [2] (the timeout).
  size_t hdr = (static_cast<unsigned char>(der[1]) & 0x80) ? 2 + (der[1] & 0x7f) : 2;
  std::string body = der.substr(hdr);
  size_t at = body.find(char(0xa2));  // [2] timeout, short form
  REQUIRE(at != std::string::npos);
  at += 2 + static_cast<unsigned char>(body[at + 1]);
  std::string peer = std::string(1, char(0xa3)) + long_len(c.size()) + c;
  body.insert(at, peer);
  std::string with = std::string(1, char(0x30)) + long_len(body.size()) + body;
  const auto* w = reinterpret_cast<const unsigned char*>(with.data());
  SslSessionPtr withpeer(d2i_SSL_SESSION(nullptr, &w, long(with.size())));
  REQUIRE(withpeer);
  REQUIRE(SSL_SESSION_get0_peer(withpeer.get()) != nullptr);

  const std::string stripped = strip_peer_certificate(with);
  REQUIRE(!stripped.empty());
  CHECK(stripped.find(c) == std::string::npos);  // the certificate is gone
  CHECK(stripped.size() < with.size() - c.size());
  const auto* r = reinterpret_cast<const unsigned char*>(stripped.data());
  SslSessionPtr back(d2i_SSL_SESSION(nullptr, &r, long(stripped.size())));
  REQUIRE(back);
  CHECK(SSL_SESSION_get0_peer(back.get()) == nullptr);
  CHECK(master_key(back.get()) == master_key(s.get()));

  // Through the file: kept or left out as asked.
  std::string why;
  auto kept =
      decode_session_file(encode_session_file(kKey, withpeer.get(), kNow + 60), kKey, kNow, &why);
  REQUIRE(kept);
  CHECK(SSL_SESSION_get0_peer(kept.get()) != nullptr);
  auto left = decode_session_file(encode_session_file(kKey, withpeer.get(), kNow + 60, false), kKey,
                                  kNow, &why);
  REQUIRE(left);
  CHECK(SSL_SESSION_get0_peer(left.get()) == nullptr);

  // Not a SEQUENCE, a cut element, a length beyond the end: refused.
  for (const std::string& bad : {std::string(), std::string("\x31\x00", 2), with.substr(0, 40),
                                 std::string("\x30\x03\x02\x05\x00", 5)}) {
    CHECK(strip_peer_certificate(bad).empty());
  }
}
