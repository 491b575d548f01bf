#include "protocols/imap/sort.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;
using Numbers = std::vector<uint32_t>;

TEST(SortParse, Criteria) {
  auto p = Parse("a UID SORT (REVERSE date subject DisplayFrom) utf-8 UNSEEN FROM x");
  SortCommand c;
  ArgError err;
  ASSERT_EQ(ParseSort(p->args(), &c, &err), SearchStatus::kOk) << err.text;
  ASSERT_EQ(c.criteria.size(), 3u);
  EXPECT_EQ(c.criteria[0].key, SortKey::kDate);
  EXPECT_TRUE(c.criteria[0].reverse);
  EXPECT_EQ(c.criteria[1].key, SortKey::kSubject);
  EXPECT_FALSE(c.criteria[1].reverse);
  EXPECT_EQ(c.criteria[2].key, SortKey::kDisplayFrom);
  EXPECT_EQ(c.search.root.children.size(), 2u);

  auto q = Parse("a SORT (ARRIVAL CC FROM SIZE TO DISPLAYTO) \"US-ASCII\" ALL");
  ASSERT_EQ(ParseSort(q->args(), &c, &err), SearchStatus::kOk) << err.text;
  EXPECT_EQ(c.criteria.size(), 6u);
}

TEST(SortParse, Errors) {
  for (const char* bad :
       {"a SORT () UTF-8 ALL", "a SORT (REVERSE) UTF-8 ALL",
        "a SORT (REVERSE REVERSE DATE) UTF-8 ALL", "a SORT (BOGUS) UTF-8 ALL",
        "a SORT (DATE) UTF-8", "a SORT DATE UTF-8 ALL", "a SORT (DATE)",
        "a SORT (DATE) UTF-8 BOGUS", "a SORT ((DATE)) UTF-8 ALL",
        "a SORT (DATE) (UTF-8) ALL",
        "a SORT (DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE DATE "
        "DATE DATE DATE DATE DATE) UTF-8 ALL"}) {
    auto p = Parse(bad);
    SortCommand c;
    ArgError err;
    EXPECT_EQ(ParseSort(p->args(), &c, &err), SearchStatus::kBad) << bad;
    EXPECT_FALSE(err.text.empty());
  }
  auto p = Parse("a SORT (DATE) ISO-8859-1 ALL");
  SortCommand c;
  ArgError err;
  EXPECT_EQ(ParseSort(p->args(), &c, &err), SearchStatus::kBadCharset);
}

TEST(SortKeys, Addresses) {
  EXPECT_EQ(AddressSortKey("Alice <alice@example.test>"), "ALICE");
  EXPECT_EQ(AddressSortKey("bob@x, carol@y"), "BOB");
  EXPECT_EQ(AddressSortKey("undisclosed-recipients:;"), "");
  EXPECT_EQ(AddressSortKey("team: Zed <zed@x>, a@y;"), "ZED");
  EXPECT_EQ(AddressSortKey(""), "");
  EXPECT_EQ(DisplaySortKey("\"Zed Q\" <a@x>"), "ZED Q");
  EXPECT_EQ(DisplaySortKey("<bob@Example.test>"), "BOB@EXAMPLE.TEST");
  EXPECT_EQ(DisplaySortKey("\"\" <bob@x>"), "BOB@X");
  EXPECT_EQ(DisplaySortKey("=?UTF-8?Q?J=C3=B6rg?= <j@x>"), "J\xc3\xb6RG");
  EXPECT_EQ(DisplaySortKey("a@x (Comment Name)"), "COMMENT NAME");
  EXPECT_EQ(DisplaySortKey("undisclosed-recipients:;"), "");
}

TEST(SortKeys, SentDateFallsBackToInternalDate) {
  EXPECT_EQ(SentDate(std::string("Thu, 01 Jan 1970 00:01:00 +0000"), 5), 60);
  EXPECT_EQ(SentDate(std::string("not a date"), 5), 5);
  EXPECT_EQ(SentDate(std::nullopt, 5), 5);
}

SortRecord Rec(uint32_t seq, const SortHeaders& h, int64_t arrival = 0,
               uint64_t size = 0, const std::vector<SortCriterion>& all = {
                   {SortKey::kDate}, {SortKey::kSubject}, {SortKey::kFrom},
                   {SortKey::kTo}, {SortKey::kCc}, {SortKey::kDisplayFrom},
                   {SortKey::kDisplayTo}}) {
  SortRecord r;
  r.seq = seq;
  r.number = seq * 10;  // as if UIDs
  r.arrival = arrival;
  r.size = size;
  FillSortRecord(all, h, &r);
  return r;
}

SortHeaders H(const char* subject, const char* from, const char* date = nullptr) {
  SortHeaders h;
  if (subject) h.subject = subject;
  if (from) h.from = from;
  if (date) h.date = date;
  return h;
}

TEST(SortMessages, SingleCriteria) {
  std::vector<SortRecord> r = {
      Rec(1, H("Re: beta", "Zed <z@x>", "2 Jan 2020 00:00:00 +0000"), 30, 100),
      Rec(2, H("alpha", "anne@x", "1 Jan 2020 00:00:00 +0000"), 10, 300),
      Rec(3, H("[list] Gamma", nullptr, nullptr), 20, 200),
  };
  // No Date: falls back to arrival 20, which is before both sent dates.
  EXPECT_EQ(SortMessages(r, {{SortKey::kDate}}), (Numbers{30, 20, 10}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kArrival}}), (Numbers{20, 30, 10}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kSize}}), (Numbers{10, 30, 20}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kSubject}}), (Numbers{20, 10, 30}));
  // Missing From sorts as "".
  EXPECT_EQ(SortMessages(r, {{SortKey::kFrom}}), (Numbers{30, 20, 10}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kFrom, true}}), (Numbers{10, 20, 30}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kDisplayFrom}}), (Numbers{30, 20, 10}));
}

TEST(SortMessages, TiesAndReverse) {
  std::vector<SortRecord> r = {
      Rec(1, H("b", "x@y")), Rec(2, H("a", "x@y")),
      Rec(3, H("b", "x@y")), Rec(4, H("a", "x@y")),
  };
  // Ties fall back to ascending seq, even under REVERSE (RFC 5256 §3).
  EXPECT_EQ(SortMessages(r, {{SortKey::kSubject}}), (Numbers{20, 40, 10, 30}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kSubject, true}}), (Numbers{10, 30, 20, 40}));
  EXPECT_EQ(SortMessages(r, {{SortKey::kFrom}}), (Numbers{10, 20, 30, 40}));
  // Second criterion breaks ties of the first.
  r[0].size = 5, r[1].size = 1, r[2].size = 3, r[3].size = 2;
  EXPECT_EQ(SortMessages(r, {{SortKey::kSubject}, {SortKey::kSize, true}}),
            (Numbers{40, 20, 10, 30}));
  EXPECT_EQ(SortMessages({}, {{SortKey::kSize}}), Numbers{});
}

TEST(SortMessages, OnlyRequestedKeysFilled) {
  SortRecord r;
  FillSortRecord({{SortKey::kFrom}}, H("subject", "a@b", "bad"), &r);
  EXPECT_EQ(r.from, "A");
  EXPECT_EQ(r.subject, "");
  EXPECT_FALSE(SortNeedsHeaders({{SortKey::kArrival}, {SortKey::kSize, true}}));
  EXPECT_TRUE(SortNeedsHeaders({{SortKey::kArrival}, {SortKey::kCc}}));
}

TEST(SortMessages, LongKeysAreCapped) {
  SortRecord r;
  const std::string long_subject(kMaxSortKeyOctets * 3, 'q');
  FillSortRecord({{SortKey::kSubject}}, H(long_subject.c_str(), nullptr), &r);
  EXPECT_EQ(r.subject.size(), kMaxSortKeyOctets);
}

TEST(SortResponse, Format) {
  std::string out;
  AppendSort(&out, {2, 3, 1});
  EXPECT_EQ(out, "* SORT 2 3 1\r\n");
  out.clear();
  AppendSort(&out, {});
  EXPECT_EQ(out, "* SORT\r\n");
  out.clear();
  AppendSort(&out, {4, 1}, 917162500);
  EXPECT_EQ(out, "* SORT 4 1 (MODSEQ 917162500)\r\n");
  out.clear();
  AppendSort(&out, {}, 5);
  EXPECT_EQ(out, "* SORT\r\n");
}

}  // namespace
}  // namespace ringmail::imap
