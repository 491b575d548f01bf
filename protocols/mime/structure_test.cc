// Corpus-driven BODYSTRUCTURE / BODY / ENVELOPE tests plus structural checks.
// Each tests/data/mime/NAME.eml has NAME.expected with lines
//   BODYSTRUCTURE <text> / BODY <text> / ENVELOPE <text>
// where "\r\n" inside literals is written as the four characters \r\n.
// The expected values were derived by hand from RFC 3501 and Dovecot's
// imap-bodystructure.c / imap-envelope.c behaviour.
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "protocols/mime/bodystructure.h"
#include "protocols/mime/envelope.h"
#include "protocols/mime/structure.h"

namespace ringmail::mime {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Unescape(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 4, "\\r\\n") == 0) {
      out += "\r\n";
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

class CorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusTest, MatchesExpected) {
  const std::string base = "tests/data/mime/" + GetParam();
  const std::string msg = ReadFile(base + ".eml");
  ASSERT_FALSE(msg.empty()) << base;
  const std::string expected = ReadFile(base + ".expected");
  ASSERT_FALSE(expected.empty()) << base;
  absl::StatusOr<Structure> s = ParseStructure(msg);
  ASSERT_TRUE(s.ok()) << s.status();
  std::istringstream lines(expected);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    const size_t sp = line.find(' ');
    if (line.empty() || line[0] == '#' || sp == std::string::npos) continue;
    const std::string key = line.substr(0, sp);
    const std::string want = Unescape(line.substr(sp + 1));
    if (key == "BODYSTRUCTURE") {
      EXPECT_EQ(FormatBodyStructure(*s, true), want) << GetParam();
    } else if (key == "BODY") {
      EXPECT_EQ(FormatBodyStructure(*s, false), want) << GetParam();
    } else if (key == "ENVELOPE") {
      ASSERT_GE(s->parts[0].envelope, 0);
      EXPECT_EQ(FormatEnvelope(s->envelopes[s->parts[0].envelope]), want)
          << GetParam();
    } else if (key == "TRUNCATED") {
      EXPECT_EQ(s->truncated, want == "1") << GetParam();
    } else {
      ADD_FAILURE() << "unknown key " << key;
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
  // Every corpus message survives the cache round trip.
  absl::StatusOr<Structure> back = Deserialize(Serialize(*s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *s);
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, CorpusTest,
    ::testing::Values("alternative", "mixed_attachments", "forwarded",
                      "missing_boundary", "missing_close", "bad_headers",
                      "no_separator", "encoded_8bit", "groups",
                      "deep_nesting", "digest", "crlf"));

TEST(StructureTest, RangesAndSizes) {
  const std::string msg =
      "Subject: a\n"
      "Content-Type: multipart/mixed; boundary=x\n"
      "\n"
      "pre\n"
      "--x\n"
      "\n"
      "one\n"
      "--x  \n"
      "Content-Type: text/html\n"
      "\n"
      "<b>two</b>\n"
      "\n"
      "--x--\n"
      "epi\n";
  absl::StatusOr<Structure> s = ParseStructure(msg);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->parts.size(), 3u);
  const Part& root = s->parts[0];
  EXPECT_EQ(root.header.offset, 0u);
  EXPECT_EQ(root.header.size, 11u + 42u + 1u);
  EXPECT_EQ(root.header.crlf_size, root.header.size + 3);
  EXPECT_EQ(root.body.offset, 54u);
  EXPECT_EQ(root.body.size, msg.size() - 54);
  EXPECT_EQ(root.child_count, 2u);
  const Part& one = s->parts[1];
  // Header of part 1 is just the empty line; body "one" (newline belongs to
  // the delimiter).
  EXPECT_EQ(one.header.size, 1u);
  EXPECT_EQ(msg.substr(one.body.offset, one.body.size), "one");
  EXPECT_EQ(one.body.lines, 0u);
  EXPECT_EQ(one.body.crlf_size, 3u);
  const Part& two = s->parts[2];
  EXPECT_EQ(two.subtype, "html");
  EXPECT_EQ(msg.substr(two.body.offset, two.body.size), "<b>two</b>\n");
  EXPECT_EQ(two.body.crlf_size, 12u);
  EXPECT_EQ(two.body.lines, 1u);
  EXPECT_EQ(one.next_sibling, 2);
  EXPECT_EQ(two.parent, 0);
}

TEST(StructureTest, CrlfInputCountsNoExtraOctets) {
  const std::string msg = "A: b\r\n\r\nx\r\ny\r\n";
  absl::StatusOr<Structure> s = ParseStructure(msg);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->parts[0].header.size, 8u);
  EXPECT_EQ(s->parts[0].header.crlf_size, 8u);
  EXPECT_EQ(s->parts[0].body.size, 6u);
  EXPECT_EQ(s->parts[0].body.crlf_size, 6u);
  EXPECT_EQ(s->parts[0].body.lines, 2u);
}

TEST(StructureTest, EmptyMessage) {
  absl::StatusOr<Structure> s = ParseStructure("");
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->parts.size(), 1u);
  EXPECT_EQ(FormatBodyStructure(*s),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "
            "0 NIL NIL NIL NIL)");
}

TEST(StructureTest, MaxPartsDegrades) {
  std::string msg = "Content-Type: multipart/mixed; boundary=z\n\n";
  for (int i = 0; i < 20; ++i) msg += "--z\n\npart\n";
  msg += "--z--\n";
  Limits limits;
  limits.max_parts = 5;
  absl::StatusOr<Structure> s = ParseStructure(msg, limits);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->parts.size(), 5u);
  EXPECT_EQ(s->parts[0].child_count, 4u);
  EXPECT_TRUE(s->truncated);
  // The multipart's body still covers everything after its header.
  EXPECT_EQ(s->parts[0].body.offset + s->parts[0].body.size, msg.size());
}

TEST(StructureTest, MessageSizeLimitIsAnError) {
  Limits limits;
  limits.max_message_size = 3;
  EXPECT_FALSE(ParseStructure("abcd", limits).ok());
}

TEST(StructureTest, OuterBoundaryClosesInner) {
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=outer\n\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=inner\n\n"
      "--inner\n\na\n"
      "--outer\n\nb\n"
      "--outer--\n";
  absl::StatusOr<Structure> s = ParseStructure(msg);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->parts[0].child_count, 2u);
  const Part& inner = s->parts[1];
  EXPECT_TRUE(inner.is_multipart());
  EXPECT_EQ(inner.child_count, 1u);
  const Part& a = s->parts[2];
  EXPECT_EQ(msg.substr(a.body.offset, a.body.size), "a");
  const Part& b = s->parts[3];
  EXPECT_EQ(b.parent, 0);
  EXPECT_EQ(msg.substr(b.body.offset, b.body.size), "b");
}

TEST(StructureTest, Rfc2231Continuations) {
  const std::string msg =
      "Content-Type: application/x; name*0=\"long\"; name*1=\"name.txt\";\n"
      " title*=utf-8''%E2%82%AC\n\nx";
  absl::StatusOr<Structure> s = ParseStructure(msg);
  ASSERT_TRUE(s.ok());
  const Part& p = s->parts[0];
  ASSERT_EQ(p.params.size(), 2u);
  EXPECT_EQ(p.params[0].name, "title*");
  EXPECT_EQ(p.params[0].value, "utf-8''%E2%82%AC");
  EXPECT_EQ(p.params[1].name, "name");
  EXPECT_EQ(p.params[1].value, "longname.txt");
}

TEST(SerializeTest, RejectsCorruption) {
  absl::StatusOr<Structure> s = ParseStructure(
      ReadFile("tests/data/mime/mixed_attachments.eml"));
  ASSERT_TRUE(s.ok());
  const std::string good = Serialize(*s);
  EXPECT_TRUE(Deserialize(good).ok());
  EXPECT_FALSE(Deserialize("").ok());
  EXPECT_FALSE(Deserialize(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(Deserialize(good + "x").ok());
  // Flipping any single octet never crashes (and mostly fails validation).
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x41);
    (void)Deserialize(bad);
  }
}

}  // namespace
}  // namespace ringmail::mime
