#include "common/utf8.h"

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace ringmail::common {
namespace {

TEST(Utf8, Validates) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));    // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));
  EXPECT_EQ(ValidUtf8Prefix("ab\xc3\xa9\xc3"), 4u);
}

TEST(Utf8, SequenceLengthAndAppendAgree) {
  for (uint32_t v : {0x0u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xd7ffu, 0xe000u, 0xffffu,
                     0x10000u, 0x10ffffu}) {
    const char32_t cp = v;
    std::string s;
    AppendUtf8(cp, &s);
    char32_t back = 0;
    EXPECT_EQ(Utf8SequenceLength(s, 0, &back), s.size()) << v;
    EXPECT_EQ(static_cast<uint32_t>(back), v);
  }
}

}  // namespace
}  // namespace ringmail::common
