// RFC 7162 argument parsing: SELECT parameters, FETCH modifiers, STORE
// UNCHANGEDSINCE and SEARCH MODSEQ limits; VANISHED/MODIFIED formatting.
#include "protocols/imap/condstore.h"

#include "gtest/gtest.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/response.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;
using Ranges = std::vector<SequenceSet::Range>;
using Samples = std::vector<std::pair<uint32_t, uint32_t>>;

bool RangesEq(const Ranges& a, const Ranges& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].first != b[i].first || a[i].last != b[i].last) return false;
  }
  return true;
}

TEST(SelectParams, NoneCondstoreAndQresync) {
  SelectParams sp;
  ArgError err;
  auto p = Parse("a SELECT INBOX");
  ASSERT_TRUE(ParseSelectParams(p->args().From(1), &sp, &err));
  EXPECT_FALSE(sp.condstore);
  EXPECT_FALSE(sp.qresync);

  p = Parse("a EXAMINE INBOX (condstore)");
  ASSERT_TRUE(ParseSelectParams(p->args().From(1), &sp, &err)) << err.text;
  EXPECT_TRUE(sp.condstore);

  p = Parse("a SELECT INBOX (QRESYNC (67890007 20050715194045000))");
  ASSERT_TRUE(ParseSelectParams(p->args().From(1), &sp, &err)) << err.text;
  ASSERT_TRUE(sp.qresync);
  EXPECT_EQ(sp.qresync->uid_validity, 67890007u);
  EXPECT_EQ(sp.qresync->modseq, 20050715194045000u);
  EXPECT_TRUE(sp.qresync->known_uids.empty());
  EXPECT_TRUE(sp.qresync->seq_uid_samples.empty());

  // RFC 7162 §3.2.5.2's example, with CONDSTORE too.
  p = Parse("a SELECT INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 41:211,214:541 "
            "(1:5,7:9 41,43,45,47,49,51,53,55)))");
  ASSERT_TRUE(ParseSelectParams(p->args().From(1), &sp, &err)) << err.text;
  EXPECT_TRUE(sp.condstore);
  EXPECT_TRUE(RangesEq(sp.qresync->known_uids, Ranges{{41, 211}, {214, 541}}));
  // Each UID range of the known-uid-set is a single UID here.
  EXPECT_EQ(sp.qresync->seq_uid_samples,
            (Samples{{1, 41}, {2, 43}, {3, 45}, {4, 47}, {5, 49}, {7, 51}, {8, 53}, {9, 55}}));

  // Ranges: their first and last UIDs are sampled.
  p = Parse("a SELECT INBOX (QRESYNC (1 2 1:100 (1:10,20:29 1:5,11:25)))");
  ASSERT_TRUE(ParseSelectParams(p->args().From(1), &sp, &err)) << err.text;
  EXPECT_EQ(sp.qresync->seq_uid_samples,
            (Samples{{1, 1}, {5, 5}, {6, 11}, {29, 25}}));
}

TEST(SelectParams, Errors) {
  for (const char* bad : {
           "a SELECT INBOX (BOGUS)",
           "a SELECT INBOX (CONDSTORE CONDSTORE)",
           "a SELECT INBOX CONDSTORE",
           "a SELECT INBOX (QRESYNC)",
           "a SELECT INBOX (QRESYNC 1 2)",
           "a SELECT INBOX (QRESYNC (1))",
           "a SELECT INBOX (QRESYNC (0 2))",             // UIDVALIDITY 0
           "a SELECT INBOX (QRESYNC (4294967296 2))",    // > 32 bits
           "a SELECT INBOX (QRESYNC (1 9223372036854775808))",  // > 2^63-1
           "a SELECT INBOX (QRESYNC (1 2 1:*))",         // no "*" in known-uids
           "a SELECT INBOX (QRESYNC (1 2 $))",
           "a SELECT INBOX (QRESYNC (1 2 1:5 (1:3 1:2)))",   // sizes differ
           "a SELECT INBOX (QRESYNC (1 2 1:5 (1:3)))",
           "a SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4) x))",
           "a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))",
       }) {
    SelectParams sp;
    ArgError err;
    auto p = Parse(bad);
    EXPECT_FALSE(ParseSelectParams(p->args().From(1), &sp, &err)) << bad;
    EXPECT_FALSE(err.text.empty());
  }
}

TEST(FetchModifiers, ChangedSinceAndVanished) {
  ArgError err;
  auto p = Parse("a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
  FetchRequest r;
  ASSERT_TRUE(ParseFetch(p->args().From(1), &r, &err)) << err.text;
  EXPECT_EQ(*r.changedsince, 12345u);
  EXPECT_TRUE(r.vanished);
  p = Parse("a UID FETCH 1:* FLAGS (vanished changedsince 9223372036854775807)");
  FetchRequest r2;
  ASSERT_TRUE(ParseFetch(p->args().From(1), &r2, &err)) << err.text;
  EXPECT_EQ(*r2.changedsince, 9223372036854775807u);
  EXPECT_TRUE(r2.vanished);
  for (const char* bad : {
           "a UID FETCH 1 FLAGS (VANISHED)",  // needs CHANGEDSINCE
           "a UID FETCH 1 FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)",
           "a UID FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED VANISHED)",
           "a UID FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)",
           "a UID FETCH 1 FLAGS (CHANGEDSINCE)",
           "a UID FETCH 1 FLAGS (CHANGEDSINCE x)",
           "a UID FETCH 1 FLAGS (BOGUS 1)",
       }) {
    auto q = Parse(bad);
    FetchRequest rb;
    EXPECT_FALSE(ParseFetch(q->args().From(1), &rb, &err)) << bad;
  }
}

TEST(StoreAndSearchLimits, ModSeqRange) {
  ArgError err;
  StoreArgs s;
  auto p = Parse("a STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)");
  ASSERT_TRUE(ParseStore(p->args(), &s, &err)) << err.text;
  EXPECT_EQ(*s.unchangedsince, 0u);
  p = Parse("a STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Seen)");
  StoreArgs s2;
  EXPECT_FALSE(ParseStore(p->args(), &s2, &err));

  SearchProgram prog;
  p = Parse("a SEARCH MODSEQ \"/flags/\\\\draft\" priv 620162338");
  ASSERT_EQ(ParseSearch(p->args(), &prog, &err), SearchStatus::kOk) << err.text;
  EXPECT_TRUE(HasModSeqKey(prog.root));
  p = Parse("a SEARCH OR NOT MODSEQ 5 SEEN DELETED");
  ASSERT_EQ(ParseSearch(p->args(), &prog, &err), SearchStatus::kOk) << err.text;
  EXPECT_TRUE(HasModSeqKey(prog.root));
  p = Parse("a SEARCH SEEN");
  ASSERT_EQ(ParseSearch(p->args(), &prog, &err), SearchStatus::kOk);
  EXPECT_FALSE(HasModSeqKey(prog.root));
  for (const char* bad : {"a SEARCH MODSEQ \"/flags/\\\\draft\" other 5",
                          "a SEARCH MODSEQ \"/annotation/x\" all 5",
                          "a SEARCH MODSEQ 9223372036854775808"}) {
    auto q = Parse(bad);
    EXPECT_EQ(ParseSearch(q->args(), &prog, &err), SearchStatus::kBad) << bad;
  }
}

TEST(CondstoreResponses, VanishedModifiedCapability) {
  std::string out;
  AppendVanished(&out, true, {{41, 41}, {43, 116}});
  AppendVanished(&out, false, {{5, 5}});
  AppendVanished(&out, false, {});
  EXPECT_EQ(out, "* VANISHED (EARLIER) 41,43:116\r\n* VANISHED 5\r\n");
  EXPECT_EQ(CodeModified({7, 9, 10, 11}), "MODIFIED 7,9:11");
  CapabilityOptions o;
  o.authenticated = true;
  o.condstore = true;
  EXPECT_NE(BuildCapabilities(o).find(" CONDSTORE QRESYNC"), std::string::npos);
}

}  // namespace
}  // namespace ringmail::imap
