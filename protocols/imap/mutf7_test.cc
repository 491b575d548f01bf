#include "protocols/imap/mutf7.h"

#include "gtest/gtest.h"

namespace ringmail::imap {
namespace {

TEST(Mutf7, RoundTrips) {
  const char* cases[][2] = {
      {"INBOX", "INBOX"},
      {"a&b", "a&-b"},
      {"Entw\xc3\xbc" "rfe", "Entw&APw-rfe"},
      {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
      {"\xf0\x9f\x98\x80", "&2D3eAA-"},
      {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
  };
  for (auto& c : cases) {
    std::string enc, dec;
    ASSERT_TRUE(Utf8ToMutf7(c[0], &enc)) << c[0];
    EXPECT_EQ(enc, c[1]);
    ASSERT_TRUE(Mutf7ToUtf8(c[1], &dec)) << c[1];
    EXPECT_EQ(dec, c[0]);
  }
}

TEST(Mutf7, RejectsNonCanonical) {
  std::string out;
  for (const char* bad : {"&", "&Jjo", "&-&", "&AGE-", "&Jjo-&Jjo-", "&Jj-",
                          "&2D0-", "&3gA-", "a\xc3\xa4", "&Jjo!-", "&AAA-",
                          "&-&ZeVnLIqe", "&Jjp-"}) {
    EXPECT_FALSE(Mutf7ToUtf8(bad, &out)) << bad;
  }
  EXPECT_TRUE(Mutf7ToUtf8("&Jjo-", &out));
  EXPECT_FALSE(Utf8ToMutf7("\xc3", &out));
  EXPECT_FALSE(Utf8ToMutf7("\xed\xa0\x80", &out));
  EXPECT_TRUE(MailboxNameToUtf8("\xc3\xa4&", true, &out));
  EXPECT_EQ(out, "\xc3\xa4&");
  EXPECT_FALSE(MailboxNameToUtf8("\xc3", true, &out));
}

}  // namespace
}  // namespace ringmail::imap
