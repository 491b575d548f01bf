#include "protocols/imap/esearch.h"

#include "gtest/gtest.h"
#include "protocols/imap/search.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;

TEST(Esearch, NoReturnIsPlainSearch) {
  auto p = Parse("a SEARCH ALL");
  SearchReturn ret;
  ArgList rest;
  ArgError err;
  ASSERT_TRUE(ParseSearchReturn(p->args(), &ret, &rest, &err));
  EXPECT_FALSE(ret.extended);
  EXPECT_EQ(rest.size(), 1u);
}

TEST(Esearch, ReturnOptions) {
  auto p = Parse("a UID SEARCH RETURN (min MAX Count all MIN) CHARSET UTF-8 FROM x");
  SearchReturn ret;
  ArgList rest;
  ArgError err;
  ASSERT_TRUE(ParseSearchReturn(p->args(), &ret, &rest, &err)) << err.text;
  EXPECT_TRUE(ret.extended);
  EXPECT_EQ(ret.options, kReturnMin | kReturnMax | kReturnCount | kReturnAll);
  SearchProgram prog;
  EXPECT_EQ(ParseSearch(rest, &prog, &err), SearchStatus::kOk) << err.text;

  auto q = Parse("a SEARCH RETURN () UNSEEN");
  ASSERT_TRUE(ParseSearchReturn(q->args(), &ret, &rest, &err));
  EXPECT_EQ(ret.options, kReturnAll);  // RFC 4731 §3.1
  EXPECT_EQ(rest.size(), 1u);
}

TEST(Esearch, BadReturn) {
  for (const char* bad : {"a SEARCH RETURN (SAVE) ALL", "a SEARCH RETURN (MIN BOGUS) ALL",
                          "a SEARCH RETURN MIN ALL", "a SEARCH RETURN",
                          "a SEARCH RETURN ((MIN)) ALL", "a SEARCH RETURN (\"MIN\") ALL"}) {
    auto p = Parse(bad);
    SearchReturn ret;
    ArgList rest;
    ArgError err;
    EXPECT_FALSE(ParseSearchReturn(p->args(), &ret, &rest, &err)) << bad;
  }
}

TEST(Esearch, Response) {
  SearchReturn ret{true, kReturnMin | kReturnMax | kReturnCount | kReturnAll};
  std::string out;
  AppendEsearch(&out, "a1", true, ret, {2, 3, 4, 9});
  EXPECT_EQ(out, "* ESEARCH (TAG \"a1\") UID MIN 2 MAX 9 COUNT 4 ALL 2:4,9\r\n");
  out.clear();
  AppendEsearch(&out, "a2", false, ret, {});
  EXPECT_EQ(out, "* ESEARCH (TAG \"a2\") COUNT 0\r\n");
  out.clear();
  AppendEsearch(&out, "a3", false, SearchReturn{true, kReturnMin}, {});
  EXPECT_EQ(out, "* ESEARCH (TAG \"a3\")\r\n");
  out.clear();
  AppendEsearch(&out, "a4", false, SearchReturn{true, kReturnAll}, {1, 2, 3, 5, 7, 8}, 77);
  EXPECT_EQ(out, "* ESEARCH (TAG \"a4\") ALL 1:3,5,7:8 MODSEQ 77\r\n");
}

}  // namespace
}  // namespace ringmail::imap
