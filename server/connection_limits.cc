#include "server/connection_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"

namespace ringmail::server {
namespace {

absl::string_view Bytes(const void* p, size_t n) {
  return absl::string_view(static_cast<const char*>(p), n);
}

}  // namespace

ConnectionLimits::ConnectionLimits(uint32_t max_total, uint32_t max_per_ip,
                                   uint32_t ipv6_prefix)
    : max_total_(max_total),
      max_per_ip_(max_per_ip),
      ipv6_prefix_(std::clamp<uint32_t>(ipv6_prefix, 1, 128)),
      per_ip_(new std::atomic<uint32_t>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) per_ip_[i].store(0);
}

size_t ConnectionLimits::Slot(std::string_view ip) const {
  // The hash is of the binary address (4 bytes for IPv4 and IPv4-mapped
  // IPv6, the masked 16 for IPv6), so every spelling of one client lands in
  // one slot; text that is no address is hashed as it is.
  char text[INET6_ADDRSTRLEN];
  if (ip.size() < sizeof(text)) {
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    in_addr v4;
    in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) {
      return absl::Hash<absl::string_view>{}(Bytes(&v4, sizeof(v4))) % kSlots;
    }
    if (inet_pton(AF_INET6, text, &v6) == 1) {
      if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        return absl::Hash<absl::string_view>{}(Bytes(v6.s6_addr + 12, 4)) % kSlots;
      }
      for (uint32_t bit = ipv6_prefix_; bit < 128; ++bit) {
        v6.s6_addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      }
      return absl::Hash<absl::string_view>{}(Bytes(&v6, sizeof(v6))) % kSlots;
    }
  }
  return absl::Hash<absl::string_view>{}(absl::string_view(ip.data(), ip.size())) %
         kSlots;
}

ConnectionLimits::Verdict ConnectionLimits::TryAdmit(std::string_view ip) {
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kTooManyTotal;
  }
  std::atomic<uint32_t>& slot = per_ip_[Slot(ip)];
  if (slot.fetch_add(1, std::memory_order_relaxed) >= max_per_ip_) {
    slot.fetch_sub(1, std::memory_order_relaxed);
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Verdict::kTooManyFromIp;
  }
  return Verdict::kAdmitted;
}

void ConnectionLimits::Release(std::string_view ip) {
  per_ip_[Slot(ip)].fetch_sub(1, std::memory_order_relaxed);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace ringmail::server
