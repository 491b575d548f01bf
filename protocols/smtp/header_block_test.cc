// The held header block: where it ends, what it lacks, and its bound.
#include "protocols/smtp/header_block.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace ringmail::smtp {
namespace {

// Feeds `text` in pieces of `step` until the block completes; returns the
// octets consumed.
size_t Feed(HeaderBlock* h, std::string_view text, size_t step) {
  size_t pos = 0;
  while (pos < text.size() && h->collecting()) {
    size_t cap = 0;
    char* dst = h->Reserve(&cap);
    const size_t n = std::min({cap, step, text.size() - pos});
    std::memcpy(dst, text.data() + pos, n);
    h->Commit(n);
    pos += n;
  }
  return pos;
}

TEST(HeaderBlockTest, EndsAtEmptyLineWholeAndByteByByte) {
  const std::string msg =
      "Subject: x\nDATE : Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n";
  for (size_t step : {msg.size(), size_t{1}, size_t{3}}) {
    HeaderBlock h;
    h.Reset();
    const size_t used = Feed(&h, msg, step);
    EXPECT_FALSE(h.collecting());
    EXPECT_LE(used, msg.size());
    EXPECT_EQ(h.held(), msg.substr(0, used));
    EXPECT_GE(used, msg.find("\n\n") + 2);
    EXPECT_FALSE(h.missing_date());  // obsolete "DATE :" form counts
    EXPECT_TRUE(h.missing_message_id());
  }
}

TEST(HeaderBlockTest, FindsMessageIdAndIgnoresBodyAndContinuations) {
  HeaderBlock h;
  h.Reset();
  Feed(&h, "Subject: a\n Date: folded, not a field\nmessage-id: <a@b>\n\n",
       1);
  ASSERT_FALSE(h.collecting());
  EXPECT_TRUE(h.missing_date());
  EXPECT_FALSE(h.missing_message_id());
}

TEST(HeaderBlockTest, EmptyHeaderAndHeaderOnlyMessage) {
  HeaderBlock h;
  h.Reset();
  Feed(&h, "\nDate: in the body\n", 1);
  EXPECT_FALSE(h.collecting());
  EXPECT_TRUE(h.missing_date());

  h.Reset();
  Feed(&h, "Date: x\nSubject: no body", 2);
  EXPECT_TRUE(h.collecting());
  h.Finish();
  EXPECT_FALSE(h.collecting());
  EXPECT_FALSE(h.missing_date());
  EXPECT_TRUE(h.missing_message_id());
  EXPECT_EQ(h.held(), "Date: x\nSubject: no body");
}

TEST(HeaderBlockTest, OverlongHeaderIsPassedOnUnexamined) {
  HeaderBlock h;
  h.Reset();
  std::string big;
  while (big.size() < HeaderBlock::kMaxHeaderBlock + 100) {
    big += "X-Filler: 0123456789012345678901234567890123456789\n";
  }
  const size_t used = Feed(&h, big, 4096);
  EXPECT_FALSE(h.collecting());
  EXPECT_EQ(used, HeaderBlock::kMaxHeaderBlock);
  EXPECT_EQ(h.held().size(), HeaderBlock::kMaxHeaderBlock);
  EXPECT_FALSE(h.missing_date());  // not examined: nothing is added
  EXPECT_FALSE(h.missing_message_id());
}

}  // namespace
}  // namespace ringmail::smtp
