#include "server/relay/tls_policy.h"

#include "gtest/gtest.h"

namespace ringmail::server::relay {
namespace {

TEST(TlsPolicy, Names) {
  EXPECT_EQ(TlsModeFor("none").policy, smtp::TlsPolicy::kNone);
  EXPECT_FALSE(TlsModeFor("none").verify_peer);
  EXPECT_EQ(TlsModeFor("opportunistic").policy, smtp::TlsPolicy::kOpportunistic);
  EXPECT_FALSE(TlsModeFor("opportunistic").verify_peer);
  EXPECT_EQ(TlsModeFor("required").policy, smtp::TlsPolicy::kRequired);
  EXPECT_FALSE(TlsModeFor("required").verify_peer);
}

TEST(TlsPolicy, VerifyRequiresStartTlsAndVerifiesThePeer) {
  TlsMode m = TlsModeFor("verify");
  EXPECT_EQ(m.policy, smtp::TlsPolicy::kRequired);
  EXPECT_TRUE(m.verify_peer);
}

}  // namespace
}  // namespace ringmail::server::relay
