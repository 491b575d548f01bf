// A scriptable DNS server for tests: UDP and TCP on the same 127.0.0.1 port,
// answering each query with what a handler returns, on its own thread. Also
// the packet builder tests of reply parsing use.
#ifndef RINGMAIL_ENGINE_TESTING_FAKE_DNS_SERVER_H_
#define RINGMAIL_ENGINE_TESTING_FAKE_DNS_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ringmail::engine::testing {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeAaaa = 28;

struct DnsRr {
  std::string name;
  uint16_t type;
  uint32_t ttl;
  std::string rdata;  // wire format (see the *Data helpers)
};

// "a.b" -> \1a\1b\0; "" and "." -> the root \0. No compression.
std::string EncodeName(std::string_view name);
std::string MxData(uint16_t preference, std::string_view host);
std::string AData(std::string_view ipv4);
std::string AaaaData(std::string_view ipv6);
std::string CnameData(std::string_view target);
std::string SoaData(std::string_view mname, std::string_view rname, uint32_t minimum);

struct DnsResponse {
  int rcode = 0;  // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED
  std::vector<DnsRr> answers;
  std::vector<DnsRr> authority;
  bool drop = false;       // answer nothing: the client times out
  bool truncate = false;   // over UDP: TC set, no records (client retries over TCP)
};

// The question section for (qname, qtype), class IN.
std::string EncodeQuestion(std::string_view qname, uint16_t qtype);
// A reply with id `id` echoing `question` (raw question section bytes).
std::string BuildReply(uint16_t id, std::string_view question, const DnsResponse& r,
                       bool truncated = false);

class FakeDnsServer {
 public:
  // Called on the server's thread with the lower-case query name (no
  // trailing dot) and type.
  using Handler = std::function<DnsResponse(const std::string& qname, uint16_t qtype)>;

  // Binds and starts serving; nullptr (after printing why) on failure.
  static std::unique_ptr<FakeDnsServer> Start(Handler handler);
  ~FakeDnsServer();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Queries received for (qname, qtype), over UDP and TCP.
  int queries(const std::string& qname, uint16_t qtype) const;
  int tcp_queries() const { return tcp_queries_.load(); }

 private:
  FakeDnsServer() = default;
  void Serve();
  // Answers one query message; empty when the handler says drop.
  std::string Answer(std::string_view query, bool over_tcp);

  Handler handler_;
  int udp_ = -1, tcp_ = -1, stop_r_ = -1, stop_w_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, uint16_t>, int> counts_;
  std::atomic<int> tcp_queries_{0};
};

}  // namespace ringmail::engine::testing

#endif  // RINGMAIL_ENGINE_TESTING_FAKE_DNS_SERVER_H_
