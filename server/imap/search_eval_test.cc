#include "server/imap/search_eval.h"

#include "protocols/mime/date_time.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/imap/args.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/search.h"
#include "protocols/mime/structure.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;

proto::SearchProgram Program(const std::string& keys) {
  const std::string line = "a SEARCH " + keys + "\r\n";
  proto::CommandReader reader;
  reader.set_authenticated(true);
  size_t used = 0;
  EXPECT_EQ(reader.Next(line, &used), proto::CommandReader::Event::kCommand)
      << line;
  proto::SearchProgram p;
  proto::ArgError err;
  EXPECT_EQ(proto::ParseSearch(reader.command().args, &p, &err),
            proto::SearchStatus::kOk)
      << keys << ": " << err.text;
  return p;
}

uint64_t CrlfLen(std::string_view s) {
  uint64_t n = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) ++n;
  }
  return n;
}

const std::string kM1 =
    "From: Alice <alice@example.com>\n"
    "To: Bob <bob@example.org>\n"
    "Subject: Hello\n"
    " world\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "\n"
    "Line one\n"
    "Line two\n";

const std::string kM2 =
    "From: Carol <carol@example.com>\n"
    "To: Dave <dave@example.net>\n"
    "Subject: =?UTF-8?B?w6lsw6huZQ==?= =?iso-8859-1?q?caf=E9?=\n"
    "Date: 31 Dec 2023 23:59:00 -0800\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\n"
    "\n"
    "preamble words\n"
    "--XX\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 soft=\n"
    "break here\n"
    "--XX\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PGI+Ym9sZCBuZWVk\n"
    "bGU8L2I+\n"
    "--XX\n"
    "Content-Type: application/octet-stream\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "c2VjcmV0IHBheWxvYWQ=\n"
    "--XX\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: inner\n"
    "\n"
    "inner body\n"
    "--XX--\n";

const std::string kM3 =
    "Subject: big\n"
    "Date: garbage\n"
    "X-Custom: Some Value\n"
    "\n" +
    std::string(2000, 'z') + "\n";

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Add(1, 10, proto::kFlagSeen | proto::kFlagAnswered, {"work"},
        1704103200 /* 2024-01-01 10:00 */, 1, kM1);
    Add(2, 20, proto::kFlagRecent, {}, 1704067199 /* 2023-12-31 23:59:59 */, 5,
        kM2);
    Add(3, 30,
        proto::kFlagDeleted | proto::kFlagFlagged | proto::kFlagDraft |
            proto::kFlagRecent | proto::kFlagSeen,
        {"$Junk"}, 1709164800 /* 2024-02-29 00:00 */, 50, kM3);
    ctx_.max_seq = 3;
    ctx_.max_uid = 30;
  }
  void Add(uint32_t seq, uint32_t uid, uint8_t flags,
           std::vector<std::string_view> kw, int64_t date, uint64_t modseq,
           const std::string& content) {
    auto s = mime::ParseStructure(content);
    ASSERT_TRUE(s.ok());
    structures_.push_back(std::make_unique<mime::Structure>(*std::move(s)));
    MessageView v;
    v.seq = seq;
    v.uid = uid;
    v.imap_flags = flags;
    v.keywords = std::move(kw);
    v.internal_date = date;
    v.size = content.size();
    v.vsize = CrlfLen(content);
    v.modseq = modseq;
    v.content = content;
    // Every other message without a cached structure: parsed on demand.
    v.structure = seq % 2 ? structures_.back().get() : nullptr;
    views_.push_back(v);
  }
  std::vector<uint32_t> Search(const std::string& keys) {
    const proto::SearchProgram p = Program(keys);
    std::vector<uint32_t> out;
    for (const MessageView& v : views_) {
      if (Matches(p.root, v, ctx_)) out.push_back(v.seq);
    }
    return out;
  }

  std::vector<std::unique_ptr<mime::Structure>> structures_;
  std::vector<MessageView> views_;
  SearchContext ctx_;
};

using Seqs = std::vector<uint32_t>;

TEST_F(SearchTest, Flags) {
  EXPECT_EQ(Search("ALL"), (Seqs{1, 2, 3}));
  EXPECT_EQ(Search("SEEN"), (Seqs{1, 3}));
  EXPECT_EQ(Search("UNSEEN"), (Seqs{2}));
  EXPECT_EQ(Search("ANSWERED"), (Seqs{1}));
  EXPECT_EQ(Search("UNANSWERED"), (Seqs{2, 3}));
  EXPECT_EQ(Search("DELETED"), (Seqs{3}));
  EXPECT_EQ(Search("UNDELETED"), (Seqs{1, 2}));
  EXPECT_EQ(Search("DRAFT"), (Seqs{3}));
  EXPECT_EQ(Search("UNDRAFT"), (Seqs{1, 2}));
  EXPECT_EQ(Search("FLAGGED"), (Seqs{3}));
  EXPECT_EQ(Search("UNFLAGGED"), (Seqs{1, 2}));
  EXPECT_EQ(Search("RECENT"), (Seqs{2, 3}));
  EXPECT_EQ(Search("NEW"), (Seqs{2}));
  EXPECT_EQ(Search("OLD"), (Seqs{1}));
  EXPECT_EQ(Search("KEYWORD WORK"), (Seqs{1}));
  EXPECT_EQ(Search("KEYWORD $junk"), (Seqs{3}));
  EXPECT_EQ(Search("UNKEYWORD work"), (Seqs{2, 3}));
  EXPECT_EQ(Search("KEYWORD nothing"), (Seqs{}));
}

TEST_F(SearchTest, SizesDatesModSeq) {
  EXPECT_EQ(Search("LARGER 1000"), (Seqs{3}));
  EXPECT_EQ(Search("SMALLER 1000"), (Seqs{1, 2}));
  const std::string v1 = std::to_string(views_[0].vsize);
  EXPECT_EQ(Search("LARGER " + v1), (Seqs{2, 3}));
  EXPECT_EQ(Search("SMALLER " + v1), (Seqs{}));
  EXPECT_EQ(Search("BEFORE 1-Jan-2024"), (Seqs{2}));
  EXPECT_EQ(Search("ON 1-Jan-2024"), (Seqs{1}));
  EXPECT_EQ(Search("SINCE 1-Jan-2024"), (Seqs{1, 3}));
  EXPECT_EQ(Search("ON \"29-Feb-2024\""), (Seqs{3}));
  EXPECT_EQ(Search("SENTON 31-Dec-2023"), (Seqs{2}));  // zone disregarded
  EXPECT_EQ(Search("SENTBEFORE 1-Jan-2024"), (Seqs{2}));
  EXPECT_EQ(Search("SENTSINCE 1-Jan-2024"), (Seqs{1}));
  // An unparsable Date: matches no SENT* key, nor its negation's opposite.
  EXPECT_EQ(Search("NOT SENTSINCE 1-Jan-2024"), (Seqs{2, 3}));
  EXPECT_EQ(Search("MODSEQ 5"), (Seqs{2, 3}));
  EXPECT_EQ(Search("MODSEQ 51"), (Seqs{}));
}

TEST_F(SearchTest, Headers) {
  EXPECT_EQ(Search("FROM alice"), (Seqs{1}));
  EXPECT_EQ(Search("FROM EXAMPLE.COM"), (Seqs{1, 2}));
  EXPECT_EQ(Search("TO dave"), (Seqs{2}));
  EXPECT_EQ(Search("CC dave"), (Seqs{}));
  EXPECT_EQ(Search("BCC x"), (Seqs{}));
  EXPECT_EQ(Search("SUBJECT \"hello world\""), (Seqs{1}));  // unfolded
  EXPECT_EQ(Search("SUBJECT \"\xc3\xa9l\xc3\xa8necaf\xc3\xa9\""),
            (Seqs{2}));  // RFC 2047 words decoded, space between dropped
  EXPECT_EQ(Search("SUBJECT \"\xc3\x89L\""), (Seqs{}));  // non-ASCII exact
  EXPECT_EQ(Search("HEADER X-Custom value"), (Seqs{3}));
  EXPECT_EQ(Search("HEADER x-custom \"\""), (Seqs{3}));
  EXPECT_EQ(Search("HEADER X-Custom nope"), (Seqs{}));
  EXPECT_EQ(Search("HEADER Subject \"\""), (Seqs{1, 2, 3}));
}

TEST_F(SearchTest, BodyAndText) {
  EXPECT_EQ(Search("BODY \"caf\xc3\xa9\""), (Seqs{2}));  // QP decoded
  EXPECT_EQ(Search("BODY softbreak"), (Seqs{2}));        // soft line break
  EXPECT_EQ(Search("BODY \"BOLD NEEDLE\""), (Seqs{2}));  // base64, split
  EXPECT_EQ(Search("BODY secret"), (Seqs{}));            // not a text part
  EXPECT_EQ(Search("BODY preamble"), (Seqs{}));
  EXPECT_EQ(Search("BODY inner"), (Seqs{2}));  // embedded message
  EXPECT_EQ(Search("BODY \"line TWO\""), (Seqs{1}));
  EXPECT_EQ(Search("BODY zzzz"), (Seqs{3}));
  EXPECT_EQ(Search("BODY alice"), (Seqs{}));  // header is not body
  EXPECT_EQ(Search("TEXT alice"), (Seqs{1}));
  EXPECT_EQ(Search("TEXT \"\xc3\xa9l\xc3\xa8ne\""), (Seqs{2}));
  EXPECT_EQ(Search("TEXT needle"), (Seqs{2}));
  EXPECT_EQ(Search("TEXT x-custom"), (Seqs{3}));
  EXPECT_EQ(Search("BODY \"\""), (Seqs{1, 2, 3}));
}

TEST_F(SearchTest, SetsAndStar) {
  EXPECT_EQ(Search("2:*"), (Seqs{2, 3}));
  EXPECT_EQ(Search("*"), (Seqs{3}));
  EXPECT_EQ(Search("1,3"), (Seqs{1, 3}));
  EXPECT_EQ(Search("3:1"), (Seqs{1, 2, 3}));
  EXPECT_EQ(Search("UID 20:*"), (Seqs{2, 3}));
  EXPECT_EQ(Search("UID 25:*"), (Seqs{3}));
  EXPECT_EQ(Search("UID 31:*"), (Seqs{3}));  // RFC 3501 §6.4.8
  EXPECT_EQ(Search("UID 1:15,20"), (Seqs{1, 2}));
  EXPECT_EQ(Search("UID 4000"), (Seqs{}));
  // "$": nothing saved -> nothing; then the saved UIDs.
  EXPECT_EQ(Search("UID $"), (Seqs{}));
  proto::ResolvedSet saved({{10, 10}, {30, 30}});
  ctx_.saved_uids = &saved;
  EXPECT_EQ(Search("UID $"), (Seqs{1, 3}));
  EXPECT_EQ(Search("$"), (Seqs{1, 3}));
  EXPECT_EQ(Search("NOT $"), (Seqs{2}));
}

TEST_F(SearchTest, BooleanStructure) {
  EXPECT_EQ(Search("OR SEEN RECENT"), (Seqs{1, 2, 3}));
  EXPECT_EQ(Search("NOT OR SEEN RECENT"), (Seqs{}));
  EXPECT_EQ(Search("OR (DELETED KEYWORD $Junk) (FROM alice NOT ANSWERED)"),
            (Seqs{3}));
  EXPECT_EQ(Search("NOT (SEEN NOT FLAGGED)"), (Seqs{2, 3}));
  EXPECT_EQ(Search("OR OR ANSWERED DRAFT NOT RECENT"), (Seqs{1, 3}));
  EXPECT_EQ(Search("SEEN UID 1:20 SINCE 1-Jan-2024"), (Seqs{1}));
  EXPECT_EQ(Search("(OR 1 2) NOT (OR BODY needle FROM alice)"), (Seqs{}));
  EXPECT_EQ(Search("OR NOT BODY needle UNSEEN 1:2"), (Seqs{1, 2}));
}

TEST_F(SearchTest, HeaderOnlyPrefixSuffices) {
  MessageView v = views_[0];
  v.content = std::string_view(kM1).substr(0, kM1.find("\n\n") + 2);
  v.structure = nullptr;
  EXPECT_TRUE(Matches(Program("FROM alice SUBJECT world").root, v, ctx_));
  EXPECT_TRUE(Matches(Program("SENTON 1-Jan-2024").root, v, ctx_));
}

// FETCH BODY[HEADER.FIELDS] returns every field; SEARCH HEADER must find
// the same ones, however many fields come before.
TEST_F(SearchTest, HeaderFieldBeyondTheThousandth) {
  std::string msg;
  for (int i = 0; i < 1500; ++i) msg += "X-Filler: " + std::to_string(i) + "\n";
  msg += "X-Late: needle\n\nbody\n";
  MessageView v = views_[0];
  v.content = msg;
  v.structure = nullptr;
  EXPECT_TRUE(Matches(Program("HEADER X-Late needle").root, v, ctx_));
  EXPECT_TRUE(Matches(Program("HEADER X-Filler 1499").root, v, ctx_));
  EXPECT_FALSE(Matches(Program("HEADER X-Late haystack").root, v, ctx_));
}

TEST(SearchNeeds, Levels) {
  EXPECT_EQ(
      NeedsOf(Program("FLAGGED UID 1:* LARGER 5 OR 1 SINCE 1-Jan-2000").root),
      SearchNeeds::kIndex);
  EXPECT_EQ(NeedsOf(Program("OR SEEN FROM x").root), SearchNeeds::kHeaders);
  EXPECT_EQ(NeedsOf(Program("SENTON 1-Jan-2000").root), SearchNeeds::kHeaders);
  EXPECT_EQ(NeedsOf(Program("NOT (SEEN BODY x)").root), SearchNeeds::kBody);
  EXPECT_EQ(NeedsOf(Program("HEADER a b TEXT c").root), SearchNeeds::kBody);
}

TEST(SentDay, Rfc5322Dates) {
  EXPECT_EQ(mime::DaysFromCivilDate(1970, 1, 1), 0);
  EXPECT_EQ(mime::DaysFromCivilDate(1969, 12, 31), -1);
  EXPECT_EQ(mime::DaysFromCivilDate(2000, 3, 1), 11017);
  const int64_t jan1 = mime::DaysFromCivilDate(2024, 1, 1);
  EXPECT_EQ(ParseSentDay("Mon, 1 Jan 2024 10:00:00 +0000"), jan1);
  EXPECT_EQ(ParseSentDay("Mon 01 JAN 2024 23:59:59 -1200"), jan1);
  EXPECT_EQ(ParseSentDay("(sent) Mon, (x) 1 Jan 2024"), jan1);
  EXPECT_EQ(ParseSentDay("1 jan 24 00:00 GMT"), jan1);
  EXPECT_EQ(ParseSentDay("1 Jan 99"), mime::DaysFromCivilDate(1999, 1, 1));
  EXPECT_EQ(ParseSentDay("1 Jan 124"), jan1);  // RFC 5322 §4.3: +1900
  EXPECT_EQ(ParseSentDay("29 Feb 2024"), mime::DaysFromCivilDate(2024, 2, 29));
  for (const char* bad : {"", "garbage", "29 Feb 2023", "32 Jan 2024",
                          "0 Jan 2024", "1 January 2024", "1 Jan 2",
                          "Jan 1 2024", "123 Jan 2024", "1 Jan 20245"}) {
    EXPECT_FALSE(ParseSentDay(bad).has_value()) << bad;
  }
}

TEST(SearchNeeds, ColdFields) {
  // Flag and UID keys stay in the copied columns; dates, sizes and
  // anything read from the file need the mapped index's cold fields.
  for (const char* keys : {"UNSEEN", "ALL", "NOT DELETED KEYWORD x", "UID 1:5 FLAGGED",
                           "OR SEEN NEW"}) {
    EXPECT_FALSE(NeedsColdFields(Program(keys).root)) << keys;
  }
  for (const char* keys : {"SINCE 1-Jan-2024", "UNSEEN LARGER 10", "NOT BEFORE 1-Jan-2024",
                           "OR SEEN ON 1-Jan-2024", "SUBJECT x", "BODY y"}) {
    EXPECT_TRUE(NeedsColdFields(Program(keys).root)) << keys;
  }
}

}  // namespace
}  // namespace ringmail::server::imap
