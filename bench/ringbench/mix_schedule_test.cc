#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "bench/ringbench/mix.h"
#include "bench/ringbench/schedule.h"

namespace ringmail::ringbench {
namespace {

const std::vector<std::string> kKnown = {"login", "fetch", "store", "idle"};

TEST(WeightedMix, FrequenciesFollowWeights) {
  auto mix = WeightedMix::Parse("login=1,fetch=6,store=3,idle=0", kKnown);
  ASSERT_TRUE(mix.ok()) << mix.status();
  std::mt19937_64 rng(7);
  std::vector<int> hits(4);
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++hits[mix->Pick(rng())];
  EXPECT_NEAR(hits[0], kDraws * 0.1, kDraws * 0.01);
  EXPECT_NEAR(hits[1], kDraws * 0.6, kDraws * 0.01);
  EXPECT_NEAR(hits[2], kDraws * 0.3, kDraws * 0.01);
  EXPECT_EQ(hits[3], 0);  // zero weight is never picked
  EXPECT_EQ(mix->ToString(), "login=1,fetch=6,store=3,idle=0");
}

TEST(WeightedMix, PickCoversEveryResidueExactly) {
  auto mix = WeightedMix::Parse("fetch=2,store=1", kKnown);
  ASSERT_TRUE(mix.ok());
  EXPECT_EQ(mix->Pick(0), 0u);
  EXPECT_EQ(mix->Pick(1), 0u);
  EXPECT_EQ(mix->Pick(2), 1u);
  EXPECT_EQ(mix->Pick(3), 0u);
}

TEST(WeightedMix, RejectsBadSpecs) {
  EXPECT_FALSE(WeightedMix::Parse("fetch", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("fetch=x", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("fetch=-1", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("bogus=1", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("fetch=1,fetch=2", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("fetch=0,store=0", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse("", kKnown).ok());
  EXPECT_FALSE(WeightedMix::Parse(std::string(5000, 'a'), kKnown).ok());
}

TEST(RateSchedule, IntendedTimesAreEvenlySpacedFromStart) {
  RateSchedule s(1000.0, 5'000'000);  // 1000/s: every 1 ms
  EXPECT_EQ(s.Next(), 5'000'000);
  EXPECT_EQ(s.Next(), 6'000'000);
  EXPECT_EQ(s.Next(), 7'000'000);
  EXPECT_EQ(s.taken(), 3u);
}

TEST(RateSchedule, DoesNotDriftOverManyOperations) {
  RateSchedule s(3.0, 0);  // 333333333.33 ns apart: rounding must not add up
  int64_t last = 0;
  for (int i = 0; i < 3000000; ++i) last = s.Next();
  // Operation 2999999 is due at 999999.666... s.
  EXPECT_EQ(last, static_cast<int64_t>(2999999.0 * 1e9 / 3.0));
  EXPECT_EQ(s.At(3000000), 1'000'000'000'000'000);
}

TEST(RateSchedule, BacklogCountsDueButUntakenOperations) {
  RateSchedule s(100.0, 0);  // every 10 ms
  EXPECT_EQ(s.Backlog(-1), 0u);
  EXPECT_EQ(s.Backlog(0), 1u);           // op 0 is due at 0
  EXPECT_EQ(s.Backlog(95'000'000), 10u); // ops 0..9 due
  for (int i = 0; i < 4; ++i) s.Next();
  EXPECT_EQ(s.Backlog(95'000'000), 6u);
  // A schedule taken ahead of time has no backlog.
  for (int i = 0; i < 20; ++i) s.Next();
  EXPECT_EQ(s.Backlog(95'000'000), 0u);
}

}  // namespace
}  // namespace ringmail::ringbench
