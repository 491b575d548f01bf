#include "protocols/pop3/message_encoder.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ringmail::pop3 {
namespace {

std::string Encode(std::string_view m, size_t step, bool top = false,
                   uint64_t lines = 0) {
  MessageEncoder e = top ? MessageEncoder::Top(lines) : MessageEncoder();
  std::string out;
  for (size_t pos = 0; pos < m.size(); pos += step) {
    if (!e.Feed(m.substr(pos, step), &out)) break;
  }
  e.Finish(&out);
  return out;
}

TEST(MessageEncoder, CrlfAndDotStuffing) {
  const std::string m = "Subject: x\n\n.hidden\n..two\nend.\n.\n";
  const std::string want =
      "Subject: x\r\n\r\n..hidden\r\n...two\r\nend.\r\n..\r\n.\r\n";
  for (size_t step = 1; step <= m.size(); ++step) {
    EXPECT_EQ(Encode(m, step), want) << step;
  }
}

TEST(MessageEncoder, KeepsStoredCrlfAndTerminatesLastLine) {
  EXPECT_EQ(Encode("a\r\nb\r\n", 1), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(Encode("a\nno newline", 1), "a\r\nno newline\r\n.\r\n");
  EXPECT_EQ(Encode("", 1), ".\r\n");
  EXPECT_EQ(Encode(".", 1), "..\r\n.\r\n");
}

TEST(MessageEncoder, Top) {
  const std::string m = "A: 1\nB: 2\n\nl1\n.l2\nl3\n";
  for (size_t step : {size_t{1}, size_t{3}, m.size()}) {
    EXPECT_EQ(Encode(m, step, true, 0), "A: 1\r\nB: 2\r\n\r\n.\r\n");
    EXPECT_EQ(Encode(m, step, true, 2), "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n");
    EXPECT_EQ(Encode(m, step, true, 99), Encode(m, step));
  }
  // CRLF-stored blank line ends the header too; no blank line: all header.
  EXPECT_EQ(Encode("A: 1\r\n\r\nbody\r\n", 1, true, 0), "A: 1\r\n\r\n.\r\n");
  EXPECT_EQ(Encode("A: 1\nB: 2", 1, true, 0), "A: 1\r\nB: 2\r\n.\r\n");
}

TEST(MessageEncoder, MatchesReferenceOnRandomInput) {
  std::mt19937 rng(7);
  const char alphabet[] = {'.', '\n', '\r', 'a', ' '};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string m;
    const size_t len = rng() % 64;
    for (size_t i = 0; i < len; ++i) m.push_back(alphabet[rng() % 5]);
    const bool top = rng() % 2;
    const uint64_t lines = rng() % 4;
    const size_t step = 1 + rng() % 9;
    EXPECT_EQ(Encode(m, step, top, lines), EncodeMessageReference(m, top, lines))
        << testing::PrintToString(m) << " top=" << top << " lines=" << lines;
  }
}

}  // namespace
}  // namespace ringmail::pop3
