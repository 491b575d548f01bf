// Process-wide connection admission: a total limit and a per-client-IP
// limit, shared by all cores without locks. Each service (SMTP, submission,
// LMTP, IMAP, POP3) has its own ConnectionLimits: a client's sessions of one
// service do not use up its slots for another.
//
// Per-IP counts live in a fixed table of atomic counters indexed by a hash
// of the address, so memory is bounded whatever the number of clients. Two
// addresses that share a slot share a count, which can only make the limit
// stricter, never looser; with 65,536 slots that is rare.
//
// An IPv6 client is counted by its network prefix (default /64): a single
// host usually has a whole /64 and could otherwise open the per-IP limit
// from each of its addresses. IPv4 (and IPv4-mapped IPv6) addresses count
// one by one.
#ifndef RINGMAIL_SERVER_CONNECTION_LIMITS_H_
#define RINGMAIL_SERVER_CONNECTION_LIMITS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "server/client_address.h"

namespace ringmail::server {

class ConnectionLimits {
 public:
  // `ipv6_prefix` (1..128): leading bits of an IPv6 address that identify
  // one client for max_per_ip.
  ConnectionLimits(uint32_t max_total, uint32_t max_per_ip,
                   uint32_t ipv6_prefix = kDefaultIpv6Prefix);


  enum class Verdict { kAdmitted, kTooManyTotal, kTooManyFromIp };
  // Counts a new connection from `ip` (textual address) unless a limit is
  // reached. Every kAdmitted must be paired with one Release(ip).
  Verdict TryAdmit(std::string_view ip);
  void Release(std::string_view ip);

  uint32_t total() const { return total_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kSlots = 65536;
  size_t Slot(std::string_view ip) const;
  const uint32_t max_total_;
  const uint32_t max_per_ip_;
  const uint32_t ipv6_prefix_;
  std::atomic<uint32_t> total_{0};
  std::unique_ptr<std::atomic<uint32_t>[]> per_ip_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_CONNECTION_LIMITS_H_
