#include "protocols/mime/decode.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::mime {
namespace {

TEST(Base64Test, DecodesAndIgnoresJunk) {
  EXPECT_EQ(DecodeBody("aGVs\nbG8g\r\nd29y bGQ=\nignored", TransferEncoding::kBase64),
            "hello world");
  EXPECT_EQ(DecodeBody("*a*G*V*s*", TransferEncoding::kBase64), "hel");
  EXPECT_EQ(DecodeBody("aGVsbG8=", TransferEncoding::kBase64, 3), "hel");
}

TEST(Base64Test, StreamingMatchesWhole) {
  const std::string in = "SGVsbG8sIFdvcmxkIQ==";
  for (size_t step = 1; step <= in.size(); ++step) {
    Base64Decoder d;
    std::string out;
    for (size_t i = 0; i < in.size(); i += step) d.Feed(in.substr(i, step), &out);
    EXPECT_EQ(out, "Hello, World!") << step;
  }
}

TEST(QuotedPrintableTest, Rules) {
  EXPECT_EQ(DecodeBody("caf=C3=A9 =\nlatte  \nx=3d=3D\n=ZZ=", 
                       TransferEncoding::kQuotedPrintable),
            "caf\xc3\xa9 latte\nx==\n=ZZ");
  EXPECT_EQ(DecodeBody("a=\r\nb\r\n", TransferEncoding::kQuotedPrintable),
            "ab\n");
}

TEST(QuotedPrintableTest, StreamingMatchesWhole) {
  const std::string in = "Gr=C3=BC=C3=9Fe =\nan alle   \nEnde=\n";
  const std::string want =
      DecodeBody(in, TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(want, "Gr\xc3\xbc\xc3\x9f" "e an alle\nEnde");
  for (size_t step = 1; step <= in.size(); ++step) {
    QuotedPrintableDecoder d;
    std::string out;
    for (size_t i = 0; i < in.size(); i += step) d.Feed(in.substr(i, step), &out);
    d.Finish(&out);
    EXPECT_EQ(out, want) << step;
  }
}

TEST(QuotedPrintableTest, LongLinesStayBounded) {
  std::string in(100000, 'a');
  in += "=41";
  QuotedPrintableDecoder d(50);
  std::string out;
  d.Feed(in, &out);
  d.Finish(&out);
  EXPECT_EQ(out.size(), 50u);
  EXPECT_TRUE(d.overflowed());
  QuotedPrintableDecoder big;
  std::string all;
  big.Feed(in, &all);
  big.Finish(&all);
  EXPECT_EQ(all, std::string(100000, 'a') + "A");
}

TEST(TransferEncodingTest, Names) {
  EXPECT_EQ(ParseTransferEncoding("BASE64"), TransferEncoding::kBase64);
  EXPECT_EQ(ParseTransferEncoding("Quoted-Printable"),
            TransferEncoding::kQuotedPrintable);
  EXPECT_EQ(ParseTransferEncoding("8bit"), TransferEncoding::kIdentity);
}

TEST(MatcherTest, CaseInsensitiveAcrossChunks) {
  EXPECT_TRUE(ContainsIgnoreCase("Hello World", "WORLD"));
  EXPECT_FALSE(ContainsIgnoreCase("Hello Worl", "world"));
  EXPECT_TRUE(ContainsIgnoreCase("anything", ""));
  EXPECT_TRUE(ContainsIgnoreCase("aaab", "aab"));
  EXPECT_TRUE(ContainsIgnoreCase("Caf\xc3\xa9!", "CAF\xc3\xa9"));
  EXPECT_FALSE(ContainsIgnoreCase("caf\xc3\xa9", "CAF\xc3\x89"));  // no UTF-8 folding
  SubstringMatcher m("needle");
  EXPECT_FALSE(m.Feed("hay nee"));
  EXPECT_TRUE(m.Feed("DLE hay"));
  EXPECT_TRUE(m.matched());
  m.Reset();
  EXPECT_FALSE(m.matched());
  const std::string hay = "abababababc";
  for (size_t step = 1; step <= hay.size(); ++step) {
    SubstringMatcher k("ababc");
    for (size_t i = 0; i < hay.size(); i += step) k.Feed(hay.substr(i, step));
    EXPECT_TRUE(k.matched()) << step;
  }
}

}  // namespace
}  // namespace ringmail::mime
