// The open-loop schedule: intended send times at a fixed rate. Latency is
// measured from the intended time, not from when a client got round to
// sending, so a stalled server cannot hide its stall by slowing the load
// generator (no coordinated omission).
#ifndef RINGMAIL_BENCH_RINGBENCH_SCHEDULE_H_
#define RINGMAIL_BENCH_RINGBENCH_SCHEDULE_H_

#include <cassert>
#include <cstdint>

namespace ringmail::ringbench {

class RateSchedule {
 public:
  // `rate` operations per second starting at `start_ns` (any monotonic
  // clock). Times are computed from the index, never accumulated, so they
  // do not drift however many are taken.
  RateSchedule(double rate, int64_t start_ns) : rate_(rate), start_ns_(start_ns) {
    assert(rate > 0);
  }
  // The intended time of the next operation; advances the schedule.
  int64_t Next() { return At(next_++); }
  // The intended time of operation `k` (0-based).
  int64_t At(uint64_t k) const {
    return start_ns_ + static_cast<int64_t>(static_cast<double>(k) * 1e9 / rate_);
  }
  // Operations whose intended time is <= now_ns but not yet taken: the
  // backlog a saturated server builds up.
  uint64_t Backlog(int64_t now_ns) const {
    if (now_ns < start_ns_) return 0;
    uint64_t due = static_cast<uint64_t>(static_cast<double>(now_ns - start_ns_) *
                                         rate_ / 1e9) + 1;
    return due > next_ ? due - next_ : 0;
  }
  uint64_t taken() const { return next_; }

 private:
  double rate_;
  int64_t start_ns_;
  uint64_t next_ = 0;
};

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_SCHEDULE_H_
