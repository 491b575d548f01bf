#include "protocols/smtp/data_scanner.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/data_scanner_reference.h"

namespace ringmail::smtp {
namespace {

using Mode = DataScanner::Mode;

struct Scanned {
  std::string output;
  bool end = false;
  size_t end_offset = 0;
  uint32_t flags = 0;
  uint64_t newlines = 0;
};

// Feeds `in` to a fresh scanner split at `cuts` (sorted chunk lengths chosen
// by `next_chunk`) with output space limited by `next_cap`, exactly like a
// session driving a storage buffer would.
template <typename ChunkFn, typename CapFn>
Scanned RunScanner(std::string_view in, Mode mode, size_t max_line,
                   bool final_chunk, ChunkFn next_chunk, CapFn next_cap) {
  DataScanner s(mode, max_line);
  Scanned r;
  size_t pos = 0;
  std::vector<char> buf;
  int stalls = 0;
  while (pos < in.size() && !s.done()) {
    size_t len = std::min(next_chunk(), in.size() - pos);
    std::string_view chunk = in.substr(pos, len);
    while (!chunk.empty() && !s.done()) {
      size_t cap = next_cap();
      buf.assign(cap + 1, '\x7f');
      ScanResult sr = s.Scan(chunk, buf.data(), cap);
      EXPECT_EQ(buf[cap], '\x7f') << "wrote past capacity";
      EXPECT_LE(sr.produced, cap);
      EXPECT_LE(sr.consumed, chunk.size());
      r.output.append(buf.data(), sr.produced);
      pos += sr.consumed;
      chunk.remove_prefix(sr.consumed);
      if (sr.end) {
        r.end = true;
        r.end_offset = pos;
      }
      if (sr.consumed == 0 && sr.produced == 0 && !sr.end) {
        // Only legal when there was no output space at all.
        EXPECT_EQ(cap, 0u);
        if (++stalls > 10000) {
          ADD_FAILURE() << "no progress";
          return r;
        }
      }
    }
  }
  if (final_chunk) {
    char c;
    size_t cap = 0;
    while (s.pending_cr() && mode == Mode::kRaw) {
      cap = next_cap();
      size_t n = s.Finish(&c, std::min<size_t>(cap, 1));
      r.output.append(&c, n);
      if (n == 0) {
        EXPECT_EQ(cap, 0u);
      }
    }
  }
  r.flags = s.flags();
  r.newlines = s.newlines();
  return r;
}

Scanned Whole(std::string_view in, Mode mode = Mode::kDotStuffed,
              size_t max_line = 1000) {
  return RunScanner(
      in, mode, max_line, mode == Mode::kRaw, [&] { return in.size(); },
      [&] { return in.size() + 64; });
}

Scanned ByteAtATime(std::string_view in, Mode mode = Mode::kDotStuffed,
                    size_t max_line = 1000) {
  return RunScanner(
      in, mode, max_line, mode == Mode::kRaw, [] { return size_t{1}; },
      [] { return size_t{1}; });
}

void ExpectBoth(std::string_view in, std::string_view want_out, bool want_end,
                uint32_t want_flags = 0) {
  for (const Scanned& s : {Whole(in), ByteAtATime(in)}) {
    EXPECT_EQ(s.output, want_out) << testing::PrintToString(std::string(in));
    EXPECT_EQ(s.end, want_end);
    EXPECT_EQ(s.flags, want_flags);
  }
}

TEST(DataScanner, ImmediateTerminatorIsEmptyMessage) {
  ExpectBoth(".\r\n", "", true);
}

TEST(DataScanner, SimpleMessageAndPipelinedRemainder) {
  std::string in = "Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n";
  for (const Scanned& s : {Whole(in), ByteAtATime(in)}) {
    EXPECT_EQ(s.output, "Subject: x\n\nhello\n");
    EXPECT_TRUE(s.end);
    EXPECT_EQ(in.substr(s.end_offset), "QUIT\r\n");
    EXPECT_EQ(s.newlines, 3u);
  }
}

TEST(DataScanner, DotUnstuffing) {
  ExpectBoth("..\r\n...x\r\n.y\r\n.\r\n", ".\n..x\ny\n", true);
}

TEST(DataScanner, SmugglingSequencesDoNotTerminate) {
  ExpectBoth("a\n.\nb\r\n", "a\n.\nb\n", false, kScanBareLf);
  ExpectBoth("a\n.\r\nb\r\n", "a\n.\nb\n", false, kScanBareLf);
  ExpectBoth("a\r\n.\nb\r\n", "a\n\nb\n", false, kScanBareLf);
  ExpectBoth("a\r.\r\nb\r\n", "a\r.\nb\n", false, kScanBareCr);
  ExpectBoth("a\r\n.\rb\r\n", "a\n\rb\n", false, kScanBareCr);
}

TEST(DataScanner, NulFlagged) {
  ExpectBoth(std::string("a\0b\r\n.\r\n", 8), std::string("a\0b\n", 4), true,
             kScanNul);
}

TEST(DataScanner, LongLineFlagged) {
  std::string line998(998, 'x');
  ExpectBoth(line998 + "\r\n.\r\n", line998 + "\n", true, 0);
  std::string line999(999, 'x');
  ExpectBoth(line999 + "\r\n.\r\n", line999 + "\n", true, kScanLongLine);
  // The stuffing dot is on the wire, so it counts.
  ExpectBoth("." + line998 + "\r\n.\r\n", line998 + "\n", true, kScanLongLine);
}

TEST(DataScanner, RawModeConvertsCrlfAndCarriesCr) {
  DataScanner s(Mode::kRaw);
  char out[64];
  ScanResult r = s.Scan("ab\r", out, sizeof out);
  EXPECT_EQ(std::string(out, r.produced), "ab");
  EXPECT_TRUE(s.pending_cr());
  r = s.Scan("\n.\r\n", out, sizeof out);
  EXPECT_EQ(std::string(out, r.produced), "\n.\n");
  EXPECT_FALSE(r.end);
  r = s.Scan("x\r", out, sizeof out);
  EXPECT_EQ(s.Finish(out + r.produced, 1), 1u);
  EXPECT_EQ(std::string(out, r.produced + 1), "x\r");
  EXPECT_EQ(s.flags(), kScanBareCr);
}

TEST(DataScanner, StopsWhenOutputFull) {
  DataScanner s;
  char out[4];
  std::string_view in = "abcdefgh\r\n.\r\n";
  ScanResult r = s.Scan(in, out, sizeof out);
  EXPECT_EQ(r.produced, 4u);
  EXPECT_EQ(r.consumed, 4u);
  EXPECT_FALSE(r.end);
  r = s.Scan(in.substr(4), out, sizeof out);
  EXPECT_EQ(std::string(out, r.produced), "efgh");
  // The CR is consumed into the state without output.
  EXPECT_EQ(r.consumed, 5u);
  r = s.Scan(in.substr(9), out, sizeof out);
  EXPECT_TRUE(r.end);
  EXPECT_EQ(std::string(out, r.produced), "\n");
  EXPECT_EQ(r.consumed, 4u);
}

// Inputs biased towards the octets the scanner cares about.
std::string RandomBody(std::mt19937_64& rng) {
  static const char* const kPieces[] = {
      "\r\n", "\r", "\n", ".", "\r\n.", "\r\n.\r\n", "\r\n..", "" /* NUL, see below */,
      "x", "hello world", "\n.\n", "\n.\r\n", "\r\n.\n", "=", "abcdefghijklmnopqrstuvwxyz0123456789"};
  std::string s;
  const int pieces = std::uniform_int_distribution<int>(0, 120)(rng);
  for (int i = 0; i < pieces; ++i) {
    const int which = std::uniform_int_distribution<int>(0, 16)(rng);
    if (which == 7) {
      s.push_back('\0');
    } else if (which == 15) {
      s.append(std::uniform_int_distribution<int>(0, 1200)(rng), 'L');
    } else if (which == 16) {
      s.append(std::uniform_int_distribution<int>(30, 80)(rng), 'q');
      s.append("\r\n");
    } else {
      s.append(kPieces[which]);
    }
  }
  return s;
}

class DataScannerRandom : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override { DataScanner::UseBaselineKernelForTesting(GetParam()); }
  void TearDown() override { DataScanner::UseBaselineKernelForTesting(false); }
};

INSTANTIATE_TEST_SUITE_P(Kernels, DataScannerRandom, testing::Bool());

TEST_P(DataScannerRandom, AgainstReference) {
  std::mt19937_64 rng(0x5eed);
  for (int iter = 0; iter < 4000; ++iter) {
    const std::string in = RandomBody(rng);
    const Mode mode = (iter & 1) ? Mode::kRaw : Mode::kDotStuffed;
    const size_t max_line = std::uniform_int_distribution<size_t>(1, 200)(rng);
    const ReferenceScan ref =
        ReferenceScanBody(in, mode, max_line, mode == Mode::kRaw);
    const size_t limit = (iter % 3 == 0) ? 4000 : 300;
    const size_t max_chunk = std::uniform_int_distribution<size_t>(1, limit)(rng);
    const size_t max_cap = std::uniform_int_distribution<size_t>(0, limit)(rng);
    auto chunk = [&] {
      return std::uniform_int_distribution<size_t>(1, max_chunk)(rng);
    };
    auto cap = [&] {
      return std::uniform_int_distribution<size_t>(max_cap == 0 ? 0 : 1,
                                                   std::max<size_t>(max_cap, 1))(rng);
    };
    const Scanned got = RunScanner(in, mode, max_line, mode == Mode::kRaw,
                                   chunk, cap);
    ASSERT_EQ(got.output, ref.output) << "iter " << iter;
    ASSERT_EQ(got.end, ref.end) << "iter " << iter;
    if (ref.end) {
      ASSERT_EQ(got.end_offset, ref.end_offset) << "iter " << iter;
    }
    ASSERT_EQ(got.flags, ref.flags) << "iter " << iter;
    ASSERT_EQ(got.newlines, ref.newlines) << "iter " << iter;
  }
}

}  // namespace
}  // namespace ringmail::smtp
