#include "storage/maildir/maildir_name.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

TEST(MaildirNameTest, SanitizeHost) {
  EXPECT_EQ(SanitizeMaildirHost("mx1.example.com"), "mx1.example.com");
  EXPECT_EQ(SanitizeMaildirHost("a/b:c,d"), "a\\057b\\072c\\054d");
  EXPECT_EQ(SanitizeMaildirHost(""), "localhost");
  std::string longhost(300, '/');
  std::string s = SanitizeMaildirHost(longhost);
  EXPECT_LE(s.size(), kMaxMaildirHostLength);
  EXPECT_EQ(s.size() % 4, 0u);  // never cut inside an escape
}

TEST(MaildirNameTest, UniqueNameRoundTrip) {
  UniqueName n{1700000000, 123456, 4242, 7, 99, "mx\\0571"};
  std::string s = FormatUniqueName(n);
  EXPECT_EQ(s, "1700000000.M123456P4242Q7_99.mx\\0571");
  auto p = ParseUniqueName(s);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->secs, 1700000000);
  EXPECT_EQ(p->usecs, 123456);
  EXPECT_EQ(p->pid, 4242);
  EXPECT_EQ(p->core, 7);
  EXPECT_EQ(p->seq, 99u);
  EXPECT_EQ(p->host, "mx\\0571");
  EXPECT_FALSE(ParseUniqueName("1700000000.P1V2.host").ok());
  EXPECT_FALSE(ParseUniqueName("17.M1234567P1Q0_1.h").ok());  // usecs range
  EXPECT_FALSE(ParseUniqueName("17.M1P1Q0_1.").ok());         // no host
}

TEST(MaildirNameTest, NewAndCurNames) {
  std::string n = FormatNewName("1.M2P3Q0_4.h", 100, 104);
  EXPECT_EQ(n, "1.M2P3Q0_4.h,S=100,W=104");
  auto p = ParseMaildirName(n);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->base, "1.M2P3Q0_4.h");
  EXPECT_EQ(*p->size, 100u);
  EXPECT_EQ(*p->vsize, 104u);
  EXPECT_FALSE(p->has_info);
  auto cur = FormatCurName(n, "TSbaFR");
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(*cur, n + ":2,FRSTab");
  auto pc = ParseMaildirName(*cur);
  ASSERT_TRUE(pc.ok());
  EXPECT_TRUE(pc->has_info);
  EXPECT_EQ(pc->flags, "FRSTab");
  EXPECT_EQ(*pc->size, 100u);
  EXPECT_FALSE(FormatCurName(*cur, "S").ok());
  EXPECT_FALSE(FormatCurName(n, "X").ok());
}

TEST(MaildirNameTest, ParseForeignAndBadNames) {
  auto p = ParseMaildirName("1234.abc.host:2,");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->base, "1234.abc.host");
  EXPECT_FALSE(p->size.has_value());
  EXPECT_TRUE(p->has_info);
  EXPECT_EQ(p->flags, "");
  auto q = ParseMaildirName("b,X=1,W=9");  // unknown field ignored
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->vsize, 9u);
  EXPECT_FALSE(ParseMaildirName("").ok());
  EXPECT_FALSE(ParseMaildirName(",S=1").ok());
  EXPECT_FALSE(ParseMaildirName("b,S=x").ok());
  EXPECT_FALSE(ParseMaildirName("b,S=-1").ok());
  EXPECT_FALSE(ParseMaildirName("b:1,S").ok());
  EXPECT_FALSE(ParseMaildirName("b:2,S!").ok());
  EXPECT_FALSE(ParseMaildirName("a/b").ok());
  EXPECT_FALSE(ParseMaildirName(std::string(300, 'a')).ok());
}

TEST(MaildirNameTest, NormalizeFlags) {
  EXPECT_EQ(*NormalizeMaildirFlags("SSDcaT"), "DSTac");
  EXPECT_FALSE(NormalizeMaildirFlags("A").ok());
}

}  // namespace
}  // namespace ringmail::storage
