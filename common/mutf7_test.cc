#include "common/mutf7.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::common {
namespace {

TEST(Mutf7, RoundTrips) {
  const char* cases[][2] = {
      {"INBOX", "INBOX"},
      {"a&b", "a&-b"},
      {"Entw\xc3\xbc" "rfe", "Entw&APw-rfe"},
      {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-"},
      {"\xf0\x9f\x98\x80", "&2D3eAA-"},  // astral plane: a surrogate pair
      // RFC 3501 §5.1.3's example.
      {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
       "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
      {"tab\there", "tab&AAk-here"},  // controls are shifted, not raw
      {"", ""},
  };
  for (auto& c : cases) {
    std::string enc, dec;
    ASSERT_TRUE(EncodeMutf7(c[0], &enc)) << c[0];
    EXPECT_EQ(enc, c[1]);
    ASSERT_TRUE(DecodeMutf7(c[1], &dec)) << c[1];
    EXPECT_EQ(dec, c[0]);
  }
}

TEST(Mutf7, RejectsNonCanonicalAndMalformed) {
  std::string out = "stale";
  for (const char* bad :
       {"&", "&Jjo", "&-&", "&AGE-", "&AEE-", "&Jjo-&Jjo-", "&AGE-&AGE-", "&Jj-",
        "&2D0-", "&2D3-", "&3gA-", "a\xc3\xa4", "a\x80", "&Jjo!-", "&!-", "&AAA-",
        "&-&ZeVnLIqe", "&Jjp-", "tab\there"}) {
    const char* why = nullptr;
    EXPECT_FALSE(DecodeMutf7(bad, &out, &why)) << bad;
    EXPECT_NE(why, nullptr) << bad;
  }
  EXPECT_TRUE(DecodeMutf7("&Jjo-", &out));
  EXPECT_TRUE(DecodeMutf7("&Jjo-&-", &out));  // a run, then a literal '&'
  EXPECT_EQ(out, "\xe2\x98\xba&");
  EXPECT_FALSE(EncodeMutf7("\xc3", &out));          // truncated
  EXPECT_FALSE(EncodeMutf7("\xc0\x80", &out));      // overlong
  EXPECT_FALSE(EncodeMutf7("\xed\xa0\x80", &out));  // surrogate
}

TEST(Mutf7, BoundsInput) {
  std::string out;
  const char* why = nullptr;
  EXPECT_TRUE(EncodeMutf7(std::string(kMaxMutf7InputBytes, 'a'), &out));
  EXPECT_FALSE(EncodeMutf7(std::string(kMaxMutf7InputBytes + 1, 'a'), &out, &why));
  EXPECT_STREQ(why, "input too long");
  EXPECT_TRUE(DecodeMutf7(std::string(kMaxMutf7InputBytes, 'a'), &out));
  EXPECT_FALSE(DecodeMutf7(std::string(kMaxMutf7InputBytes + 1, 'a'), &out));
}

// Found by mutf7_fuzzer: an input under the limit whose encoding is over it
// ('&' becomes "&-") was encoded, and the encoding was then refused by
// DecodeMutf7. Both now refuse a result over the limit, so whatever one
// accepts, the other takes back.
TEST(Mutf7, BoundsResultSoRoundTripsHold) {
  std::string out, back;
  const char* why = nullptr;
  const std::string ampersands(kMaxMutf7InputBytes / 2 + 1, '&');
  EXPECT_FALSE(EncodeMutf7(ampersands, &out, &why));
  EXPECT_STREQ(why, "encoded form too long");
  const std::string fits(kMaxMutf7InputBytes / 2, '&');
  ASSERT_TRUE(EncodeMutf7(fits, &out));
  ASSERT_TRUE(DecodeMutf7(out, &back));
  EXPECT_EQ(back, fits);
  // U+4E2D (3 octets of UTF-8) in a shifted run: every 8 octets of base64
  // hold 3 of them, 9 octets decoded. A run just under the limit decodes to
  // more than it.
  std::string run = "&";
  while (run.size() + 8 + 1 <= kMaxMutf7InputBytes) run += "Ti1OLU4t";  // 3 x U+4E2D
  run += "-";
  EXPECT_FALSE(DecodeMutf7(run, &out, &why));
  EXPECT_STREQ(why, "decoded form too long");
}

// Every code point class, in runs of different lengths (padding of 0, 2
// and 4 bits), survives Encode then Decode, and Decode accepts only what
// Encode writes.
TEST(Mutf7, RoundTripsEveryPadding) {
  const char* pieces[] = {"a", "&", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x01"};
  for (const char* a : pieces) {
    for (const char* b : pieces) {
      for (const char* c : pieces) {
        const std::string in = std::string(a) + b + c;
        std::string enc, dec, again;
        ASSERT_TRUE(EncodeMutf7(in, &enc)) << in;
        ASSERT_TRUE(DecodeMutf7(enc, &dec)) << enc;
        EXPECT_EQ(dec, in);
        ASSERT_TRUE(EncodeMutf7(dec, &again));
        EXPECT_EQ(again, enc);
      }
    }
  }
}

}  // namespace
}  // namespace ringmail::common
