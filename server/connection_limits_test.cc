#include "server/connection_limits.h"

#include <gtest/gtest.h>

namespace ringmail::server {
namespace {

TEST(ConnectionLimits, PerIpAndTotal) {
  ConnectionLimits l(3, 2);
  using V = ConnectionLimits::Verdict;
  EXPECT_EQ(l.TryAdmit("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("10.0.0.1"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("10.0.0.1"), V::kTooManyFromIp);
  EXPECT_EQ(l.TryAdmit("10.0.0.2"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("10.0.0.3"), V::kTooManyTotal);
  EXPECT_EQ(l.total(), 3u);
  l.Release("10.0.0.1");
  EXPECT_EQ(l.TryAdmit("10.0.0.3"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("10.0.0.1"), V::kTooManyTotal);
}

}  // namespace
}  // namespace ringmail::server
