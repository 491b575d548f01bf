#include "bench/ringbench/delivery_log.h"

#include "gtest/gtest.h"

namespace ringmail::ringbench {
namespace {

TEST(ParseExists, AcceptsTheUntaggedResponse) {
  EXPECT_EQ(ParseExists("* 17 EXISTS"), 17u);
  EXPECT_EQ(ParseExists("* 0 exists"), 0u);
  EXPECT_EQ(ParseExists("* 4294967295 EXISTS"), 4294967295u);
}

TEST(ParseExists, RejectsEverythingElse) {
  EXPECT_FALSE(ParseExists("* 17 RECENT"));
  EXPECT_FALSE(ParseExists("* 17 EXISTSX"));
  EXPECT_FALSE(ParseExists("* EXISTS"));
  EXPECT_FALSE(ParseExists("a 17 EXISTS"));
  EXPECT_FALSE(ParseExists("* 4294967296 EXISTS"));
  EXPECT_FALSE(ParseExists("* 99999999999 EXISTS"));
  EXPECT_FALSE(ParseExists("* 3 FETCH (FLAGS ())"));
  EXPECT_FALSE(ParseExists(""));
}

TEST(DeliveryLog, OrdinalsPerUserAndTimes) {
  DeliveryLog log(3);
  EXPECT_EQ(log.Sent(1, 100), 0u);
  EXPECT_EQ(log.Sent(1, 200), 1u);
  EXPECT_EQ(log.Sent(2, 150), 0u);
  log.Accepted(1, 0, 110);
  auto t = log.Get(1, 0, 5);  // clipped to what was logged
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].data_end_ns, 100);
  EXPECT_EQ(t[0].accepted_ns, 110);
  EXPECT_EQ(t[1].data_end_ns, 200);
  EXPECT_EQ(t[1].accepted_ns, 0);
  EXPECT_EQ(log.count(0), 0u);
  EXPECT_EQ(log.count(2), 1u);
  EXPECT_TRUE(log.Get(0, 0, 1).empty());
}

TEST(DeliveryLog, OutOfRangeUsersAreRefused) {
  DeliveryLog log(1);
  EXPECT_FALSE(log.Sent(1, 5));
  log.Accepted(7, 0, 1);  // ignored
  EXPECT_TRUE(log.Get(7, 0, 1).empty());
  EXPECT_EQ(log.count(7), 0u);
}

TEST(DeliveryLog, OnlyTheNewestMessageCanBeWithdrawn) {
  DeliveryLog log(1);
  ASSERT_EQ(log.Sent(0, 1), 0u);
  ASSERT_EQ(log.Sent(0, 2), 1u);
  log.Withdraw(0, 0);  // not the newest: kept, ordinals stay dense
  EXPECT_EQ(log.count(0), 2u);
  log.Withdraw(0, 1);
  EXPECT_EQ(log.count(0), 1u);
  EXPECT_EQ(log.Sent(0, 3), 1u);
}

}  // namespace
}  // namespace ringmail::ringbench
