#include "protocols/pop3/command_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringmail::pop3 {
namespace {

// Feeds `in` in pieces of `step`; returns lines, "<long>" for kTooLong.
std::vector<std::string> Read(std::string_view in, size_t step,
                              size_t limit = kMaxCommandLine) {
  LineReader r;
  std::vector<std::string> got;
  for (size_t pos = 0; pos < in.size(); pos += step) {
    std::string_view chunk = in.substr(pos, step);
    while (!chunk.empty()) {
      size_t used = 0;
      std::string_view line;
      LineReader::Status st = r.Next(chunk, limit, &used, &line);
      EXPECT_LE(used, chunk.size());
      chunk.remove_prefix(used);
      if (st == LineReader::Status::kLine) got.emplace_back(line);
      if (st == LineReader::Status::kTooLong) got.emplace_back("<long>");
    }
  }
  return got;
}

TEST(LineReader, SplitsLinesWholeAndByteAtATime) {
  const std::string in = "USER a\r\nPASS b c\nSTAT\r\n\r\n";
  const std::vector<std::string> want = {"USER a", "PASS b c", "STAT", ""};
  for (size_t step : {size_t{1}, size_t{2}, size_t{3}, in.size()}) {
    EXPECT_EQ(Read(in, step), want) << step;
  }
}

TEST(LineReader, LimitIs255OctetsIncludingCrlf) {
  const std::string ok = std::string(253, 'x');  // + CRLF = 255
  const std::string bad = std::string(254, 'x');
  for (size_t step : {size_t{1}, size_t{7}, size_t{1000}}) {
    EXPECT_EQ(Read(ok + "\r\nNOOP\r\n", step),
              (std::vector<std::string>{ok, "NOOP"}));
    // A bare LF counts as CRLF, so the limit does not depend on line ends.
    EXPECT_EQ(Read(ok + "\nNOOP\n", step), (std::vector<std::string>{ok, "NOOP"}));
    // Too long: one error, then the reader resynchronises at the next LF.
    EXPECT_EQ(Read(bad + "\r\nNOOP\r\n", step),
              (std::vector<std::string>{"<long>", "NOOP"}));
    EXPECT_EQ(Read(std::string(5000, 'y') + "\r\nQUIT\r\n", step),
              (std::vector<std::string>{"<long>", "QUIT"}));
  }
}

TEST(LineReader, AuthLimitAllowsLongerResponses) {
  const std::string b64(1000, 'A');
  EXPECT_EQ(Read(b64 + "\r\n", 1, kMaxAuthLine), std::vector<std::string>{b64});
  EXPECT_EQ(Read(b64 + "\r\n", 1, kMaxCommandLine),
            std::vector<std::string>{"<long>"});
}

}  // namespace
}  // namespace ringmail::pop3
