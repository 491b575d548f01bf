// Failed-login throttling per client IP, shared by every core and every
// protocol (SMTP AUTH, IMAP LOGIN/AUTHENTICATE, POP3 USER/PASS/AUTH).
//
// Each failure is delayed: the n-th failure from an IP within the window is
// answered after base_delay * 2^(n-1) (capped at 16 * base_delay), so a
// guesser on one connection slows down exponentially. Once an IP has
// max_failures within the window it is refused outright (SMTP 421 4.7.0,
// IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]) without a password check,
// until the window that started with its first failure has passed.
//
// Why no locks and no per-core tables: a guesser spreads its attempts over
// connections that SO_REUSEPORT spreads over cores, so the count must be
// process-wide, and it is touched only on failures and at AUTH time. A
// fixed table of 64-bit atomics indexed by a hash of the address (like
// ConnectionLimits) packs {window start, count} into one word updated with
// a CAS loop: bounded memory whatever the number of clients, no lock, no
// allocation. Two addresses sharing a slot share a count, which can only
// make throttling stricter; the hash is seeded per process, so an attacker
// cannot aim at a chosen victim's slot across restarts.
#ifndef RINGMAIL_SERVER_AUTH_THROTTLE_H_
#define RINGMAIL_SERVER_AUTH_THROTTLE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/time/time.h"
#include "server/client_address.h"

namespace ringmail::server {

struct AuthThrottleOptions {
  uint32_t max_failures = 10;                       // then refuse; >= 1
  absl::Duration window = absl::Minutes(10);        // counting window
  absl::Duration base_delay = absl::Milliseconds(500);
  // IPv6 clients are counted by this prefix, as the connection limits do
  // (connection_ipv6_prefix): a host with a /64 is one client.
  uint32_t ipv6_prefix = kDefaultIpv6Prefix;
};

class AuthThrottle {
 public:
  // `epoch`: a reading of the clock whose times later calls pass as `now`
  // (the loops' wall clock); earlier times count as the epoch itself.
  AuthThrottle(const AuthThrottleOptions& options, absl::Time epoch);
  AuthThrottle(const AuthThrottle&) = delete;
  AuthThrottle& operator=(const AuthThrottle&) = delete;

  // True when `ip` (textual address) reached max_failures within the
  // current window: refuse without checking credentials. Any thread.
  bool Blocked(std::string_view ip, absl::Time now) const;

  // Counts one failed login from `ip`; returns how long to hold the failure
  // reply. Any thread, lock-free.
  absl::Duration RecordFailure(std::string_view ip, absl::Time now);

  // Failures counted for `ip` in the current window (tests, logs).
  uint32_t Failures(std::string_view ip, absl::Time now) const;

  const AuthThrottleOptions& options() const { return options_; }

 private:
  static constexpr size_t kSlots = 65536;
  size_t Slot(std::string_view ip) const;
  // Seconds since epoch_; a slot stores {start:32, count:32}.
  uint32_t Seconds(absl::Time now) const;
  bool Expired(uint64_t word, uint32_t now_s) const;

  const AuthThrottleOptions options_;
  const absl::Time epoch_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

// Logs one failed login for fail2ban, at warning level, e.g.
//   auth failed: service=smtp rip=192.0.2.7 user=<alice@example.org>
// Filter regex: ^.*auth failed: service=\S+ rip=<HOST> user=<.*>$
// `user` is client text: control characters become '?' and it is cut at
// 128 octets, so it can neither forge log lines nor flood them. Passwords
// never go through here.
void LogAuthFailure(std::string_view service, std::string_view ip,
                    std::string_view user);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_AUTH_THROTTLE_H_
