#include "storage/mailbox/modseq.h"

#include <set>

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

using R = std::vector<UidRange>;

TEST(UidRanges, NormaliseIntersectCount) {
  R r = {{7, 9}, {1, 3}, {4, 4}, {8, 12}, {20, 20}};
  NormaliseUidRanges(&r);
  EXPECT_EQ(r, (R{{1, 4}, {7, 12}, {20, 20}}));
  EXPECT_EQ(CountUids(r), 11u);
  EXPECT_EQ(IntersectUidRanges(r, R{{3, 8}, {11, 30}}),
            (R{{3, 4}, {7, 8}, {11, 12}, {20, 20}}));
  EXPECT_EQ(IntersectUidRanges(r, R{}), R{});
  R top = {{UINT32_MAX, UINT32_MAX}, {UINT32_MAX - 1, UINT32_MAX - 1}};
  NormaliseUidRanges(&top);
  EXPECT_EQ(top, (R{{UINT32_MAX - 1, UINT32_MAX}}));
}

TEST(ModSeqTimeFloor, ShiftsSecondsAndClamps) {
  EXPECT_EQ(ModSeqTimeFloor(absl::FromUnixSeconds(1700000000)),
            uint64_t{1700000000} << kModSeqTimeShift);
  EXPECT_EQ(ModSeqTimeFloor(absl::FromUnixSeconds(0)), 1u);
  EXPECT_EQ(ModSeqTimeFloor(absl::InfiniteFuture()), kMaxModSeq);
  EXPECT_LT(ModSeqTimeFloor(absl::FromUnixSeconds(1700000000)),
            ModSeqTimeFloor(absl::FromUnixSeconds(1700000001)));
}

// A folder of live UIDs, to answer gap questions.
struct Live {
  std::set<uint32_t> uids;
  bool Free(uint32_t lo, uint32_t hi) const {
    auto it = uids.lower_bound(lo);
    return it == uids.end() || *it > hi;
  }
};

TEST(ExpungeLog, MergesAcrossFreeGapsOnly) {
  Live live{{2, 5, 9}};
  ExpungeLog log;
  auto gap = [&](uint32_t lo, uint32_t hi) { return live.Free(lo, hi); };
  log.Add(3, 10, gap);
  log.Add(4, 11, gap);  // adjacent: merged
  log.Add(6, 12, gap);  // UID 5 is live between: new entry
  log.Add(8, 13, gap);  // 7 is free (expunged long ago): merged
  log.Add(1, 14, gap);  // below the newest range, 2..5 not free
  ASSERT_EQ(log.entries().size(), 3u);
  EXPECT_EQ(log.entries()[0], (ExpungeLog::Entry{{3, 4}, 11}));
  EXPECT_EQ(log.entries()[1], (ExpungeLog::Entry{{6, 8}, 13}));
  EXPECT_EQ(log.entries()[2], (ExpungeLog::Entry{{1, 1}, 14}));
  EXPECT_EQ(*log.Since(0), (R{{1, 1}, {3, 4}, {6, 8}}));
  EXPECT_EQ(*log.Since(11), (R{{1, 1}, {6, 8}}));
  EXPECT_EQ(*log.Since(13), (R{{1, 1}}));
  EXPECT_EQ(*log.Since(14), R{});
  // Re-expunging a UID inside the newest range only raises its modseq.
  log.Add(1, 15, gap);
  EXPECT_EQ(log.entries().back(), (ExpungeLog::Entry{{1, 1}, 15}));
}

TEST(ExpungeLog, TrimRaisesCompleteFrom) {
  ExpungeLog log(8);
  Live live;
  // Every other UID stays live: no merging.
  for (uint32_t u = 2; u <= 40; u += 2) live.uids.insert(u);
  auto gap = [&](uint32_t lo, uint32_t hi) { return live.Free(lo, hi); };
  for (uint32_t i = 0; i < 9; ++i) log.Add(2 * i + 1, 100 + i, gap);
  // 9 > 8 entries: the oldest quarter is dropped down to 6.
  EXPECT_EQ(log.entries().size(), 6u);
  EXPECT_EQ(log.complete_from(), 102u);
  EXPECT_FALSE(log.Since(101).has_value());  // too old: caller answers fully
  EXPECT_EQ(*log.Since(102), (R{{7, 7}, {9, 9}, {11, 11}, {13, 13}, {15, 15}, {17, 17}}));
  log.ForgetThrough(105);
  EXPECT_EQ(log.complete_from(), 105u);
  EXPECT_EQ(*log.Since(105), (R{{13, 13}, {15, 15}, {17, 17}}));
  EXPECT_FALSE(log.Since(104).has_value());
}

TEST(ExpungeLog, RestoreValidates) {
  ExpungeLog log(4);
  EXPECT_TRUE(log.Restore({{1, 5}, 3}));
  EXPECT_FALSE(log.Restore({{6, 7}, 2}));  // modseq goes down
  EXPECT_FALSE(log.Restore({{9, 8}, 4}));  // inverted
  EXPECT_FALSE(log.Restore({{0, 8}, 4}));  // UID 0
  EXPECT_FALSE(log.Restore({{6, 8}, 0}));  // modseq 0
  EXPECT_TRUE(log.Restore({{6, 8}, 3}));
  EXPECT_TRUE(log.Restore({{10, 10}, 4}));
  EXPECT_TRUE(log.Restore({{11, 11}, 5}));
  EXPECT_FALSE(log.Restore({{12, 12}, 6}));  // full
  EXPECT_EQ(log.entries().size(), 4u);
}

}  // namespace
}  // namespace ringmail::storage
