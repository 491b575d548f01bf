#include "server/auth_throttle.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::server {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

AuthThrottleOptions Opts() {
  AuthThrottleOptions o;
  o.max_failures = 4;
  o.window = absl::Minutes(10);
  o.base_delay = absl::Milliseconds(100);
  return o;
}

TEST(AuthThrottle, DelayDoublesThenBlocks) {
  AuthThrottle t(Opts(), kT0);
  EXPECT_FALSE(t.Blocked("192.0.2.1", kT0));
  EXPECT_EQ(t.RecordFailure("192.0.2.1", kT0), absl::Milliseconds(100));
  EXPECT_EQ(t.RecordFailure("192.0.2.1", kT0), absl::Milliseconds(200));
  EXPECT_EQ(t.RecordFailure("192.0.2.1", kT0), absl::Milliseconds(400));
  EXPECT_FALSE(t.Blocked("192.0.2.1", kT0));
  t.RecordFailure("192.0.2.1", kT0);
  EXPECT_TRUE(t.Blocked("192.0.2.1", kT0 + absl::Minutes(9)));
  EXPECT_EQ(t.Failures("192.0.2.1", kT0), 4u);
  // Other addresses are unaffected.
  EXPECT_FALSE(t.Blocked("192.0.2.2", kT0));
  // The window that began with the first failure ends; the count restarts.
  EXPECT_FALSE(t.Blocked("192.0.2.1", kT0 + absl::Minutes(10)));
  EXPECT_EQ(t.RecordFailure("192.0.2.1", kT0 + absl::Minutes(10)),
            absl::Milliseconds(100));
}

TEST(AuthThrottle, DelayIsCapped) {
  AuthThrottleOptions o = Opts();
  o.max_failures = 100;
  AuthThrottle t(o, kT0);
  absl::Duration d;
  for (int i = 0; i < 50; ++i) d = t.RecordFailure("2001:db8::1", kT0);
  EXPECT_EQ(d, absl::Milliseconds(1600));
}

// One IPv6 host usually holds a /64: cycling through its addresses must
// not escape the block.
TEST(AuthThrottle, Ipv6CountedByPrefix) {
  AuthThrottleOptions o = Opts();
  o.max_failures = 3;
  AuthThrottle t(o, kT0);
  t.RecordFailure("2001:db8:1:2::1", kT0);
  t.RecordFailure("2001:db8:1:2:ffff::9", kT0);
  t.RecordFailure("2001:DB8:1:2:0:0:0:abcd", kT0);
  EXPECT_TRUE(t.Blocked("2001:db8:1:2::77", kT0));
  EXPECT_FALSE(t.Blocked("2001:db8:1:3::1", kT0));
  o.ipv6_prefix = 128;
  AuthThrottle exact(o, kT0);
  for (int i = 0; i < 3; ++i) exact.RecordFailure("2001:db8:1:2::1", kT0);
  EXPECT_TRUE(exact.Blocked("2001:db8:1:2::1", kT0));
  EXPECT_FALSE(exact.Blocked("2001:db8:1:2::2", kT0));
}

// The throttle runs on the loops' wall clock (Loop::now(), a fake one in
// tests): it must follow that clock's steps, including one back before
// the epoch it was created with.
TEST(AuthThrottle, FollowsASteppedClock) {
  AuthThrottle t(Opts(), kT0);
  absl::Time now = kT0 + absl::Hours(5);
  for (int i = 0; i < 4; ++i) t.RecordFailure("192.0.2.9", now);
  now += absl::Minutes(9) + absl::Seconds(59);
  EXPECT_TRUE(t.Blocked("192.0.2.9", now));
  now += absl::Seconds(1);
  EXPECT_FALSE(t.Blocked("192.0.2.9", now));
  // Before the epoch: counted as the epoch itself, still a working window.
  const absl::Time early = kT0 - absl::Hours(1);
  for (int i = 0; i < 4; ++i) t.RecordFailure("192.0.2.10", early);
  EXPECT_TRUE(t.Blocked("192.0.2.10", early));
  EXPECT_TRUE(t.Blocked("192.0.2.10", kT0 + absl::Minutes(9)));
  EXPECT_FALSE(t.Blocked("192.0.2.10", kT0 + absl::Minutes(10)));
}

TEST(AuthThrottle, ConcurrentFailuresAreAllCounted) {
  AuthThrottleOptions o = Opts();
  o.max_failures = 100000;
  AuthThrottle t(o, kT0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&t] {
      for (int k = 0; k < 1000; ++k) t.RecordFailure("198.51.100.7", kT0);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(t.Failures("198.51.100.7", kT0), 4000u);
}

}  // namespace
}  // namespace ringmail::server
