#include "server/auth_throttle.h"

#include <algorithm>
#include <string>

#include "absl/hash/hash.h"
#include "engine/log.h"

namespace ringmail::server {
namespace {

constexpr uint32_t kMaxDelayShift = 4;  // delay cap: 16 * base_delay
constexpr size_t kMaxLoggedUser = 128;

uint32_t Start(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
uint32_t Count(uint64_t w) { return static_cast<uint32_t>(w); }
uint64_t Pack(uint32_t start, uint32_t count) {
  return (uint64_t{start} << 32) | count;
}

}  // namespace

AuthThrottle::AuthThrottle(const AuthThrottleOptions& options, absl::Time epoch)
    : options_(options), epoch_(epoch), slots_(new std::atomic<uint64_t>[kSlots]) {
  for (size_t i = 0; i < kSlots; ++i) slots_[i].store(0, std::memory_order_relaxed);
}

size_t AuthThrottle::Slot(std::string_view ip) const {
  return ClientAddressHash(ip, options_.ipv6_prefix) % kSlots;
}

uint32_t AuthThrottle::Seconds(absl::Time now) const {
  const int64_t s = absl::ToInt64Seconds(now - epoch_);
  // +1 so that 0 never looks like a live window start; clamp for clocks
  // that stepped backwards before the epoch.
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, UINT32_MAX - 1) + 1);
}

bool AuthThrottle::Expired(uint64_t word, uint32_t now_s) const {
  if (Count(word) == 0) return true;
  return absl::Seconds(static_cast<int64_t>(now_s) - Start(word)) >=
         options_.window;
}

uint32_t AuthThrottle::Failures(std::string_view ip, absl::Time now) const {
  const uint64_t w = slots_[Slot(ip)].load(std::memory_order_relaxed);
  return Expired(w, Seconds(now)) ? 0 : Count(w);
}

bool AuthThrottle::Blocked(std::string_view ip, absl::Time now) const {
  return Failures(ip, now) >= options_.max_failures;
}

absl::Duration AuthThrottle::RecordFailure(std::string_view ip, absl::Time now) {
  std::atomic<uint64_t>& slot = slots_[Slot(ip)];
  const uint32_t now_s = Seconds(now);
  uint64_t old = slot.load(std::memory_order_relaxed);
  uint64_t next;
  do {
    next = Expired(old, now_s)
               ? Pack(now_s, 1)
               : Pack(Start(old), std::min<uint32_t>(Count(old), UINT32_MAX - 1) + 1);
  } while (!slot.compare_exchange_weak(old, next, std::memory_order_relaxed));
  const uint32_t n = Count(next);
  return options_.base_delay *
         static_cast<int64_t>(uint64_t{1} << std::min(n - 1, kMaxDelayShift));
}

void LogAuthFailure(std::string_view service, std::string_view ip,
                    std::string_view user) {
  std::string u(user.substr(0, kMaxLoggedUser));
  for (char& c : u) {
    const unsigned char uc = static_cast<unsigned char>(c);
    if (uc < 0x20 || uc == 0x7f) c = '?';
  }
  LOG_WARNING("auth failed: service=", std::string(service), " rip=",
              std::string(ip), " user=<", u, ">");
}

}  // namespace ringmail::server
