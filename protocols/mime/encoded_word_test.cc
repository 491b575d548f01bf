#include "protocols/mime/encoded_word.h"

#include "gtest/gtest.h"

namespace ringmail::mime {
namespace {

TEST(EncodedWord, PlainTextUnchanged) {
  EXPECT_EQ(DecodeEncodedWords("hello world"), "hello world");
  EXPECT_EQ(DecodeEncodedWords(""), "");
  EXPECT_EQ(DecodeEncodedWords("a =? b ?= c"), "a =? b ?= c");
}

TEST(EncodedWord, BAndQ) {
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?B?Y2Fmw6k=?="), "caf\xc3\xa9");
  EXPECT_EQ(DecodeEncodedWords("=?utf-8?q?caf=C3=A9_au_lait?="),
            "caf\xc3\xa9 au lait");
  EXPECT_EQ(DecodeEncodedWords("Re: =?UTF-8?Q?x?= tail"), "Re: x tail");
}

TEST(EncodedWord, Latin1ToUtf8) {
  EXPECT_EQ(DecodeEncodedWords("=?ISO-8859-1?Q?caf=E9?="), "caf\xc3\xa9");
  // RFC 2231 §5 language suffix.
  EXPECT_EQ(DecodeEncodedWords("=?iso-8859-1*fr?Q?=E9?="), "\xc3\xa9");
}

TEST(EncodedWord, OtherCharsetKeepsOctets) {
  EXPECT_EQ(DecodeEncodedWords("=?KOI8-R?Q?=C1?="), "\xc1");
}

TEST(EncodedWord, WhitespaceBetweenAdjacentWordsDropped) {
  // RFC 2047 §8 examples.
  EXPECT_EQ(DecodeEncodedWords("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  EXPECT_EQ(DecodeEncodedWords("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(DecodeEncodedWords("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)"),
            "(ab)");
  EXPECT_EQ(DecodeEncodedWords("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?a?= x =?UTF-8?Q?b?="), "a x b");
}

TEST(EncodedWord, MalformedKeptLiterally) {
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?a b?="), "=?UTF-8?Q?a b?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?abc"), "=?UTF-8?Q?abc");
  EXPECT_EQ(DecodeEncodedWords("=??Q?abc?="), "=??Q?abc?=");
  // A malformed word does not join with the next one.
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?X?a?= =?UTF-8?Q?b?="), "=?UTF-8?X?a?= b");
  // "=?" inside a word that then decodes.
  EXPECT_EQ(DecodeEncodedWords("=?=?UTF-8?Q?b?="), "=?b");
}

TEST(EncodedWord, WordLimit) {
  std::string in;
  for (int i = 0; i < 5; ++i) in += "=?UTF-8?Q?a?=";
  EXPECT_EQ(DecodeEncodedWords(in, 3), "aaa=?UTF-8?Q?a?==?UTF-8?Q?a?=");
}

}  // namespace
}  // namespace ringmail::mime
