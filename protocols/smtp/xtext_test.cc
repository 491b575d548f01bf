#include "protocols/smtp/xtext.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::smtp {
namespace {

TEST(Xtext, EncodesPlusEqualsSpaceControlsAndHighOctets) {
  EXPECT_EQ(XtextEncode("user@example.com"), "user@example.com");
  EXPECT_EQ(XtextEncode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(XtextEncode(std::string("\0\r\n\x7f\xc3\xa9", 6)),
            "+00+0D+0A+7F+C3+A9");
  EXPECT_EQ(XtextEncode(""), "");
}

TEST(Xtext, RoundTripsEveryOctet) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string enc = XtextEncode(all);
  for (char c : enc) {
    EXPECT_TRUE(c >= '!' && c <= '~' && c != '=') << static_cast<int>(c);
  }
  EXPECT_EQ(XtextDecode(enc), all);
}

TEST(Xtext, DecodesAndAcceptsLowerCaseHex) {
  EXPECT_EQ(XtextDecode("a+2Bb+3dc"), "a+b=c");
  EXPECT_EQ(XtextDecode(""), "");
  EXPECT_EQ(XtextDecode("rfc822;x+40y"), "rfc822;x@y");
}

TEST(Xtext, RejectsMalformed) {
  for (std::string_view bad :
       {"+", "+4", "a+4", "+4G", "+G4", "a=b", "a b", "\x80", "a\tb", "+ 41",
        "\x7f"}) {
    EXPECT_EQ(XtextDecode(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace ringmail::smtp
