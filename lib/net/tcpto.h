// Dead hosts (SPEC §12, issue 12): remote addresses, and (remote, local IP)
// pairs, that did not answer a connect, remembered across deliveries so that
// a blackholed relay costs one timeoutconnect, not one per delivery.
//
// Two files in $QMAIL_ROOT/queue/lock/:
//
// - tcpto: qmail's own file, in qmail's own format and rules (notqmail's
//   tcpto.c), so that qmail-tcpto lists and qmail-tcpok clears what we
//   record, and the classic qmail-remote reads it too. 64 records of 16
//   bytes: bytes 0-3 the IPv4 address, byte 4 the count (0..10), bytes 8-11
//   the time of the last counted failure, least significant byte first.
// - tcpto-pairs: ours, for what qmail's file cannot hold: IPv6 remotes, and
//   a (remote, local IP) pair that timed out while the remote answered
//   another of our local IPs. Same rules, 256 records of 48 bytes
//   (doc/TCPTO.md has the layout).
//
// Which file a timeout goes to (record_timeout):
//   IPv4 remote, no local IP pinned, or every local IP tried timed out
//       -> tcpto, the remote's record (what vanilla would record);
//   IPv6 remote, same cases -> tcpto-pairs, remote with local "any";
//   a pinned local IP timed out while the remote answered another local IP
//       -> tcpto-pairs, the (remote, local) record.
//
// The rules (qmail's): only a connect timeout counts; a connect that
// succeeds or fails at once (refused, unreachable) sets a present record's
// count to 0; a timeout within 120 s of the last counted one is not counted
// again; the count stops at 10. With count >= 2, the address is skipped
// while less than (60 + pid mod 32) * 64 s have passed since the last
// failure. Beyond vanilla, count 1 within that window demotes it: tried
// after every unmarked pair. A new address takes the first record with
// count 0, else the one whose time + count * 1024 is the oldest.
//
// Bad files are "nothing remembered", never a failure: missing, not a
// regular file, the wrong size, not writable (EACCES, EROFS: qmail opens it
// for writing, so do we), a lock not taken within a second. A record with a
// count above 10 or, in tcpto-pairs, an unknown version or family is
// ignored and counts as a free record. A record with a time in the future
// (the clock went back) is ignored by check() and restarted by the next
// timeout of its address, but not taken for another address before older
// ones. Times are read under the lock. Every change is one pwrite() of one
// record under flock(LOCK_EX), the lock qmail takes (lock_ex is flock on
// Linux).
//
// How the walk (lib/deliver.cc) uses it, with the class DeadHosts below:
//
//   // in class Walk, after dir_:
//   DeadHosts dead_{tcpto::lock_dir_for(dir_)};
//   std::vector<Attempt> demoted_;  // tried after every unmarked pair of the plan
//
//   // Walk::run(), instead of `for (const auto& a : attempts) if (attempt(...)) return;`
//   for (const auto& a : attempts) {
//     tcpto::Verdict v = dead_.check(a.target.addr, a.local);
//     if (v.kind == tcpto::Kind::skipped) {
//       std::string where = format_endpoint(a.target.addr, a.target.port) +
//                           (a.target.host.empty() ? "" : " (" + a.target.host + ")");
//       note(where + ": " + tcpto::skipped_text(v),
//            " from " + (a.local ? a.local->str() : "default"), where.size());
//     } else if (v.kind == tcpto::Kind::demoted) {
//       demoted_.push_back(a);
//     } else if (attempt(a.target, a.local)) {
//       return;
//     }
//   }
//   // ...after the loop over plan.remotes, before give_up():
//   for (const auto& a : demoted_)
//     if (attempt(a.target, a.local)) return;
//
//   // Walk::attempt(), right after connect_tcp():
//   if (fd || (!cf.timed_out && !cf.bind_failed))
//     dead_.answered(t.addr, local);  // connected, refused, unreachable
//   else if (cf.timed_out)
//     dead_.timed_out(t.addr, local);
//
// (ConnectFailure::timed_out is set by connect_tcp, lib/net/connect.h.) The
// DeadHosts destructor, at the end of deliver(), writes what is pending; the
// walk may call dead_.finish() before its report instead.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/net/address.h"

namespace qr {
namespace tcpto {

// qmail's file (tcpto.c, qmail-tcpok.c: "must match size").
inline constexpr size_t kQmailRecordSize = 16;
inline constexpr size_t kQmailRecords = 64;
inline constexpr size_t kQmailFileSize = kQmailRecordSize * kQmailRecords;  // 1024
// Ours (doc/TCPTO.md).
inline constexpr size_t kPairRecordSize = 48;
inline constexpr size_t kPairRecords = 256;
inline constexpr size_t kPairFileSize = kPairRecordSize * kPairRecords;  // 12288
inline constexpr uint8_t kPairVersion = 1;

inline constexpr unsigned kMaxCount = 10;
inline constexpr uint64_t kRecountAfter = 120;  // s: a timeout sooner is not counted again
inline constexpr uint64_t kCountWeight = 1024;  // s per count when choosing a record to reuse

// The skip window of tcpto.c: ((60 + (pid & 31)) << 6) seconds, 3840 to 5824.
constexpr uint64_t window(pid_t pid) {
  return (60 + (uint64_t(pid) & 31)) << 6;
}
inline constexpr uint64_t kWindowMin = window(0);
inline constexpr uint64_t kWindowMax = window(31);

enum class Format { qmail, pairs };

// One record, decoded. Only well-formed records in use are decoded.
struct Record {
  IpAddr remote;
  std::optional<IpAddr> local;  // tcpto-pairs only; nullopt: any local IP
  unsigned count = 0;           // 1..10 for a record in use; 0: cleared
  uint32_t when = 0;            // time of the last counted failure (seconds)
};

enum class Kind { none, demoted, skipped };

struct Verdict {
  Kind kind = Kind::none;
  uint64_t age = 0;  // seconds since the last counted failure (demoted, skipped)
  bool operator==(const Verdict&) const = default;
};

// "skipped: no connection within timeoutconnect, 42 s ago": the attempt
// list's line for a skipped pair (SPEC §12).
std::string skipped_text(const Verdict& v);

// --- the rules, on values ---------------------------------------------

// What a record (count, when) means at `now` for a process with `pid`.
Verdict judge(unsigned count, uint32_t when, uint64_t now, pid_t pid);

// --- the bytes ---------------------------------------------------------

// The record at `p` (kQmailRecordSize or kPairRecordSize bytes), or nullopt
// when it is free: count 0 with no address (qmail's zeroed record), or not
// well formed (count > 10, time after `now`; pairs: version, family).
// Records with count 0 and an address are returned (count 0): a reset.
std::optional<Record> decode(Format f, const uint8_t* p, uint64_t now);
// Writes r into the record at `p`. qmail's: bytes 0-4 and 8-11 only (the
// others stay as they are, as tcpto.c leaves them); pairs: all 48.
void encode(Format f, const Record& r, uint8_t* p);

inline constexpr size_t record_size(Format f) {
  return f == Format::qmail ? kQmailRecordSize : kPairRecordSize;
}
inline constexpr size_t file_size(Format f) {
  return f == Format::qmail ? kQmailFileSize : kPairFileSize;
}

// --- a file image: what a change does to it ----------------------------
// Each returns the index of the record it changed, or nullopt when nothing
// is to be written. `image` is a whole file (file_size(f) bytes).

// The record of (remote, local): local nullopt is "any" (and the only kind
// in qmail's file). Only well-formed records match.
std::optional<size_t> find(Format f, const std::vector<uint8_t>& image, const IpAddr& remote,
                           const std::optional<IpAddr>& local, uint64_t now);
// A connect timeout: counted (count + 1, at most 10, time `now`) unless the
// last counted one is less than 120 s old; a new address takes a free
// record, else the one whose time + count * 1024 is the oldest.
std::optional<size_t> apply_timeout(Format f, std::vector<uint8_t>& image, const IpAddr& remote,
                                    const std::optional<IpAddr>& local, uint64_t now);
// A connect that answered: a present record's count becomes 0 (its time
// stays, as tcpto.c does it).
std::optional<size_t> apply_answered(Format f, std::vector<uint8_t>& image, const IpAddr& remote,
                                     const std::optional<IpAddr>& local, uint64_t now);
// Zeroes every record whose remote (or, in tcpto-pairs, local) address is
// `ip`; all of them when ip is nullopt. Returns the indexes changed.
std::vector<size_t> apply_clear(Format f, std::vector<uint8_t>& image,
                                const std::optional<IpAddr>& ip);

// --- the files ---------------------------------------------------------

// $QMAIL_ROOT/queue/lock, from the control directory ($QMAIL_ROOT/control).
std::string lock_dir_for(const std::string& control_dir);
std::string path_of(const std::string& lock_dir, Format f);  // .../tcpto, .../tcpto-pairs

// How long to wait for the lock before "nothing remembered".
inline constexpr std::chrono::milliseconds kLockWait{1000};

// The whole file, read under the lock, or nullopt (nothing remembered):
// missing, not writable, not a regular file, the wrong size, lock not taken
// within `wait`, a read error. `why`, when given, says which.
std::optional<std::vector<uint8_t>> load(const std::string& path, Format f,
                                         std::chrono::milliseconds wait = kLockWait,
                                         std::string* why = nullptr);

// Read-modify-write under the lock: `change` gets the image and returns the
// indexes of the records it changed; each is written with one pwrite. An
// empty tcpto-pairs file is made full size (zeros) first; qmail's file is
// never resized. false (and `why`) when the file could not be used.
bool update(const std::string& path, Format f,
            const std::function<std::vector<size_t>(std::vector<uint8_t>&)>& change,
            std::chrono::milliseconds wait = kLockWait, std::string* why = nullptr);

// qmail-tcpok's job, for `qmail-routes tcpok`: every record zeroed and the
// size made right (qmail-tcpok writes 1024 zeros and never truncates), under
// the lock. `create`: a missing file is made, mode 0644, with the owner and
// group of `like` (another file) when it exists. qmail-remote never calls it.
bool reset(const std::string& path, Format f, bool create, const std::string& like,
           std::chrono::milliseconds wait, std::string* why);

}  // namespace tcpto

// The per-delivery view the walk uses (see the top of this file).
class DeadHosts {
 public:
  struct Config {
    std::string lock_dir;           // $QMAIL_ROOT/queue/lock
    std::function<uint64_t()> now;  // default: time(nullptr)
    pid_t pid = 0;                  // for the window; default getpid()
    std::chrono::milliseconds lock_wait = tcpto::kLockWait;
  };
  explicit DeadHosts(std::string lock_dir);
  explicit DeadHosts(Config config);
  ~DeadHosts();  // finish()
  DeadHosts(const DeadHosts&) = delete;
  DeadHosts& operator=(const DeadHosts&) = delete;

  // What is remembered of the remote (v4: tcpto; v6: tcpto-pairs, local
  // any) and, with a pinned local IP, of the pair: the worse of the two.
  // The files are read once per DeadHosts, at the first check.
  tcpto::Verdict check(const IpAddr& remote, const std::optional<IpAddr>& local);

  // The walk's two events, per attempt. A timeout waits until the walk's
  // next event about another remote (or finish()): if the same remote
  // answered from another local IP meanwhile, the timeout is a pair's;
  // otherwise it is the remote's, recorded once for all its local IPs.
  void timed_out(const IpAddr& remote, const std::optional<IpAddr>& local);
  void answered(const IpAddr& remote, const std::optional<IpAddr>& local);  // connected, refused
  void finish();  // records what is pending

  // The immediate forms (the brief's API). `answered_elsewhere`: the remote
  // answered another of our local IPs, so only the pair is to blame.
  void record_timeout(const IpAddr& remote, const std::optional<IpAddr>& local,
                      bool answered_elsewhere);
  void record_success(const IpAddr& remote, const std::optional<IpAddr>& local);

 private:
  uint64_t now() const;
  const std::vector<uint8_t>* snapshot(tcpto::Format f);
  // Was something with a count remembered for this key at the first look?
  bool was_there(tcpto::Format f, const IpAddr& remote, const std::optional<IpAddr>& local);
  void switch_to(const IpAddr& remote);

  Config config_;
  struct Snapshot {
    bool loaded = false;
    std::optional<std::vector<uint8_t>> image;
  };
  Snapshot qmail_, pairs_;
  struct Pending {
    IpAddr remote;
    std::vector<std::optional<IpAddr>> timed_out;
    bool answered = false;
  };
  std::optional<Pending> pending_;
};

}  // namespace qr
