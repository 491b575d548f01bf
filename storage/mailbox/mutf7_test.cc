#include "storage/mailbox/mutf7.h"

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

TEST(Mutf7Test, RoundTrips) {
  struct Case {
    const char* utf8;
    const char* mutf7;
  } cases[] = {
      {"INBOX", "INBOX"},
      {"A&B", "A&-B"},
      {"Entw\xC3\xBC" "rfe", "Entw&APw-rfe"},
      {"~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},  // RFC 3501 §5.1.3 example
      {"\xF0\x9F\x98\x80", "&2D3eAA-"},    // astral plane: surrogate pair
  };
  for (const Case& c : cases) {
    EXPECT_EQ(*EncodeMutf7(c.utf8), c.mutf7);
    EXPECT_EQ(*DecodeMutf7(c.mutf7), c.utf8);
  }
}

TEST(Mutf7Test, RejectsMalformed) {
  for (const char* bad : {"&", "&Jjo", "&AGE-&AGE-", "&AEE-", "a\x80", "&2D3-",
                          "&!-"}) {
    EXPECT_FALSE(DecodeMutf7(bad).ok()) << bad;
  }
  EXPECT_FALSE(EncodeMutf7("\xC0\x80").ok());      // overlong
  EXPECT_FALSE(EncodeMutf7("\xED\xA0\x80").ok());  // surrogate
  EXPECT_FALSE(EncodeMutf7(std::string(kMaxMutf7InputBytes + 1, 'a')).ok());
}

}  // namespace
}  // namespace ringmail::storage
