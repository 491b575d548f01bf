#include "server/connection_limits.h"

#include <algorithm>

#include "server/client_address.h"

namespace ringmail::server {
ConnectionLimits::ConnectionLimits(uint32_t max_total, uint32_t max_per_ip,
                                   uint32_t ipv6_prefix)
    : max_total_(max_total),
      max_per_ip_(max_per_ip),
      ipv6_prefix_(std::clamp<uint32_t>(ipv6_prefix, 1, 128)),
      per_ip_(new std::atomic<uint32_t>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) per_ip_[i].store(0);
}

size_t ConnectionLimits::Slot(std::string_view ip) const {
  return ClientAddressHash(ip, ipv6_prefix_) % kSlots;
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
