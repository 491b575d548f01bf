#include "common/line_reader.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::common {
namespace {

// Feeds `in` in pieces of `step`; returns lines, "<long>" for kTooLong.
template <size_t kCapacity>
std::vector<std::string> Read(std::string_view in, size_t step, size_t limit) {
  LineReader<kCapacity> r;
  std::vector<std::string> got;
  for (size_t pos = 0; pos < in.size(); pos += step) {
    std::string_view chunk = in.substr(pos, step);
    while (!chunk.empty()) {
      size_t used = 0;
      std::string_view line;
      const LineStatus st = r.Next(chunk, limit, &used, &line);
      EXPECT_LE(used, chunk.size());
      if (st == LineStatus::kNeedMore) {
        EXPECT_EQ(used, chunk.size());
      }
      chunk.remove_prefix(used);
      if (st == LineStatus::kLine) got.emplace_back(line);
      if (st == LineStatus::kTooLong) got.emplace_back("<long>");
    }
  }
  return got;
}

std::vector<std::string> Read16(std::string_view in, size_t step) {
  return Read<16>(in, step, 16);
}

TEST(LineReader, SplitsCrlfAndBareLfWholeAndByteAtATime) {
  const std::string in = "USER a\r\nPASS b c\nSTAT\r\n\r\n";
  const std::vector<std::string> want = {"USER a", "PASS b c", "STAT", ""};
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, in.size()}) {
    EXPECT_EQ(Read16(in, step), want) << step;
  }
}

TEST(LineReader, LimitCountsTheLineAsIfItEndedInCrlf) {
  const std::string ok(14, 'x');   // + CRLF = 16
  const std::string bad(15, 'x');  // + CRLF = 17
  for (size_t step : {size_t{1}, size_t{7}, size_t{1000}}) {
    EXPECT_EQ(Read16(ok + "\r\nNOOP\r\n", step), (std::vector<std::string>{ok, "NOOP"}));
    EXPECT_EQ(Read16(ok + "\nNOOP\n", step), (std::vector<std::string>{ok, "NOOP"}));
    // A bare LF buys no extra octet.
    EXPECT_EQ(Read16(bad + "\nNOOP\n", step), (std::vector<std::string>{"<long>", "NOOP"}));
    EXPECT_EQ(Read16(bad + "\r\nNOOP\r\n", step),
              (std::vector<std::string>{"<long>", "NOOP"}));
  }
}

TEST(LineReader, OverlongLineResynchronisesAtTheNextLf) {
  for (size_t step : {size_t{1}, size_t{5}, size_t{4096}}) {
    EXPECT_EQ(Read16(std::string(3000, 'y') + "\r\nQUIT\r\n" + std::string(17, 'z') +
                         "\nNOOP\r\n",
                     step),
              (std::vector<std::string>{"<long>", "QUIT", "<long>", "NOOP"}))
        << step;
  }
}

TEST(LineReader, LimitMayChangeBetweenCalls) {
  const std::string b64(100, 'A');
  EXPECT_EQ(Read<128>(b64 + "\r\n", 1, 128), std::vector<std::string>{b64});
  EXPECT_EQ(Read<128>(b64 + "\r\n", 1, 16), std::vector<std::string>{"<long>"});
}

TEST(LineReader, MidLine) {
  LineReader<16> r;
  size_t used = 0;
  std::string_view line;
  EXPECT_FALSE(r.mid_line());
  EXPECT_EQ(r.Next("NO", &used, &line), LineStatus::kNeedMore);
  EXPECT_TRUE(r.mid_line());
  EXPECT_EQ(r.Next("OP\r\n", &used, &line), LineStatus::kLine);
  EXPECT_EQ(line, "NOOP");
  EXPECT_FALSE(r.mid_line());
  EXPECT_EQ(r.Next(std::string(20, 'x'), &used, &line), LineStatus::kTooLong);
  EXPECT_TRUE(r.mid_line());  // discarding up to the next LF
  EXPECT_EQ(r.Next("x\n", &used, &line), LineStatus::kNeedMore);
  EXPECT_EQ(used, 2u);
  EXPECT_FALSE(r.mid_line());
}

}  // namespace
}  // namespace ringmail::common
