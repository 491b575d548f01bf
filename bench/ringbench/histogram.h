// A compact log-linear latency histogram in the manner of HdrHistogram:
// values 1 µs .. 100 s, at least two significant decimal digits (relative
// error below 1/128 < 0.8%), fixed memory (about 22 KiB), O(1) record and
// exact merge, so per-thread histograms add up to a global one.
#ifndef RINGMAIL_BENCH_RINGBENCH_HISTOGRAM_H_
#define RINGMAIL_BENCH_RINGBENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace ringmail::ringbench {

class Histogram {
 public:
  static constexpr uint64_t kMaxMicros = 100'000'000;  // 100 s
  // Values below kSubBuckets are kept exactly; above, each power of two is
  // split into kSubBuckets / 2 linear buckets.
  static constexpr int kSubBuckets = 256;
  static constexpr int kHalf = kSubBuckets / 2;
  // 2^27 > kMaxMicros: magnitudes 1..20 above the exact range.
  static constexpr int kMagnitudes = 20;
  static constexpr int kBuckets = kSubBuckets + kMagnitudes * kHalf;

  // Records one value in microseconds. 0 counts as 1 µs (the floor of the
  // range); values above kMaxMicros are clamped and counted in overflow().
  void Record(uint64_t micros);
  // Adds every count of `o` (exact: the bucket layout is fixed).
  void Merge(const Histogram& o);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  uint64_t overflow() const { return overflow_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The smallest recorded-bucket upper bound v such that at least
  // fraction `q` (0..1) of the values are <= v, capped at max(). 0 if empty.
  uint64_t Percentile(double q) const;

  // Bucket layout, exposed for tests.
  static int IndexOf(uint64_t micros);
  static uint64_t LowestOf(int index);
  static uint64_t HighestOf(int index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t overflow_ = 0;
};

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_HISTOGRAM_H_
