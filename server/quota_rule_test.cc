#include "server/quota_rule.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "server/directory.h"
#include "server/quota_service.h"

namespace ringmail::server {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(QuotaAmount, UnitsAndDefaults) {
  EXPECT_EQ(*ParseQuotaAmount("0", 1024), 0u);
  EXPECT_EQ(*ParseQuotaAmount("100", 1), 100u);
  EXPECT_EQ(*ParseQuotaAmount("100", 1024), 102400u);
  EXPECT_EQ(*ParseQuotaAmount("100B", 1024), 100u);
  EXPECT_EQ(*ParseQuotaAmount("2k", 1), 2048u);
  EXPECT_EQ(*ParseQuotaAmount("3M", 1), 3u << 20);
  EXPECT_EQ(*ParseQuotaAmount("1G", 1), uint64_t{1} << 30);
  EXPECT_EQ(*ParseQuotaAmount("5t", 1), uint64_t{5} << 40);
  for (const char* bad : {"", "G", "1GB", "1X", "-1", "+1", "1.5G", " 1",
                          "99999999999999999999", "5000000T"}) {
    EXPECT_FALSE(ParseQuotaAmount(bad, 1).ok()) << bad;
  }
}

TEST(QuotaRuleKey, DovecotNames) {
  for (const char* k : {"quota_rule", "quota_rule2", "userdb_quota_rule",
                        "userdb_quota_rule10"}) {
    EXPECT_TRUE(IsQuotaRuleKey(k)) << k;
  }
  for (const char* k : {"quota", "quota_rulex", "userdb_quota", "Quota_rule",
                        "userdb_userdb_quota_rule", "quota_rule12345"}) {
    EXPECT_FALSE(IsQuotaRuleKey(k)) << k;
  }
}

TEST(QuotaRules, DefaultRuleSetsLimits) {
  auto r = ParseUserQuotaRules(Fields{{"userdb_quota_rule", "*:storage=1G"},
                                      {"userdb_quota_rule2", "*:messages=10000"},
                                      {"home", "/x"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes, uint64_t{1} << 30);
  EXPECT_EQ(r->messages, 10000u);
  EXPECT_TRUE(r->ignored.empty());

  // storage without a unit is in kilobytes, bytes= in bytes; later wins.
  r = ParseUserQuotaRules(Fields{{"quota_rule", "*:storage=10:messages=5"},
                                 {"quota_rule2", "?:bytes=700"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 700u);
  EXPECT_EQ(r->messages, 5u);

  r = ParseUserQuotaRules(Fields{{"quota_rule", "*:storage=10"}});
  EXPECT_EQ(r->bytes, 10240u);
  EXPECT_FALSE(r->messages.has_value());

  // storage=0 is an explicit "unlimited".
  r = ParseUserQuotaRules(Fields{{"quota_rule", "*:storage=0"}});
  EXPECT_EQ(r->bytes, 0u);

  r = ParseUserQuotaRules(Fields{});
  EXPECT_FALSE(r->bytes.has_value());
  EXPECT_FALSE(r->messages.has_value());
}

TEST(QuotaRules, MaildirBackendRule) {
  auto r = ParseUserQuotaRules(Fields{{"quota_rule", "*:backend=5000S,20C"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->bytes, 5000u);
  EXPECT_EQ(r->messages, 20u);
  r = ParseUserQuotaRules(Fields{{"quota_rule", "*:backend=NOQUOTA"}});
  EXPECT_EQ(r->bytes, 0u);
  EXPECT_EQ(r->messages, 0u);
  EXPECT_FALSE(ParseUserQuotaRules(Fields{{"quota_rule", "*:backend=5KS"}}).ok());
  EXPECT_FALSE(ParseUserQuotaRules(Fields{{"quota_rule", "*:backend=5X"}}).ok());
}

TEST(QuotaRules, PerMailboxRulesAreIgnored) {
  auto r = ParseUserQuotaRules(Fields{{"quota_rule", "*:storage=1M"},
                                      {"quota_rule2", "Trash:storage=+100M"},
                                      {"quota_rule3", "Spam:ignore"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, 1u << 20);
  EXPECT_EQ(r->ignored,
            (std::vector<std::string>{"quota_rule2=Trash:storage=+100M",
                                      "quota_rule3=Spam:ignore"}));
}

TEST(QuotaRules, BadRules) {
  for (const char* bad : {"storage=1G", "*:", "*:storage", "*:storage=",
                          "*:storage=-1", "*:storage=+1G", "*:storage=10%",
                          "*:size=1G", "*:storage=1Q", "*:messages=x"}) {
    auto r = ParseUserQuotaRules(Fields{{"userdb_quota_rule", bad}});
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << bad;
  }
}

class QuotaPolicyTest : public ::testing::Test {
 protected:
  std::unique_ptr<Directory> Load(const std::string& passwd) {
    const char* base = getenv("TEST_TMPDIR");
    std::string path = std::string(base ? base : "/tmp") + "/quota_passwd";
    std::ofstream(path, std::ios::trunc) << passwd;
    auto d = Directory::Load(path, {});
    EXPECT_TRUE(d.ok()) << d.status();
    unlink(path.c_str());
    return d.ok() ? std::move(*d) : nullptr;
  }
};

TEST_F(QuotaPolicyTest, UserRulesOverrideDefaultsPerLimit) {
  auto dir = Load(
      "a@x.test:{PLAIN}p::::::userdb_quota_rule=*:storage=1M\n"
      "b@x.test:{PLAIN}p::::::quota_rule=*:messages=7 quota_rule2=*:bytes=0\n"
      "c@x.test:{PLAIN}p\n");
  ASSERT_NE(dir, nullptr);
  auto policy = QuotaPolicy::Create(*dir, {5000, 50});
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->LimitsFor("a", "x.test"), (storage::QuotaLimits{1 << 20, 50}));
  EXPECT_EQ((*policy)->LimitsFor("B", "X.TEST"), (storage::QuotaLimits{0, 7}));
  EXPECT_EQ((*policy)->LimitsFor("c", "x.test"), (storage::QuotaLimits{5000, 50}));
  EXPECT_EQ((*policy)->LimitsFor("nobody", "x.test"), (storage::QuotaLimits{5000, 50}));
}

TEST_F(QuotaPolicyTest, BadRuleNamesTheUser) {
  auto dir = Load("a@x.test:{PLAIN}p::::::userdb_quota_rule=*:storage=lots\n");
  ASSERT_NE(dir, nullptr);
  auto policy = QuotaPolicy::Create(*dir, {});
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("user a@x.test"), std::string::npos);
}

TEST_F(QuotaPolicyTest, TargetsOnlyForLimitedUsers) {
  auto dir = Load(
      "a@x.test:{PLAIN}p::::::quota_rule=*:storage=1M\n"
      "c@x.test:{PLAIN}p\n");
  ASSERT_NE(dir, nullptr);
  auto policy = QuotaPolicy::Create(*dir, {});
  ASSERT_TRUE(policy.ok());
  auto location = storage::MailLocation::Create("/var/mail/%d/%n/Maildir");
  ASSERT_TRUE(location.ok());
  QuotaTarget a = QuotaTargetFor(policy->get(), *location, {"a", "x.test"});
  EXPECT_TRUE(a.enabled());
  EXPECT_EQ(a.maildir, "/var/mail/x.test/a/Maildir");
  EXPECT_FALSE(QuotaTargetFor(policy->get(), *location, {"c", "x.test"}).enabled());
  EXPECT_FALSE(QuotaTargetFor(nullptr, *location, {"a", "x.test"}).enabled());
  EXPECT_TRUE((*policy)->any());
  // Nobody limited: no lookups at all.
  auto plain = Load("c@x.test:{PLAIN}p\n");
  ASSERT_NE(plain, nullptr);
  auto none = QuotaPolicy::Create(*plain, {});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)->any());
  EXPECT_FALSE(QuotaTargetFor(none->get(), *location, {"c", "x.test"}).enabled());
  EXPECT_EQ(MaildirNameSize("1.M2P3.h,S=1234,W=1300"), 1234u);
  EXPECT_EQ(MaildirNameSize("1.M2P3.h,S=55:2,S"), 55u);
  EXPECT_EQ(MaildirNameSize("1.M2P3.h"), 0u);
}

}  // namespace
}  // namespace ringmail::server
