#include "protocols/imap/mutf7.h"

#include "gtest/gtest.h"

namespace ringmail::imap {
namespace {

// The codec itself is tested in common/mutf7_test.cc.
TEST(MailboxName, Mutf7UnlessUtf8Accept) {
  std::string out;
  EXPECT_TRUE(MailboxNameToUtf8("Entw&APw-rfe", false, &out));
  EXPECT_EQ(out, "Entw\xc3\xbc" "rfe");
  EXPECT_FALSE(MailboxNameToUtf8("&AGE-", false, &out));  // non-canonical
  EXPECT_FALSE(MailboxNameToUtf8("Entw\xc3\xbc" "rfe", false, &out));
  EXPECT_TRUE(MailboxNameToUtf8("\xc3\xa4&", true, &out));
  EXPECT_EQ(out, "\xc3\xa4&");
  EXPECT_FALSE(MailboxNameToUtf8("\xc3", true, &out));
  EXPECT_TRUE(Utf8ToMutf7("a&\xc3\xa4", &out));
  EXPECT_EQ(out, "a&-&AOQ-");
  EXPECT_FALSE(Utf8ToMutf7("\xed\xa0\x80", &out));
}

}  // namespace
}  // namespace ringmail::imap
