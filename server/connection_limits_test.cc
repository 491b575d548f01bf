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

TEST(ConnectionLimits, Ipv6CountsByPrefix) {
  using V = ConnectionLimits::Verdict;
  ConnectionLimits l(100, 2);  // default /64
  EXPECT_EQ(l.TryAdmit("2001:db8:1:2::1"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("2001:db8:1:2:ffff:ffff:ffff:ffff"), V::kAdmitted);
  // A third address of the same /64, however it is spelt, is the same client.
  EXPECT_EQ(l.TryAdmit("2001:DB8:1:2:0:0:0:3"), V::kTooManyFromIp);
  // The neighbouring /64s are other clients.
  EXPECT_EQ(l.TryAdmit("2001:db8:1:3::1"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("2001:db8:1:1::1"), V::kAdmitted);
  // Release by any address of the /64 frees its slot.
  l.Release("2001:db8:1:2::1");
  EXPECT_EQ(l.TryAdmit("2001:db8:1:2::abcd"), V::kAdmitted);
  EXPECT_EQ(l.total(), 4u);
}

TEST(ConnectionLimits, ConfiguredIpv6Prefix) {
  using V = ConnectionLimits::Verdict;
  ConnectionLimits whole(100, 1, 128);  // per address
  EXPECT_EQ(whole.TryAdmit("2001:db8::1"), V::kAdmitted);
  EXPECT_EQ(whole.TryAdmit("2001:db8::2"), V::kAdmitted);
  EXPECT_EQ(whole.TryAdmit("2001:db8::1"), V::kTooManyFromIp);
  ConnectionLimits site(100, 1, 48);
  EXPECT_EQ(site.TryAdmit("2001:db8:aa:1::1"), V::kAdmitted);
  EXPECT_EQ(site.TryAdmit("2001:db8:aa:ff::1"), V::kTooManyFromIp);
  EXPECT_EQ(site.TryAdmit("2001:db8:ab::1"), V::kAdmitted);
  // A prefix that ends inside a byte: /60 keeps the top nibble of byte 7.
  ConnectionLimits odd(100, 1, 60);
  EXPECT_EQ(odd.TryAdmit("2001:db8:0:10::1"), V::kAdmitted);
  EXPECT_EQ(odd.TryAdmit("2001:db8:0:1f::1"), V::kTooManyFromIp);
  EXPECT_EQ(odd.TryAdmit("2001:db8:0:20::1"), V::kAdmitted);
}

TEST(ConnectionLimits, Ipv4CountsPerAddressAlsoWhenMapped) {
  using V = ConnectionLimits::Verdict;
  ConnectionLimits l(100, 2);
  EXPECT_EQ(l.TryAdmit("192.0.2.1"), V::kAdmitted);
  // The same client through a dual-stack listener.
  EXPECT_EQ(l.TryAdmit("::ffff:192.0.2.1"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("192.0.2.1"), V::kTooManyFromIp);
  // The /64 rule does not lump mapped IPv4 addresses together.
  EXPECT_EQ(l.TryAdmit("::ffff:192.0.2.2"), V::kAdmitted);
  EXPECT_EQ(l.TryAdmit("192.0.2.2"), V::kAdmitted);
}

}  // namespace
}  // namespace ringmail::server
