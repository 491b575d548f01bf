#include "storage/maildir/mail_location.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

TEST(MailLocationTest, DefaultTemplate) {
  EXPECT_EQ(DefaultMailLocationTemplate("/var/ringmail/"),
            "/var/ringmail/mail/%d/%n/Maildir");
  auto loc = MailLocation::Create(DefaultMailLocationTemplate("/data"));
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(*loc->Expand("Bob", "Example.COM"),
            "/data/mail/example.com/Bob/Maildir");
}

TEST(MailLocationTest, AllEscapes) {
  auto loc = MailLocation::Create("/m/%d/%n/%u/100%%");
  ASSERT_TRUE(loc.ok());
  EXPECT_EQ(*loc->Expand("u", "D.org"), "/m/d.org/u/u@d.org/100%");
  auto no_domain = MailLocation::Create("/m/%n");
  ASSERT_TRUE(no_domain.ok());
  EXPECT_EQ(*no_domain->Expand("u", ""), "/m/u");
  EXPECT_FALSE(loc->Expand("u", "").ok());  // template needs a domain
}

TEST(MailLocationTest, RejectsBadTemplates) {
  EXPECT_FALSE(MailLocation::Create("relative/%n").ok());
  EXPECT_FALSE(MailLocation::Create("/m/%x").ok());
  EXPECT_FALSE(MailLocation::Create("/m/%").ok());
  EXPECT_FALSE(MailLocation::Create("/m/../%n").ok());
  EXPECT_FALSE(MailLocation::Create("/m/./%n").ok());
  EXPECT_FALSE(MailLocation::Create(std::string("/m/\n%n")).ok());
}

TEST(MailLocationTest, UserPartsCannotEscape) {
  auto loc = MailLocation::Create("/m/%d/%n");
  ASSERT_TRUE(loc.ok());
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b", "../x", std::string("a\0b", 3),
                          "a\x01", "a\x7f", std::string(300, 'a')}) {
    EXPECT_FALSE(loc->Expand(bad, "d.org").ok()) << bad;
    EXPECT_FALSE(loc->Expand("u", bad).ok()) << bad;
  }
  EXPECT_TRUE(loc->Expand("..a", "d.org").ok());  // just a name
}

}  // namespace
}  // namespace ringmail::storage
