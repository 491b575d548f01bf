#include "protocols/smtp/sasl.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::smtp {
namespace {

TEST(Sasl, Base64RoundTrip) {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0u\0p", 4)}) {
    std::string out;
    ASSERT_TRUE(DecodeBase64(EncodeBase64(s), 100, &out)) << s;
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(EncodeBase64(std::string("\0user\0pass", 10)), "AHVzZXIAcGFzcw==");
}

TEST(Sasl, Base64IsStrict) {
  std::string out;
  EXPECT_FALSE(DecodeBase64("AHVzZXIAcGFzcw=", 100, &out));   // length
  EXPECT_FALSE(DecodeBase64("AHVzZXIAcGFzcw", 100, &out));    // no padding
  EXPECT_FALSE(DecodeBase64("AH=zZXIA", 100, &out));          // pad inside
  EXPECT_FALSE(DecodeBase64("AHVz ZXIA", 100, &out));         // space
  EXPECT_FALSE(DecodeBase64("AHVz*XIA", 100, &out));          // alphabet
  EXPECT_FALSE(DecodeBase64("QUJDRA==", 3, &out));            // over limit
  EXPECT_TRUE(DecodeBase64("QUJDRA==", 4, &out));
  EXPECT_EQ(out, "ABCD");
}

TEST(Sasl, SplitPlain) {
  std::string_view z, u, p;
  EXPECT_TRUE(SplitSaslPlain(std::string_view("\0user\0pw", 8), &z, &u, &p));
  EXPECT_EQ(z, "");
  EXPECT_EQ(u, "user");
  EXPECT_EQ(p, "pw");
  EXPECT_TRUE(SplitSaslPlain(std::string_view("az\0user\0pw", 10), &z, &u, &p));
  EXPECT_EQ(z, "az");
  EXPECT_FALSE(SplitSaslPlain(std::string_view("\0user", 5), &z, &u, &p));
  EXPECT_FALSE(SplitSaslPlain(std::string_view("\0\0pw", 4), &z, &u, &p));
  EXPECT_FALSE(SplitSaslPlain(std::string_view("\0user\0", 6), &z, &u, &p));
  EXPECT_FALSE(SplitSaslPlain(std::string_view("\0u\0p\0q", 6), &z, &u, &p));
}

TEST(Sasl, WipeClears) {
  std::string s = "secret";
  WipeString(&s);
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace ringmail::smtp
