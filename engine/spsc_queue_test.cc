#include "engine/spsc_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace ringmail::engine {
namespace {

TEST(SpscQueue, RefusesWhenFullAndKeepsOrder) {
  SpscQueue<int> q(4);
  for (int i = 0; i < 4; ++i) {
    int v = i;
    ASSERT_TRUE(q.TryPush(v));
  }
  int extra = 99;
  EXPECT_FALSE(q.TryPush(extra));
  EXPECT_EQ(extra, 99);  // the producer keeps a refused item
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q.TryPop(), i);
  EXPECT_EQ(q.TryPop(), std::nullopt);
}

TEST(SpscQueue, TwoThreadsTransferEverythingInOrder) {
  constexpr int kCount = 200000;
  SpscQueue<int> q(64);
  std::thread producer([&] {
    for (int i = 0; i < kCount; ++i) {
      int v = i;
      while (!q.TryPush(v)) std::this_thread::yield();
    }
  });
  int expected = 0;
  while (expected < kCount) {
    if (auto v = q.TryPop()) {
      ASSERT_EQ(*v, expected);
      ++expected;
    }
  }
  producer.join();
}

}  // namespace
}  // namespace ringmail::engine
