// idle mode with --deliver-rate: the messages the deliverer hands to the
// server over SMTP, per user, so that the idle sessions of that user can
// turn each "* n EXISTS" they receive into a delivery -> EXISTS latency.
//
// Ordinals: the k-th message delivered to a user during the run has
// ordinal k (from 0). A session that saw EXISTS = base after SELECT (before
// any delivery of the run started) maps message number base + k + 1 to
// ordinal k, so the log never needs to know about sessions. Shared by all
// loop threads (one mutex: deliveries and EXISTS are rare next to the
// engine's work).
#ifndef RINGMAIL_BENCH_RINGBENCH_DELIVERY_LOG_H_
#define RINGMAIL_BENCH_RINGBENCH_DELIVERY_LOG_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace ringmail::ringbench {

class DeliveryLog {
 public:
  // Messages kept per user: beyond it Sent() refuses (the deliverer skips
  // that user), bounding the log at users × kMaxPerUser entries.
  static constexpr size_t kMaxPerUser = 100000;

  struct Times {
    int64_t data_end_ns = 0;  // the final "." was written (before the flush)
    int64_t accepted_ns = 0;  // the 250 arrived; 0 while not (yet) seen
  };

  explicit DeliveryLog(size_t users) : per_user_(users) {}

  // The deliverer is about to flush the end of DATA of a message to `user`
  // (an index below the constructor's `users`). Returns its ordinal, or
  // nullopt when `user` is out of range or full.
  std::optional<size_t> Sent(size_t user, int64_t data_end_ns);
  // The server accepted the message with that ordinal (250).
  void Accepted(size_t user, size_t ordinal, int64_t ns);
  // The server refused it, or the outcome is unknown: only the newest
  // message of `user` may be withdrawn (the deliverer is sequential), so
  // ordinals stay dense.
  void Withdraw(size_t user, size_t ordinal);
  // Times of ordinals [from, to) of `user`, clipped to what was logged.
  std::vector<Times> Get(size_t user, size_t from, size_t to) const;
  // Messages logged (and not withdrawn) for `user`.
  size_t count(size_t user) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<Times>> per_user_;
};

// "* 17 EXISTS" (RFC 3501 §7.3.1, any case) -> 17; nullopt for any other
// line, including a number that does not fit 32 bits.
std::optional<uint32_t> ParseExists(std::string_view line);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_DELIVERY_LOG_H_
