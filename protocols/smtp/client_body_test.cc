#include "protocols/smtp/client_body.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/data_scanner.h"

namespace ringmail::smtp {
namespace {

std::string EncodeChunks(const std::vector<std::string_view>& chunks) {
  BodyEncoder e;
  std::string out;
  for (std::string_view c : chunks) e.Chunk(c, &out);
  e.End(&out);
  return out;
}

std::string Encode(std::string_view body) { return EncodeChunks({body}); }

// Octet-at-a-time model of the documented rules.
std::string Reference(std::string_view in) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (line_start && c == '.') out += '.';
    line_start = false;
    if (c == '\n') {
      out += "\r\n";
      line_start = true;
    } else if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
      line_start = true;
    } else {
      out += c;
    }
  }
  out += line_start ? ".\r\n" : "\r\n.\r\n";
  return out;
}

TEST(BodyEncoder, Basics) {
  EXPECT_EQ(Encode(""), ".\r\n");
  EXPECT_EQ(Encode("a\nb\n"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(Encode("no newline"), "no newline\r\n.\r\n");
  EXPECT_EQ(Encode("\n\n"), "\r\n\r\n.\r\n");
  EXPECT_EQ(Encode(".\n"), "..\r\n.\r\n");
  EXPECT_EQ(Encode("."), "..\r\n.\r\n");
  EXPECT_EQ(Encode("a\n.hidden\n..two\nx.y\n"),
            "a\r\n..hidden\r\n...two\r\nx.y\r\n.\r\n");
}

TEST(BodyEncoder, CarriageReturns) {
  // A stored CRLF is not doubled.
  EXPECT_EQ(Encode("a\r\nb\r\n"), "a\r\nb\r\n.\r\n");
  // A bare CR becomes a line ending (RFC 5321 §2.3.8), so "\r." cannot
  // pass as "<CR>.<CR><LF>" to a server that ends lines at CR.
  EXPECT_EQ(Encode("a\rb"), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(Encode("a\r.\r\n"), "a\r\n..\r\n.\r\n");
  EXPECT_EQ(Encode("a\r"), "a\r\n.\r\n");
  EXPECT_EQ(Encode("\r\r\n"), "\r\n\r\n.\r\n");
  // Split between CR and LF.
  EXPECT_EQ(EncodeChunks({"a\r", "\nb\n"}), "a\r\nb\r\n.\r\n");
  EXPECT_EQ(EncodeChunks({"a\r", ".b\n"}), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(EncodeChunks({"a\r", "", "\n", ".\n"}), "a\r\n..\r\n.\r\n");
}

TEST(BodyEncoder, DotAcrossChunks) {
  EXPECT_EQ(EncodeChunks({"a\n", ".b\n"}), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(EncodeChunks({"a", "\n", ".", "\n"}), "a\r\n..\r\n.\r\n");
  EXPECT_EQ(EncodeChunks({"a.", "b"}), "a.b\r\n.\r\n");
}

TEST(BodyEncoder, ReusableAfterEnd) {
  BodyEncoder e;
  std::string out;
  e.Chunk("x\r", &out);
  e.End(&out);
  EXPECT_EQ(out, "x\r\n.\r\n");
  out.clear();
  e.Chunk(".y", &out);
  e.End(&out);
  EXPECT_EQ(out, "..y\r\n.\r\n");
}

TEST(BodyEncoder, RandomChunkingMatchesReference) {
  std::mt19937 rng(20240607);
  const char alphabet[] = {'.', '\r', '\n', 'a', 'b', '\xe9', '\0'};
  for (int round = 0; round < 3000; ++round) {
    std::string body(rng() % 64, 'a');
    for (char& c : body) c = alphabet[rng() % sizeof alphabet];
    const std::string expected = Reference(body);
    EXPECT_EQ(Encode(body), expected);
    std::vector<std::string_view> chunks;
    for (size_t at = 0; at < body.size();) {
      const size_t len = std::min<size_t>(rng() % 6, body.size() - at);
      chunks.push_back(std::string_view(body).substr(at, len));
      at += len;
    }
    ASSERT_EQ(EncodeChunks(chunks), expected) << "round " << round;
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < body.size(); ++i) {
      bytes.push_back(std::string_view(body).substr(i, 1));
    }
    ASSERT_EQ(EncodeChunks(bytes), expected) << "round " << round;
  }
}

// What our own server's DATA scanner makes of the wire form is the stored
// body again (plus a final LF when it had none), ending exactly at the
// terminator: the two sides agree on stuffing and line endings.
TEST(BodyEncoder, RoundTripsThroughServerScanner) {
  std::mt19937 rng(7);
  const char alphabet[] = {'.', '\n', 'a', ' ', '\xff'};
  for (int round = 0; round < 2000; ++round) {
    std::string body(rng() % 80, 'a');
    for (char& c : body) c = alphabet[rng() % sizeof alphabet];
    const std::string wire = Encode(body);
    DataScanner scanner(DataScanner::Mode::kDotStuffed);
    std::string stored(wire.size() + 64, '\0');
    const ScanResult r = scanner.Scan(wire, stored.data(), stored.size());
    ASSERT_TRUE(r.end) << round;
    EXPECT_EQ(r.consumed, wire.size());
    stored.resize(r.produced);
    std::string expected = body;
    if (!expected.empty() && expected.back() != '\n') expected += '\n';
    ASSERT_EQ(stored, expected) << "round " << round;
    EXPECT_EQ(scanner.flags() & (kScanBareLf | kScanBareCr), 0u);
  }
}

}  // namespace
}  // namespace ringmail::smtp
