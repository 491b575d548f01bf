#include "gtest/gtest.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/search.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;

TEST(Fetch, ItemsAndSections) {
  auto p = Parse("a UID FETCH 1:* (FLAGS UID RFC822.SIZE "
                 "BODY.PEEK[HEADER.FIELDS (From to)] BODY[1.2.MIME]<10.20> "
                 "BODY[] BODY[2.HEADER.FIELDS.NOT (X)]) (CHANGEDSINCE 5)");
  FetchRequest r;
  ArgError err;
  ASSERT_TRUE(ParseFetch(p->args().From(1), &r, &err)) << err.text;
  ASSERT_EQ(r.items.size(), 7u);
  EXPECT_EQ(r.items[3].att, FetchAtt::kBodySection);
  EXPECT_TRUE(r.items[3].peek);
  EXPECT_EQ(r.items[3].section.fields, (std::vector<std::string>{"FROM", "TO"}));
  EXPECT_EQ(FetchItemResponseName(r.items[3]), "BODY[HEADER.FIELDS (FROM TO)]");
  EXPECT_EQ(FetchItemResponseName(r.items[4]), "BODY[1.2.MIME]<10>");
  EXPECT_EQ(*r.items[4].partial_length, 20u);
  EXPECT_EQ(FetchItemResponseName(r.items[5]), "BODY[]");
  EXPECT_EQ(FetchItemResponseName(r.items[6]), "BODY[2.HEADER.FIELDS.NOT (X)]");
  EXPECT_TRUE(r.sets_seen);
  EXPECT_EQ(*r.changedsince, 5u);
}

TEST(Fetch, MacrosAndErrors) {
  auto p = Parse("a FETCH 1 FULL");
  FetchRequest r;
  ArgError err;
  ASSERT_TRUE(ParseFetch(p->args().From(1), &r, &err));
  EXPECT_EQ(r.items.size(), 5u);
  EXPECT_FALSE(r.sets_seen);
  for (const char* bad : {"a FETCH 1 BOGUS", "a FETCH 1 BODY[MIME]",
                          "a FETCH 1 BODY[1.]", "a FETCH 1 BODY[]<1>",
                          "a FETCH 1 (BODY[HEADER.FIELDS ()])", "a FETCH 1 ()"}) {
    auto q = Parse(bad);
    FetchRequest r2;
    EXPECT_FALSE(ParseFetch(q->args().From(1), &r2, &err)) << bad;
  }
}

TEST(Search, ProgramTree) {
  auto p = Parse("a UID SEARCH CHARSET utf-8 OR (FROM alice SINCE 1-Jan-2020) "
                 "NOT LARGER 1000 UID 1:5,9 2:* HEADER X-Foo \"bar baz\" unseen");
  SearchProgram prog;
  ArgError err;
  ASSERT_EQ(ParseSearch(p->args(), &prog, &err), SearchStatus::kOk) << err.text;
  const auto& kids = prog.root.children;
  ASSERT_EQ(kids.size(), 5u);
  EXPECT_EQ(kids[0].key, SearchKey::kOr);
  EXPECT_EQ(kids[0].children[0].key, SearchKey::kAnd);
  EXPECT_EQ(kids[0].children[0].children[0].str, "alice");
  EXPECT_EQ(kids[0].children[0].children[1].days, 18262);
  EXPECT_EQ(kids[0].children[1].key, SearchKey::kNot);
  EXPECT_EQ(kids[0].children[1].children[0].number, 1000u);
  EXPECT_EQ(kids[1].key, SearchKey::kUid);
  EXPECT_EQ(kids[2].key, SearchKey::kSequenceSet);
  EXPECT_EQ(kids[3].field, "X-Foo");
  EXPECT_EQ(kids[3].str, "bar baz");
  EXPECT_EQ(kids[4].key, SearchKey::kUnseen);
}

TEST(Search, ErrorsAndLimits) {
  SearchProgram prog;
  ArgError err;
  auto p = Parse("a SEARCH CHARSET KOI8-R ALL");
  EXPECT_EQ(ParseSearch(p->args(), &prog, &err), SearchStatus::kBadCharset);
  EXPECT_EQ(err.text, kBadCharsetReply);
  for (const char* bad : {"a SEARCH", "a SEARCH BOGUS", "a SEARCH OR ALL",
                          "a SEARCH BEFORE 32-Jan-2020", "a SEARCH LARGER x",
                          "a SEARCH KEYWORD \\Seen", "a SEARCH ()"}) {
    auto q = Parse(bad);
    EXPECT_EQ(ParseSearch(q->args(), &prog, &err), SearchStatus::kBad) << bad;
  }
  std::string deep = "a SEARCH";
  for (int i = 0; i < 40; ++i) deep += " NOT";
  deep += " ALL";
  auto q = Parse(deep);
  EXPECT_EQ(ParseSearch(q->args(), &prog, &err), SearchStatus::kBad);
  auto m = Parse("a SEARCH MODSEQ \"/flags/\\\\Seen\" all 7 $");
  ASSERT_EQ(ParseSearch(m->args(), &prog, &err), SearchStatus::kOk) << err.text;
  EXPECT_EQ(prog.root.children[0].number, 7u);
  EXPECT_TRUE(prog.root.children[1].saved);
}

}  // namespace
}  // namespace ringmail::imap
