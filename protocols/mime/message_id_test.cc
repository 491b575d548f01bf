#include "protocols/mime/message_id.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::mime {
namespace {

using Ids = std::vector<std::string>;

TEST(MessageId, Simple) {
  EXPECT_EQ(FirstMessageId("<abc@example.test>"), "abc@example.test");
  EXPECT_EQ(FirstMessageId("  <a.b$c@x>  "), "a.b$c@x");
  EXPECT_EQ(FirstMessageId(""), "");
  EXPECT_EQ(FirstMessageId("no brackets@x"), "");
}

TEST(MessageId, ReferencesInOrder) {
  EXPECT_EQ(ParseMessageIds("<1@x> <2@x>\t<3@x>", 10), (Ids{"1@x", "2@x", "3@x"}));
  EXPECT_EQ(ParseMessageIds("<1@x><2@x>", 10), (Ids{"1@x", "2@x"}));
  EXPECT_EQ(ParseMessageIds("<1@x> <2@x> <3@x>", 2), (Ids{"1@x", "2@x"}));
  EXPECT_EQ(ParseMessageIds("<1@x>", 0), Ids{});
}

TEST(MessageId, InvalidIdsSkipped) {
  EXPECT_EQ(ParseMessageIds("<> <noat> <a b@x> <ok@x>", 10), Ids{"ok@x"});
  EXPECT_EQ(ParseMessageIds("<" + std::string(kMaxMessageIdLength, 'a') + "@x> <y@z>", 10),
            Ids{"y@z"});
  // An unclosed '<' restarts at the next one.
  EXPECT_EQ(ParseMessageIds("<junk <in@x>", 10), Ids{"in@x"});
  EXPECT_EQ(ParseMessageIds("<unclosed@x", 10), Ids{});
}

TEST(MessageId, CommentsAndQuotedStringsSkipped) {
  // Old-style In-Reply-To values.
  EXPECT_EQ(FirstMessageId("\"Joe's message of <1 Jan>\" <real@x>"), "real@x");
  EXPECT_EQ(FirstMessageId("(from Joe <joe@x>) <real@x>"), "real@x");
  EXPECT_EQ(FirstMessageId("<real@x> (from Joe <joe@x>)"), "real@x");
  EXPECT_EQ(FirstMessageId("(nested (c <a@b>) \\) <x@y>) <z@w>"), "z@w");
  EXPECT_EQ(FirstMessageId("\"unterminated <a@b>"), "");
  EXPECT_EQ(FirstMessageId("(unterminated <a@b>"), "");
}

}  // namespace
}  // namespace ringmail::mime
