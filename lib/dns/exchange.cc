// DNS over connected UDP sockets, TCP on truncation (SPEC §5, §12; issue 12).
//
// Why not ldns_resolver_query: ldns sends each UDP query from an
// unconnected socket (sendto) and waits the whole timeout for a reply; the
// ICMP port unreachable of a server with nothing on port 53 is never
// delivered to such a socket, so a refusing server cost 5 s x 2 tries, and
// qmail-remote 10.3 s per delivery, where vanilla (libc's connected sockets)
// takes 0.34 s. It also takes any datagram as the answer, without looking at
// its ID or question. Here a socket is connect()ed to its server: the kernel
// then passes only that server's datagrams, and an ICMP error comes back as
// ECONNREFUSED at once, so the next server is asked without delay.
#include "lib/dns/exchange.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "lib/net/fd.h"
#include "lib/net/stream.h"

namespace qr {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint16_t kEdnsUdpSize = 1232;  // DNS Flag Day 2020: no IP fragments
constexpr size_t kMaxMessage = 65535;    // the most a UDP or TCP DNS message holds
constexpr size_t kNone = static_cast<size_t>(-1);

uint16_t random_id() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof id, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof id)) {
    // No entropy yet (early boot): the clock and the PID still differ per query.
    id = static_cast<uint16_t>(Clock::now().time_since_epoch().count() ^ getpid());
  }
  return id;
}

// Milliseconds until `t` for poll(), rounded up so that poll never wakes early.
int ms_until(Clock::time_point t) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
  if (left <= 0) return 0;
  return left > INT_MAX ? INT_MAX : static_cast<int>(left);
}

std::string errno_text(int e) {
  if (e == ECONNREFUSED) return "connection refused (ICMP port unreachable)";
  return std::strerror(e);
}

std::string rcode_text(ldns_pkt_rcode rcode) {
  const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, rcode);
  return entry ? entry->name : "rcode " + std::to_string(static_cast<int>(rcode));
}

bool final_rcode(ldns_pkt_rcode rcode) {
  return rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN;
}

// Does `pkt` answer the query with this ID for (name, type, IN)? The
// question must be the one asked (names case-insensitively, RFC 4343). An
// error reply without a question section (a FORMERR) is taken as that
// server's error; a NOERROR or NXDOMAIN reply must carry the question.
bool answers(const ldns_pkt* pkt, uint16_t id, const ldns_rdf* name, ldns_rr_type type) {
  if (ldns_pkt_id(pkt) != id || !ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY)
    return false;
  const ldns_rr_list* q = ldns_pkt_question(pkt);
  size_t n = q ? ldns_rr_list_rr_count(q) : 0;
  if (n == 0) return !final_rcode(ldns_pkt_get_rcode(pkt)) && !ldns_pkt_tc(pkt);
  if (n != 1) return false;
  const ldns_rr* rr = ldns_rr_list_rr(q, 0);
  return ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
         ldns_rdf_get_type(ldns_rr_owner(rr)) == LDNS_RDF_TYPE_DNAME &&
         ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

// Waits until `fd` is ready for `events` (or has an error to tell), or
// `until`: net/'s wait, whose error text is not needed here. False on time
// out.
bool wait_fd(int fd, short events, Clock::time_point until) {
  return wait_fd_until(fd, events, until, 0).ok();
}

// One query in flight: the state of each server, the query's wire form.
class Flight {
 public:
  Flight(const std::vector<DnsServer>& servers, const ldns_rdf* name, ldns_rr_type type,
         std::vector<uint8_t> wire, Clock::time_point deadline)
      : servers_(servers),
        name_(name),
        type_(type),
        wire_(std::move(wire)),
        deadline_(deadline),
        tries_(servers.size()),
        buf_(kMaxMessage) {}

  enum class State { Idle, Waiting, Done };
  struct Try {
    State state = State::Idle;
    Fd fd;
    uint16_t id = 0;
    bool heard = false;       // an answer or a refusal came back
    bool share_over = false;  // a whole share went by in silence
    std::string error;        // why Done without an answer
  };

  Try& at(size_t i) { return tries_[i]; }

  // Sends the query to server i: on a new connected socket the first time,
  // again on the same socket with the same ID after that.
  void send_to(size_t i) {
    Try& t = tries_[i];
    if (t.state == State::Done) return;
    if (t.state == State::Idle) {
      sockaddr_storage ss{};
      socklen_t len = servers_[i].addr.to_sockaddr(servers_[i].port, &ss);
      Fd fd(socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd.valid()) return done(i, std::string("socket: ") + std::strerror(errno));
      if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0)
        return done(i, errno_text(errno));
      t.fd = std::move(fd);
      t.id = random_id();
      t.state = State::Waiting;
    }
    std::vector<uint8_t> w = with_id(t.id);
    ssize_t n = send(t.fd.get(), w.data(), w.size(), 0);
    if (n != static_cast<ssize_t>(w.size())) {
      int e = n < 0 ? errno : EMSGSIZE;
      if (e == ECONNREFUSED) t.heard = true;
      done(i, errno_text(e));
    }
  }

  // Reads whatever the waiting sockets have until a final answer comes
  // (returned), server `current` is no longer waiting (kNone: no server is
  // waiting any more), or `until`.
  DnsPkt wait(size_t current, Clock::time_point until) {
    for (;;) {
      if (current != kNone && tries_[current].state != State::Waiting) return nullptr;
      std::vector<pollfd> fds;
      std::vector<size_t> who;
      for (size_t i = 0; i < tries_.size(); ++i) {
        if (tries_[i].state != State::Waiting) continue;
        fds.push_back(pollfd{tries_[i].fd.get(), POLLIN, 0});
        who.push_back(i);
      }
      if (fds.empty()) return nullptr;
      int n = poll(fds.data(), fds.size(), ms_until(until));
      if (n < 0) {
        if (errno == EINTR) continue;
        return nullptr;
      }
      if (n == 0) {
        if (Clock::now() >= until) return nullptr;
        continue;
      }
      for (size_t k = 0; k < fds.size(); ++k)
        if (fds[k].revents != 0)
          if (DnsPkt pkt = read_udp(who[k])) return pkt;
    }
  }

 private:
  void done(size_t i, std::string error) {
    Try& t = tries_[i];
    t.state = State::Done;
    t.fd.reset();
    t.error = std::move(error);
  }

  std::vector<uint8_t> with_id(uint16_t id) const {
    std::vector<uint8_t> w = wire_;
    w[0] = static_cast<uint8_t>(id >> 8);
    w[1] = static_cast<uint8_t>(id & 0xff);
    return w;
  }

  // Every datagram queued on server i's socket. Ones that do not parse or
  // do not answer this query (another ID, another question: stale or
  // forged) are dropped, and the wait goes on.
  DnsPkt read_udp(size_t i) {
    Try& t = tries_[i];
    for (;;) {
      ssize_t n = recv(t.fd.get(), buf_.data(), buf_.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return nullptr;
        if (errno == ECONNREFUSED) t.heard = true;
        done(i, errno_text(errno));
        return nullptr;
      }
      ldns_pkt* raw = nullptr;
      if (ldns_wire2pkt(&raw, buf_.data(), static_cast<size_t>(n)) != LDNS_STATUS_OK) {
        ldns_pkt_free(raw);
        continue;
      }
      DnsPkt pkt(raw);
      if (!answers(pkt.get(), t.id, name_, type_)) continue;
      t.heard = true;
      if (ldns_pkt_tc(pkt.get())) {
        // Still too big for EDNS0's 1232 bytes: the same server over TCP
        // (RFC 7766), within what is left of the query's time.
        std::string why;
        pkt = over_tcp(i, &why);
        if (!pkt) {
          done(i, "truncated answer over UDP, and over TCP: " + why);
          return nullptr;
        }
      }
      ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt.get());
      if (final_rcode(rcode)) return pkt;
      done(i, rcode_text(rcode));  // SERVFAIL, REFUSED, ...: says nothing of the name
      return nullptr;
    }
  }

  DnsPkt over_tcp(size_t i, std::string* why) {
    sockaddr_storage ss{};
    socklen_t len = servers_[i].addr.to_sockaddr(servers_[i].port, &ss);
    Fd fd(socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      *why = std::string("socket: ") + std::strerror(errno);
      return nullptr;
    }
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0 &&
        errno != EINPROGRESS) {
      *why = errno_text(errno);
      return nullptr;
    }
    if (!wait_fd(fd.get(), POLLOUT, deadline_)) {
      *why = "no connection in time";
      return nullptr;
    }
    int err = 0;
    socklen_t errlen = sizeof err;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) err = errno;
    if (err != 0) {
      *why = errno_text(err);
      return nullptr;
    }
    uint16_t id = random_id();
    std::vector<uint8_t> msg = with_id(id);
    msg.insert(msg.begin(), {static_cast<uint8_t>(wire_.size() >> 8),
                             static_cast<uint8_t>(wire_.size() & 0xff)});
    for (size_t sent = 0; sent < msg.size();) {
      ssize_t n = send(fd.get(), msg.data() + sent, msg.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait_fd(fd.get(), POLLOUT, deadline_)) {
          *why = "timed out sending the query";
          return nullptr;
        }
      } else {
        *why = errno_text(errno);
        return nullptr;
      }
    }
    uint8_t head[2];
    if (!read_tcp(fd.get(), head, 2, why)) return nullptr;
    size_t size = (static_cast<size_t>(head[0]) << 8) | head[1];
    if (!read_tcp(fd.get(), buf_.data(), size, why)) return nullptr;
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, buf_.data(), size) != LDNS_STATUS_OK) {
      ldns_pkt_free(raw);
      *why = "an answer that does not parse";
      return nullptr;
    }
    DnsPkt pkt(raw);
    if (!answers(pkt.get(), id, name_, type_)) {
      *why = "an answer to another query";
      return nullptr;
    }
    if (ldns_pkt_tc(pkt.get())) {
      *why = "truncated again";
      return nullptr;
    }
    return pkt;
  }

  bool read_tcp(int fd, uint8_t* out, size_t size, std::string* why) {
    for (size_t got = 0; got < size;) {
      ssize_t n = recv(fd, out + got, size - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
      } else if (n == 0) {
        *why = "connection closed before the whole answer";
        return false;
      } else if (errno == EAGAIN || errno == EINTR) {
        if (!wait_fd(fd, POLLIN, deadline_)) {
          *why = "no whole answer in time";
          return false;
        }
      } else {
        *why = errno_text(errno);
        return false;
      }
    }
    return true;
  }

  const std::vector<DnsServer>& servers_;
  const ldns_rdf* name_;
  ldns_rr_type type_;
  std::vector<uint8_t> wire_;  // ID 0: each server's is put in when sent
  Clock::time_point deadline_;
  std::vector<Try> tries_;
  std::vector<uint8_t> buf_;
};

}  // namespace

DnsExchanger::DnsExchanger(std::vector<DnsServer> servers, DnsTiming timing)
    : servers_(std::move(servers)), silent_(servers_.size(), false), timing_(timing) {
  if (timing_.rounds < 1) timing_.rounds = 1;
}

DnsExchangeResult DnsExchanger::query(const ldns_rdf* name, ldns_rr_type type, bool dnssec) {
  DnsExchangeResult out;
  if (servers_.empty()) {
    out.error = "no DNS server configured";
    return out;
  }
  DnsPkt q(ldns_pkt_query_new(ldns_rdf_clone(name), type, LDNS_RR_CLASS_IN, LDNS_RD));
  if (!q) {
    out.error = "cannot build the query";
    return out;
  }
  ldns_pkt_set_edns_udp_size(q.get(), kEdnsUdpSize);
  if (dnssec) {
    ldns_pkt_set_edns_do(q.get(), true);
    ldns_pkt_set_cd(q.get(), true);
  }
  uint8_t* raw = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&raw, q.get(), &size) != LDNS_STATUS_OK || !raw || size < 12) {
    std::free(raw);
    out.error = "cannot build the query";
    return out;
  }
  std::vector<uint8_t> wire(raw, raw + size);
  std::free(raw);

  std::vector<size_t> order;  // the servers in play, in the order configured
  for (size_t i = 0; i < servers_.size(); ++i)
    if (!silent_[i]) order.push_back(i);

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timing_.budget;
  Flight flight(servers_, name, type, std::move(wire), deadline);
  using State = Flight::State;

  auto finish = [&](DnsPkt pkt) {
    for (size_t i : order) {
      const auto& t = flight.at(i);
      if (t.state == State::Waiting && t.share_over && !t.heard) silent_[i] = true;
    }
    out.pkt = std::move(pkt);
  };

  for (int round = 0; round < timing_.rounds && !order.empty(); ++round) {
    const Clock::time_point round_end = round + 1 == timing_.rounds
                                            ? deadline
                                            : start + timing_.budget * (round + 1) / timing_.rounds;
    // Round 0 asks every server; later rounds ask again those still silent.
    const State wanted = round == 0 ? State::Idle : State::Waiting;
    for (size_t k = 0; k < order.size(); ++k) {
      size_t i = order[k];
      if (flight.at(i).state != wanted) continue;
      Clock::time_point now = Clock::now();
      if (now >= deadline) break;
      long left = 0;  // this server and those after it in this round
      for (size_t j = k; j < order.size(); ++j) left += flight.at(order[j]).state == wanted;
      const Clock::time_point share_end = now + (round_end - now) / left;
      flight.send_to(i);
      if (DnsPkt pkt = flight.wait(i, share_end)) {
        finish(std::move(pkt));
        return out;
      }
      if (flight.at(i).state == State::Waiting && Clock::now() >= share_end)
        flight.at(i).share_over = true;
    }
  }
  // A late answer from a server passed over is still good until the deadline.
  if (DnsPkt pkt = flight.wait(kNone, deadline)) {
    finish(std::move(pkt));
    return out;
  }
  finish(nullptr);

  for (size_t i = 0; i < servers_.size(); ++i) {
    const auto& t = flight.at(i);
    std::string what;
    if (t.state == State::Done)
      what = t.error;
    else if (t.state == State::Waiting)
      what = "no answer";
    else if (silent_[i])
      what = "did not answer an earlier query";
    else
      what = "not asked: no time left";
    if (!out.error.empty()) out.error += "; ";
    out.error += format_endpoint(servers_[i].addr, servers_[i].port) + ": " + what;
  }
  return out;
}

}  // namespace qr
