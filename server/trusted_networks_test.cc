#include "server/trusted_networks.h"

#include "gtest/gtest.h"

namespace ringmail::server {
namespace {

TEST(TrustedNetworks, DefaultLoopback) {
  auto n = TrustedNetworks::Parse({"127.0.0.0/8", "::1/128"});
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->ContainsText("127.0.0.1"));
  EXPECT_TRUE(n->ContainsText("127.0.0.2"));
  EXPECT_TRUE(n->ContainsText("::1"));
  EXPECT_FALSE(n->ContainsText("128.0.0.1"));
  EXPECT_FALSE(n->ContainsText("::2"));
  auto a = engine::SocketAddress::Parse("127.9.9.9:25");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(n->Contains(*a));
}

TEST(TrustedNetworks, HostsAndOddPrefixes) {
  auto n = TrustedNetworks::Parse({"127.0.0.1", "10.1.0.0/13", "2001:db8::/33"});
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->ContainsText("127.0.0.1"));
  EXPECT_FALSE(n->ContainsText("127.0.0.2"));  // the test's "remote" client
  EXPECT_TRUE(n->ContainsText("10.7.255.255"));
  EXPECT_FALSE(n->ContainsText("10.8.0.0"));
  EXPECT_TRUE(n->ContainsText("2001:db8:7fff::1"));
  EXPECT_FALSE(n->ContainsText("2001:db8:8000::1"));
}

TEST(TrustedNetworks, ErrorsNameTheEntry) {
  for (const char* bad : {"127.0.0.0/33", "::1/129", "localhost", "1.2.3.4/x", "/8"}) {
    auto n = TrustedNetworks::Parse({bad});
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_NE(n.status().message().find(bad), std::string::npos);
  }
  EXPECT_TRUE(TrustedNetworks::Parse({}).ok());
}

}  // namespace
}  // namespace ringmail::server
