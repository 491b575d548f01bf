#include "protocols/mime/section.h"

#include <string>

#include "gtest/gtest.h"
#include "protocols/mime/structure.h"

namespace ringmail::mime {
namespace {

// 1: text/plain, 2: message/rfc822 (embedded multipart with 2 parts),
// 3: multipart/alternative (3.1, 3.2).
const char kMessage[] =
    "From: a@example.com\n"
    "Subject: sections\n"
    "Content-Type: multipart/mixed; boundary=\"m\"\n"
    "\n"
    "--m\n"
    "\n"
    "part one\n"
    "--m\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "X-Folded: a\n"
    " b\n"
    "Content-Type: multipart/mixed; boundary=\"i\"\n"
    "\n"
    "--i\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner one\n"
    "--i\n"
    "\n"
    "inner two\n"
    "--i--\n"
    "--m\n"
    "Content-Type: multipart/alternative; boundary=\"a\"\n"
    "\n"
    "--a\n"
    "\n"
    "alt one\n"
    "--a\n"
    "\n"
    "alt two\n"
    "--a--\n"
    "--m--\n";

class SectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ParseStructure(msg_);
    ASSERT_TRUE(s.ok());
    s_ = *std::move(s);
  }
  // Rendered content, checking the CRLF size matches what is sent.
  std::string Get(std::string_view section, bool* found = nullptr) {
    auto spec = ParseSectionSpec(section);
    EXPECT_TRUE(spec.ok()) << section << ": " << spec.status();
    if (!spec.ok()) return "<bad>";
    auto r = ResolveSection(s_, msg_, *spec);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "<error>";
    if (found != nullptr) *found = r->found;
    const std::string out = RenderSection(msg_, *r);
    EXPECT_EQ(out.size(), r->crlf_size) << section;
    return out;
  }
  std::string msg_ = kMessage;
  Structure s_;
};

TEST_F(SectionTest, Table) {
  struct Case { const char* section; const char* want; };
  const Case cases[] = {
      {"1", "part one"},
      {"1.MIME", "\r\n"},
      {"2.MIME", "Content-Type: message/rfc822\r\n\r\n"},
      {"2.HEADER",
       "Subject: inner\r\nX-Folded: a\r\n b\r\nContent-Type: multipart/mixed; "
       "boundary=\"i\"\r\n\r\n"},
      {"2.TEXT",
       "--i\r\nContent-Type: text/plain\r\n\r\ninner one\r\n--i\r\n\r\ninner "
       "two\r\n--i--"},
      {"2.1", "inner one"},
      {"2.1.MIME", "Content-Type: text/plain\r\n\r\n"},
      {"2.2", "inner two"},
      {"2.HEADER.FIELDS (x-folded SUBJECT)",
       "Subject: inner\r\nX-Folded: a\r\n b\r\n\r\n"},
      {"2.HEADER.FIELDS.NOT (Subject Content-Type)", "X-Folded: a\r\n b\r\n\r\n"},
      {"3.1", "alt one"},
      {"3.2", "alt two"},
      {"HEADER.FIELDS (\"Subject\")", "Subject: sections\r\n\r\n"},
      {"HEADER.FIELDS (Nope)", "\r\n"},
      {"header", "From: a@example.com\r\nSubject: sections\r\nContent-Type: "
                 "multipart/mixed; boundary=\"m\"\r\n\r\n"},
  };
  for (const Case& c : cases) {
    bool found = false;
    EXPECT_EQ(Get(c.section, &found), c.want) << c.section;
    EXPECT_TRUE(found) << c.section;
  }
}

TEST_F(SectionTest, WholeAndText) {
  std::string crlf;
  for (char c : msg_) {
    if (c == '\n') crlf.push_back('\r');
    crlf.push_back(c);
  }
  EXPECT_EQ(Get(""), crlf);
  const std::string text = Get("TEXT");
  EXPECT_EQ(text.substr(0, 5), "--m\r\n");
  EXPECT_EQ(Get("HEADER").size() + text.size(), crlf.size());
}

TEST_F(SectionTest, MissingPartsAreEmpty) {
  for (const char* section : {"4", "1.2", "3.3", "1.HEADER", "3.TEXT",
                              "2.3", "2.1.2"}) {
    bool found = true;
    EXPECT_EQ(Get(section, &found), "") << section;
    EXPECT_FALSE(found) << section;
  }
}

// Dovecot: inside a non-multipart part only "1" exists and means the part
// itself, so "1.1" is part 1 again.
TEST_F(SectionTest, OneInsideLeafIsTheLeaf) {
  EXPECT_EQ(Get("1.1"), "part one");
  EXPECT_EQ(Get("2.1.1"), "inner one");
}

TEST(SectionSpecTest, Syntax) {
  for (const char* bad : {"MIME", "0", "1.", "1..2", "1.0", "FOO", "HEADERX",
                          "HEADER.FIELDS", "HEADER.FIELDS ()",
                          "HEADER.FIELDS (a", "1.TEXT.MIME", "01x"}) {
    EXPECT_FALSE(ParseSectionSpec(bad).ok()) << bad;
  }
  auto spec = ParseSectionSpec("1.22.3.header.fields.not (A b)");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->path, (std::vector<uint32_t>{1, 22, 3}));
  EXPECT_EQ(spec->kind, SectionSpec::Kind::kHeaderFieldsNot);
  EXPECT_EQ(spec->fields, (std::vector<std::string>{"A", "b"}));
}

TEST(SectionSingleTest, NonMultipartPartOneIsBody) {
  const std::string msg = "Subject: x\n\nhello\nworld\n";
  auto s = ParseStructure(msg);
  ASSERT_TRUE(s.ok());
  auto spec = ParseSectionSpec("1");
  ASSERT_TRUE(spec.ok());
  auto r = ResolveSection(*s, msg, *spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->found);
  EXPECT_EQ(RenderSection(msg, *r), "hello\r\nworld\r\n");
  EXPECT_EQ(r->crlf_size, 14u);
  // A header with no final newline still yields well-formed HEADER.FIELDS.
  const std::string hdr_only = "A: 1\nB: 2";
  auto s2 = ParseStructure(hdr_only);
  auto spec2 = ParseSectionSpec("HEADER.FIELDS (B)");
  auto r2 = ResolveSection(*s2, hdr_only, *spec2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(RenderSection(hdr_only, *r2), "B: 2\r\n\r\n");
  EXPECT_EQ(r2->crlf_size, 8u);
  // A structure that does not fit the message is refused.
  EXPECT_FALSE(ResolveSection(*s, "short", *spec).ok());
}

}  // namespace
}  // namespace ringmail::mime
