#include "bench/ringbench/histogram.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

namespace ringmail::ringbench {

int Histogram::IndexOf(uint64_t v) {
  if (v < static_cast<uint64_t>(kSubBuckets)) return static_cast<int>(v);
  // Shift so the value lands in [kHalf, kSubBuckets): m >= 1.
  int m = std::bit_width(v) - 8;  // bit_width(v) >= 9 here
  uint64_t sub = v >> m;
  assert(sub >= kHalf && sub < kSubBuckets);
  return kSubBuckets + (m - 1) * kHalf + static_cast<int>(sub - kHalf);
}

uint64_t Histogram::LowestOf(int index) {
  if (index < kSubBuckets) return index;
  int m = (index - kSubBuckets) / kHalf + 1;
  uint64_t sub = (index - kSubBuckets) % kHalf + kHalf;
  return sub << m;
}

uint64_t Histogram::HighestOf(int index) {
  if (index < kSubBuckets) return index;
  int m = (index - kSubBuckets) / kHalf + 1;
  return LowestOf(index) + (uint64_t{1} << m) - 1;
}

void Histogram::Record(uint64_t v) {
  if (v == 0) v = 1;
  if (v > kMaxMicros) {
    v = kMaxMicros;
    ++overflow_;
  }
  ++counts_[IndexOf(v)];
  ++count_;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::Merge(const Histogram& o) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  overflow_ += o.overflow_;
}

uint64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

}  // namespace ringmail::ringbench
