#include "bench/ringbench/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace ringmail::ringbench {
namespace {

TEST(Histogram, LayoutIsContiguousAndCoversTheRange) {
  for (int i = 0; i + 1 < Histogram::kBuckets; ++i) {
    ASSERT_EQ(Histogram::HighestOf(i) + 1, Histogram::LowestOf(i + 1)) << i;
  }
  EXPECT_LT(Histogram::IndexOf(Histogram::kMaxMicros), Histogram::kBuckets);
  for (uint64_t v : {1ull, 255ull, 256ull, 257ull, 1000ull, 123456ull, 99999999ull}) {
    int i = Histogram::IndexOf(v);
    EXPECT_LE(Histogram::LowestOf(i), v);
    EXPECT_GE(Histogram::HighestOf(i), v);
  }
}

TEST(Histogram, RelativeErrorBelowOnePercent) {
  for (uint64_t v = 1; v <= Histogram::kMaxMicros; v = v * 17 / 16 + 1) {
    int i = Histogram::IndexOf(v);
    double err = static_cast<double>(Histogram::HighestOf(i) - Histogram::LowestOf(i)) /
                 static_cast<double>(Histogram::LowestOf(i));
    ASSERT_LT(err, 0.01) << v;
  }
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.Percentile(0.5), 50u);
  EXPECT_EQ(h.Percentile(0.9), 90u);
  EXPECT_EQ(h.Percentile(0.99), 99u);
  EXPECT_EQ(h.Percentile(1.0), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(Histogram, PercentilesMatchSortedSampleWithinPrecision) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(7.0, 2.0);  // µs, wide spread
  std::vector<uint64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    uint64_t v = std::clamp<uint64_t>(static_cast<uint64_t>(dist(rng)), 1,
                                      Histogram::kMaxMicros);
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    uint64_t exact = values[static_cast<size_t>(std::ceil(q * values.size())) - 1];
    uint64_t got = h.Percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(static_cast<double>(got), exact * 1.01 + 1) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 1000000; v = v * 3 / 2 + 1) {
    (v % 2 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  for (double q : {0.1, 0.5, 0.9, 0.999}) EXPECT_EQ(a.Percentile(q), all.Percentile(q));
}

TEST(Histogram, ClampsOutOfRange) {
  Histogram h;
  h.Record(0);
  h.Record(Histogram::kMaxMicros * 10);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), Histogram::kMaxMicros);
  EXPECT_EQ(h.overflow(), 1u);
  Histogram empty;
  EXPECT_EQ(empty.Percentile(0.5), 0u);
  EXPECT_EQ(empty.min(), 0u);
}

}  // namespace
}  // namespace ringmail::ringbench
