// DNS layer pieces that need no server (SPEC §2 DNSCACHEIP, §5 self-MX),
// and the query exchange (SPEC §5, §12; lib/dns/exchange.h) against small
// fake servers on 127.0.0.1 in a thread of this process. The resolver as a
// whole is tested against Unbound: tests/integration/t_dns.sh.
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lib/dns/dns.h"
#include "lib/dns/exchange.h"
#include "lib/net/fd.h"

using qr::DnsServer;
using qr::IpAddr;
using qr::MxHost;

namespace {

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

std::string show(const std::vector<DnsServer>& servers) {
  std::string out;
  for (const auto& s : servers) {
    if (!out.empty()) out += ' ';
    out += qr::format_endpoint(s.addr, s.port);
  }
  return out;
}

}  // namespace

TEST_CASE("parse_dnscacheip accepts the SPEC §2 forms", "[dns]") {
  struct Row {
    const char* value;
    const char* servers;  // as format_endpoint prints them
  };
  const Row rows[] = {
      {"127.0.0.1", "127.0.0.1:53"},
      {"1.2.3.4 5.6.7.8", "1.2.3.4:53 5.6.7.8:53"},
      {"1.2.3.4,5.6.7.8:5353", "1.2.3.4:53 5.6.7.8:5353"},
      {"  1.2.3.4 , ,\t::1  ", "1.2.3.4:53 [::1]:53"},
      {"[::1]:5353", "[::1]:5353"},
      {"[2001:db8::1]", "[2001:db8::1]:53"},
      {"2001:db8::1", "[2001:db8::1]:53"},  // bare IPv6: its colons are not a port
      {"127.0.0.53:65535,[::1]:1", "127.0.0.53:65535 [::1]:1"},
      {"1.2.3.4 [::1]:5353,127.0.0.1:53", "1.2.3.4:53 [::1]:5353 127.0.0.1:53"},  // dns.h's example
  };
  for (const auto& row : rows) {
    INFO("DNSCACHEIP=" << row.value);
    auto got = qr::parse_dnscacheip(row.value);
    REQUIRE(got.ok());
    CHECK(show(*got) == row.servers);
  }
}

TEST_CASE("parse_dnscacheip rejects bad values and names them", "[dns]") {
  struct Row {
    const char* value;
    const char* named;  // the error text must contain this
  };
  const Row rows[] = {
      {"", "DNSCACHEIP"},
      {" , ", "DNSCACHEIP"},
      {"localhost", "localhost"},
      {"1.2.3.4 cache.example", "cache.example"},
      {"256.1.1.1", "256.1.1.1"},
      {"1.2.3.4:", "1.2.3.4:"},
      {"1.2.3.4:0", "1.2.3.4:0"},
      {"1.2.3.4:65536", "1.2.3.4:65536"},
      {"1.2.3.4:53x", "1.2.3.4:53x"},
      {"1.2.3.4:-1", "1.2.3.4:-1"},
      {"[::1", "[::1"},
      {"[::1]53", "[::1]53"},
      {"[::1]:", "[::1]:"},
      {"[1.2.3.4]:53", "[1.2.3.4]:53"},
      {"[]:53", "[]:53"},
      {"1.2.3.4:5:6", "1.2.3.4:5:6"},
  };
  for (const auto& row : rows) {
    INFO("DNSCACHEIP=\"" << row.value << "\"");
    auto got = qr::parse_dnscacheip(row.value);
    REQUIRE_FALSE(got.ok());
    CHECK_THAT(got.error(), Catch::Contains(row.named));
  }
}

TEST_CASE("drop_self_mx drops a local MX and every MX not better (SPEC §5)", "[dns]") {
  const std::set<IpAddr> local = {ip("192.0.2.1"), ip("2001:db8::1")};
  auto is_local = [&](const IpAddr& a) { return local.count(a) > 0; };
  struct Row {
    const char* name;
    std::vector<MxHost> hosts;
    std::vector<std::string> kept;
    bool dropped;
  };
  // Hosts come in preference order, as lookup_mx returns them.
  const Row rows[] = {
      {"best MX is local: all dropped",
       {{"a", 10, {ip("192.0.2.1")}, ""}, {"b", 20, {ip("198.51.100.2")}, ""}},
       {},
       true},
      {"second-best local: only the best kept",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("192.0.2.1")}, ""},
        {"c", 30, {ip("198.51.100.3")}, ""}},
       {"a"},
       true},
      {"equal preference of a local host dropped too (local one listed second)",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("198.51.100.2")}, ""},
        {"c", 20, {ip("192.0.2.1")}, ""},
        {"d", 30, {ip("198.51.100.4")}, ""}},
       {"a"},
       true},
      {"equal preference of a local host dropped too (local one listed first)",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"c", 20, {ip("192.0.2.1")}, ""},
        {"b", 20, {ip("198.51.100.2")}, ""}},
       {"a"},
       true},
      {"a local IPv6 address after a remote IPv4 one counts",
       {{"a", 10, {ip("198.51.100.1")}, ""},
        {"b", 20, {ip("198.51.100.2"), ip("2001:db8::1")}, ""}},
       {"a"},
       true},
      {"no local address: nothing dropped",
       {{"a", 10, {ip("198.51.100.1")}, ""}, {"b", 10, {ip("2001:db8::2")}, ""}},
       {"a", "b"},
       false},
      {"a host without addresses is kept when better",
       {{"x", 5, {}, "no address for x"}, {"y", 10, {ip("192.0.2.1")}, ""}},
       {"x"},
       true},
      {"empty list", {}, {}, false},
  };
  for (const auto& row : rows) {
    INFO(row.name);
    auto hosts = row.hosts;
    CHECK(qr::drop_self_mx(hosts, is_local) == row.dropped);
    std::vector<std::string> kept;
    for (const auto& h : hosts) kept.push_back(h.name);
    CHECK(kept == row.kept);
  }
}

// --- the exchange: connected UDP sockets, one deadline, checked answers -----

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long ms_since(Clock::time_point t0) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count());
}

// A socket of `type` bound to 127.0.0.1 on a kernel-chosen port, or on `port`.
qr::Fd bound(int type, uint16_t* port) {
  qr::Fd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage sa;
  socklen_t len = ip("127.0.0.1").to_sockaddr(*port, &sa);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), len) == 0);
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  *port = ntohs(reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  return fd;
}

// A UDP port on 127.0.0.1 where nothing listens: the kernel answers a
// datagram there with ICMP port unreachable.
uint16_t refusing_port() {
  uint16_t port = 0;
  bound(SOCK_DGRAM, &port);  // bound, then closed at once
  return port;
}

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

// How a fake server answers one query.
struct Answer {
  int delay_ms = 0;
  uint16_t id_xor = 0;          // not 0: another ID
  const char* qname = nullptr;  // set: the question names this instead
  ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
  bool tc = false;    // truncated, and no records
  int a_records = 1;  // A records 192.0.2.1, 192.0.2.2, ... for an A query
};

std::vector<uint8_t> wire_of(const ldns_pkt* query, const Answer& how) {
  Pkt a(ldns_pkt_new());
  ldns_pkt_set_id(a.get(), ldns_pkt_id(query) ^ how.id_xor);
  ldns_pkt_set_qr(a.get(), true);
  ldns_pkt_set_rd(a.get(), true);
  ldns_pkt_set_ra(a.get(), true);
  ldns_pkt_set_opcode(a.get(), LDNS_PACKET_QUERY);
  ldns_pkt_set_rcode(a.get(), how.rcode);
  ldns_pkt_set_tc(a.get(), how.tc);
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(query), 0);
  ldns_rr* question = ldns_rr_clone(q);
  if (how.qname) {
    ldns_rdf* other = ldns_dname_new_frm_str(how.qname);
    ldns_rdf_deep_free(ldns_rr_owner(question));
    ldns_rr_set_owner(question, other);
  }
  ldns_pkt_push_rr(a.get(), LDNS_SECTION_QUESTION, question);
  if (!how.tc && how.rcode == LDNS_RCODE_NOERROR && ldns_rr_get_type(q) == LDNS_RR_TYPE_A) {
    for (int i = 1; i <= how.a_records; ++i) {
      ldns_rr* rr = ldns_rr_new_frm_type(LDNS_RR_TYPE_A);
      ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(question)));
      ldns_rr_set_ttl(rr, 60);
      std::string addr = "192.0.2." + std::to_string(i);
      ldns_rr_set_rdf(rr, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, addr.c_str()), 0);
      ldns_pkt_push_rr(a.get(), LDNS_SECTION_ANSWER, rr);
    }
  }
  uint8_t* raw = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&raw, a.get(), &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(raw, raw + size);
  std::free(raw);
  return out;
}

// A DNS server on 127.0.0.1 (UDP, and TCP on the same port) run by a
// thread. For each UDP query `udp` says what to send back (in order, each
// after its delay; nothing: silence); each TCP query gets `tcp`.
class FakeDns {
 public:
  using Script = std::function<std::vector<Answer>(const ldns_pkt* query, int nth)>;
  explicit FakeDns(Script udp, Answer tcp = {}) : udp_script_(std::move(udp)), tcp_answer_(tcp) {
    udp_ = bound(SOCK_DGRAM, &port_);
    tcp_ = bound(SOCK_STREAM, &port_);
    REQUIRE(::listen(tcp_.get(), 4) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeDns() {
    stop_ = true;
    thread_.join();
  }
  qr::DnsServer server() const { return {ip("127.0.0.1"), port_}; }
  int udp_queries() const { return udp_count_; }
  int tcp_queries() const { return tcp_count_; }

 private:
  void run() {
    std::vector<uint8_t> buf(65535);
    while (!stop_) {
      pollfd p[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      if (p[0].revents & POLLIN) {
        sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t n = ::recvfrom(udp_.get(), buf.data(), buf.size(), 0,
                               reinterpret_cast<sockaddr*>(&from), &fromlen);
        ldns_pkt* raw = nullptr;
        if (n <= 0 || ldns_wire2pkt(&raw, buf.data(), static_cast<size_t>(n)) != LDNS_STATUS_OK)
          continue;
        Pkt query(raw);
        for (const Answer& how : udp_script_(query.get(), udp_count_++)) {
          std::this_thread::sleep_for(milliseconds(how.delay_ms));
          auto w = wire_of(query.get(), how);
          ::sendto(udp_.get(), w.data(), w.size(), 0, reinterpret_cast<sockaddr*>(&from), fromlen);
        }
      }
      if (p[1].revents & POLLIN) serve_tcp();
    }
  }

  void serve_tcp() {
    qr::Fd c(::accept(tcp_.get(), nullptr, nullptr));
    if (!c.valid()) return;
    ++tcp_count_;
    uint8_t head[2];
    if (::recv(c.get(), head, 2, MSG_WAITALL) != 2) return;
    size_t size = (size_t{head[0]} << 8) | head[1];
    std::vector<uint8_t> q(size);
    if (::recv(c.get(), q.data(), size, MSG_WAITALL) != static_cast<ssize_t>(size)) return;
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, q.data(), size) != LDNS_STATUS_OK) return;
    Pkt query(raw);
    auto w = wire_of(query.get(), tcp_answer_);
    uint8_t len[2] = {static_cast<uint8_t>(w.size() >> 8), static_cast<uint8_t>(w.size())};
    w.insert(w.begin(), len, len + 2);
    ::send(c.get(), w.data(), w.size(), MSG_NOSIGNAL);
  }

  Script udp_script_;
  Answer tcp_answer_;
  uint16_t port_ = 0;
  qr::Fd udp_, tcp_;
  std::atomic<bool> stop_{false};
  std::atomic<int> udp_count_{0}, tcp_count_{0};
  std::thread thread_;
};

FakeDns::Script always(Answer how) {
  return [how](const ldns_pkt*, int) { return std::vector<Answer>{how}; };
}
FakeDns::Script silence() {
  return [](const ldns_pkt*, int) { return std::vector<Answer>{}; };
}

struct RdfFree {
  void operator()(ldns_rdf* d) const { ldns_rdf_deep_free(d); }
};

// Asks `ex` for the A records of mail.example.test.
qr::DnsExchangeResult ask_a(qr::DnsExchanger& ex, const char* name = "mail.example.test.") {
  std::unique_ptr<ldns_rdf, RdfFree> dname(ldns_dname_new_frm_str(name));
  REQUIRE(dname);
  return ex.query(dname.get(), LDNS_RR_TYPE_A);
}

size_t a_count(const qr::DnsExchangeResult& r) {
  ldns_rr_list* list = ldns_pkt_rr_list_by_type(r.pkt.get(), LDNS_RR_TYPE_A, LDNS_SECTION_ANSWER);
  size_t n = list ? ldns_rr_list_rr_count(list) : 0;
  ldns_rr_list_deep_free(list);
  return n;
}

qr::DnsServer refusing() {
  return {ip("127.0.0.1"), refusing_port()};
}

// The old resolver took 10 s for a refusing server; every bound below that
// speaks of "at once" is generous (the machine may be loaded).
constexpr long kAtOnceMs = 2000;

}  // namespace

TEST_CASE("a refusing DNS server fails at once (SPEC §12, issue 12)", "[dns]") {
  qr::DnsExchanger ex({refusing()});
  auto t0 = Clock::now();
  auto r = ask_a(ex);
  CHECK(ms_since(t0) < kAtOnceMs);
  CHECK_FALSE(r.pkt);
  CHECK_THAT(r.error, Catch::Contains("connection refused"));
  CHECK_THAT(r.error, Catch::Contains("127.0.0.1:"));
}

TEST_CASE("a refusing DNS server passes the query on to the next at once", "[dns]") {
  FakeDns good(always({}));
  qr::DnsExchanger ex({refusing(), refusing(), good.server()});
  auto t0 = Clock::now();
  auto r = ask_a(ex);
  CHECK(ms_since(t0) < kAtOnceMs);
  REQUIRE(r.pkt);
  CHECK(a_count(r) == 1);
  // The refusal is not remembered as silence: the next query is as quick.
  t0 = Clock::now();
  CHECK(ask_a(ex).pkt);
  CHECK(ms_since(t0) < kAtOnceMs);
}

TEST_CASE("Resolver: DNSCACHEIP naming a refusing server first", "[dns]") {
  FakeDns good(always({}));
  std::string value = qr::format_endpoint(ip("127.0.0.1"), refusing_port()) + "," +
                      qr::format_endpoint(ip("127.0.0.1"), good.server().port);
  const char* old = std::getenv("DNSCACHEIP");
  std::string keep = old ? old : "";
  ::setenv("DNSCACHEIP", value.c_str(), 1);
  auto resolver = qr::Resolver::create();
  if (old)
    ::setenv("DNSCACHEIP", keep.c_str(), 1);
  else
    ::unsetenv("DNSCACHEIP");
  REQUIRE(resolver.ok());
  auto t0 = Clock::now();
  qr::HostAnswer a = (*resolver)->lookup_host("mail.example.test");
  CHECK(ms_since(t0) < kAtOnceMs);
  CHECK(a.status == qr::DnsStatus::Ok);
  REQUIRE(a.addrs.size() == 1);
  CHECK(a.addrs[0].str() == "192.0.2.1");
}

TEST_CASE("answers with another ID or another question are ignored", "[dns]") {
  // Each query gets a forged answer with the wrong ID, one for another
  // name, one for the right name with an extra record... in that order;
  // only the last matches. The first two would each have been taken by
  // ldns's own sockets.
  FakeDns server([](const ldns_pkt*, int) {
    Answer wrong_id;
    wrong_id.id_xor = 0x5a5a;
    wrong_id.a_records = 3;
    Answer wrong_name;
    wrong_name.qname = "other.example.test.";
    wrong_name.a_records = 3;
    Answer right;
    right.a_records = 2;
    return std::vector<Answer>{wrong_id, wrong_name, right};
  });
  qr::DnsExchanger ex({server.server()}, qr::DnsTiming{milliseconds(3000), 2});
  auto r = ask_a(ex);
  REQUIRE(r.pkt);
  CHECK(a_count(r) == 2);
  // The same name in other letter case is the same question (RFC 4343).
  FakeDns upper(always([] {
    Answer a;
    a.qname = "MAIL.Example.TEST.";
    return a;
  }()));
  qr::DnsExchanger ex2({upper.server()}, qr::DnsTiming{milliseconds(3000), 2});
  CHECK(ask_a(ex2).pkt);
}

TEST_CASE("a truncated UDP answer is asked again over TCP (SPEC §5)", "[dns]") {
  Answer tc;
  tc.tc = true;
  Answer full;
  full.a_records = 40;
  FakeDns server(always(tc), full);
  qr::DnsExchanger ex({server.server()});
  auto r = ask_a(ex);
  REQUIRE(r.pkt);
  CHECK(a_count(r) == 40);
  CHECK(server.tcp_queries() == 1);
}

TEST_CASE("SERVFAIL and REFUSED pass the query to the next server; NXDOMAIN is final", "[dns]") {
  Answer servfail;
  servfail.rcode = LDNS_RCODE_SERVFAIL;
  Answer refused;
  refused.rcode = LDNS_RCODE_REFUSED;
  Answer nx;
  nx.rcode = LDNS_RCODE_NXDOMAIN;
  FakeDns a(always(servfail)), b(always(refused)), c(always(nx));
  qr::DnsExchanger ex({a.server(), b.server(), c.server()});
  auto t0 = Clock::now();
  auto r = ask_a(ex);
  CHECK(ms_since(t0) < kAtOnceMs);
  REQUIRE(r.pkt);
  CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NXDOMAIN);

  qr::DnsExchanger only_bad({a.server(), b.server()});
  auto bad = ask_a(only_bad);
  CHECK_FALSE(bad.pkt);
  CHECK_THAT(bad.error, Catch::Contains("SERVFAIL") && Catch::Contains("REFUSED"));
}

TEST_CASE("one deadline per query, shared by the servers and the tries", "[dns]") {
  // Budget 800 ms in 2 rounds: with two servers, a share is 200 ms.
  const qr::DnsTiming timing{milliseconds(800), 2};
  FakeDns silent(silence());
  FakeDns good(always({}));

  SECTION("a silent first server costs its share, not the whole budget") {
    qr::DnsExchanger ex({silent.server(), good.server()}, timing);
    auto t0 = Clock::now();
    auto r = ask_a(ex);
    long took = ms_since(t0);
    REQUIRE(r.pkt);
    CHECK(took >= 190);
    CHECK(took < 800 + kAtOnceMs);
    // Silent through its share: not asked again by this exchanger.
    int asked = silent.udp_queries();
    t0 = Clock::now();
    CHECK(ask_a(ex).pkt);
    CHECK(ms_since(t0) < kAtOnceMs);
    std::this_thread::sleep_for(milliseconds(50));
    CHECK(silent.udp_queries() == asked);
  }
  SECTION("silent servers: asked twice each, a temporary failure at the deadline") {
    FakeDns silent2(silence());
    qr::DnsExchanger ex({silent.server(), silent2.server()}, timing);
    auto t0 = Clock::now();
    auto r = ask_a(ex);
    long took = ms_since(t0);
    CHECK_FALSE(r.pkt);
    CHECK(took >= 790);
    CHECK(took < 800 + kAtOnceMs);
    CHECK_THAT(r.error, Catch::Contains("no answer"));
    std::this_thread::sleep_for(milliseconds(50));
    CHECK(silent.udp_queries() == 2);
    CHECK(silent2.udp_queries() == 2);
    // Both silent: the next query fails at once, as ldns's did.
    t0 = Clock::now();
    auto again = ask_a(ex);
    CHECK(ms_since(t0) < kAtOnceMs);
    CHECK_FALSE(again.pkt);
    CHECK_THAT(again.error, Catch::Contains("did not answer an earlier query"));
    std::this_thread::sleep_for(milliseconds(50));
    CHECK(silent.udp_queries() == 2);
    CHECK(silent2.udp_queries() == 2);
  }
  SECTION("a late answer from a server passed over is still taken") {
    // Budget 2 s: shares of 500 ms. The first server answers after 700 ms,
    // past its share, while the second (silent) has its turn.
    FakeDns slow(always([] {
      Answer a;
      a.delay_ms = 700;
      return a;
    }()));
    qr::DnsExchanger ex({slow.server(), silent.server()}, qr::DnsTiming{milliseconds(2000), 2});
    auto r = ask_a(ex);
    REQUIRE(r.pkt);
    CHECK(a_count(r) == 1);
    CHECK(slow.udp_queries() == 1);  // taken before the second round
  }
}
