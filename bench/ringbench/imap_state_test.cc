#include "bench/ringbench/imap_state.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bench/ringbench/imap_ops.h"

namespace ringmail::ringbench {
namespace {

std::vector<std::string> Kinds(const std::vector<Violation>& v) {
  std::vector<std::string> out;
  for (const Violation& x : v) out.push_back(x.kind);
  return out;
}

TEST(ImapState, SystemFlags) {
  EXPECT_TRUE(IsSystemFlag("\\Seen"));
  EXPECT_TRUE(IsSystemFlag("\\RECENT"));
  EXPECT_FALSE(IsSystemFlag("\\Junk"));
  EXPECT_FALSE(IsSystemFlag("Seen"));
}

TEST(ImapState, ParsesFetchWithSectionsLiteralsAndEnvelope) {
  FetchItems f;
  std::string err;
  ASSERT_TRUE(ParseFetch("* 3 FETCH (UID 17 FLAGS (\\Seen $Label1 rb1_x) "
                         "BODY[HEADER.FIELDS (TO)] {26})",
                         &f, &err))
      << err;
  EXPECT_EQ(f.seq, 3u);
  EXPECT_EQ(f.uid, 17u);
  ASSERT_TRUE(f.flags);
  EXPECT_EQ(*f.flags, (std::vector<std::string>{"\\Seen", "$Label1", "rb1_x"}));
  ASSERT_TRUE(ParseFetch("* 1 FETCH (FLAGS () ENVELOPE (\"Mon, 1 Jan\" \"a \\\"q\\\" (b)\" "
                         "((NIL NIL \"x\" \"y.test\")) NIL NIL NIL NIL NIL NIL \"<id>\") "
                         "BODY[]<0> {5} RFC822.SIZE 5)",
                         &f, &err))
      << err;
  EXPECT_FALSE(f.uid);
  EXPECT_TRUE(f.flags && f.flags->empty());
  ASSERT_TRUE(ParseFetch("* 2 FETCH (MODSEQ (12) UID 4)", &f, &err)) << err;
  EXPECT_FALSE(f.flags);
}

TEST(ImapState, RejectsGarbageInFlags) {
  FetchItems f;
  std::string err;
  // Freed memory rendered as a keyword: control and 8-bit bytes.
  EXPECT_FALSE(ParseFetch(std::string("* 1 FETCH (FLAGS (\\Seen \x01\xa0kw) UID 3)"), &f, &err));
  EXPECT_FALSE(ParseFetch("* 1 FETCH (FLAGS (\\Seen \"quoted\") UID 3)", &f, &err));
  EXPECT_FALSE(ParseFetch("* 1 FETCH (FLAGS (\\Seen  kw) UID 3)", &f, &err));
  EXPECT_FALSE(ParseFetch("* 1 FETCH (FLAGS (kw", &f, &err));
  EXPECT_FALSE(ParseFetch("* 1 FETCH (FLAGS (kw)) trailing", &f, &err));
  EXPECT_FALSE(ParseFetch("* 1 FETCH (FLAGS (k]w))", &f, &err));
  std::vector<std::string> flags;
  size_t pos = 0;
  EXPECT_TRUE(ParseFlagList("(\\Seen \\* kw)", &pos, &flags));
  EXPECT_EQ(flags.size(), 3u);
  pos = 0;
  EXPECT_FALSE(ParseFlagList("(\\ kw)", &pos, &flags));
}

class TrackerTest : public ::testing::Test {
 protected:
  std::vector<std::string> Apply(MailboxTracker& t, const std::string& text) {
    std::vector<Violation> v;
    t.Apply(text, &v);
    return Kinds(v);
  }
  void SelectWith(MailboxTracker& t, int exists) {
    t.Select("inbox");
    EXPECT_TRUE(Apply(t, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)").empty());
    EXPECT_TRUE(Apply(t, "* " + std::to_string(exists) + " EXISTS").empty());
    EXPECT_TRUE(Apply(t, "* OK [UIDVALIDITY 99] UIDs valid").empty());
    EXPECT_TRUE(Apply(t, "* OK [PERMANENTFLAGS (\\Seen \\*)] Limited").empty());
  }
  SharedImapState shared;
};

TEST_F(TrackerTest, KeywordsMustHaveBeenSentToThatMailbox) {
  MailboxTracker t(&shared, "u1", shared.NewSession());
  SelectWith(t, 2);
  EXPECT_EQ(t.mailbox(), "INBOX");
  EXPECT_EQ(Apply(t, "* 1 FETCH (UID 5 FLAGS (\\Seen rb1_x))"),
            std::vector<std::string>{"unknown_keyword"});
  shared.AddKeywords("u1", "INBOX", {"RB1_x", "\\Flagged"});
  EXPECT_TRUE(Apply(t, "* 1 FETCH (UID 5 FLAGS (\\Seen rb1_x))").empty());
  // Another user's or mailbox's keyword is not this mailbox's.
  shared.AddKeywords("u2", "INBOX", {"rb2_x"});
  shared.AddKeywords("u1", "other", {"rb3_x"});
  EXPECT_EQ(Apply(t, "* 2 FETCH (UID 6 FLAGS (rb2_x rb3_x))"),
            (std::vector<std::string>{"unknown_keyword", "unknown_keyword"}));
  EXPECT_EQ(Apply(t, "* 2 FETCH (FLAGS (\\Junk))"),
            std::vector<std::string>{"unknown_system_flag"});
  EXPECT_EQ(Apply(t, "* FLAGS (\\Seen garbage)"), std::vector<std::string>{"unknown_keyword"});
  EXPECT_EQ(Apply(t, std::string("* 2 FETCH (FLAGS (\xff\x01))")),
            std::vector<std::string>{"malformed"});
  EXPECT_FALSE(shared.AnyKeyword("u1", "inbox", 7).empty());
  EXPECT_TRUE(shared.AnyKeyword("u3", "INBOX", 7).empty());
}

TEST_F(TrackerTest, SequenceNumbersStayWithinExists) {
  MailboxTracker t(&shared, "u1", shared.NewSession());
  SelectWith(t, 2);
  EXPECT_EQ(Apply(t, "* 3 FETCH (UID 9 FLAGS ())"),
            std::vector<std::string>{"fetch_beyond_exists"});
  EXPECT_EQ(Apply(t, "* 0 FETCH (FLAGS ())"), std::vector<std::string>{"fetch_beyond_exists"});
  EXPECT_TRUE(Apply(t, "* 3 EXISTS").empty());
  EXPECT_TRUE(Apply(t, "* 3 FETCH (UID 9 FLAGS ())").empty());
  EXPECT_TRUE(Apply(t, "* 1 FETCH (UID 4 FLAGS ())").empty());
  EXPECT_EQ(Apply(t, "* 2 FETCH (UID 10 FLAGS ())"), std::vector<std::string>{"uid_order"});
  EXPECT_EQ(Apply(t, "* 1 FETCH (UID 5 FLAGS ())"), std::vector<std::string>{"uid_changed"});
  EXPECT_TRUE(Apply(t, "* 1 EXPUNGE").empty());
  EXPECT_EQ(t.exists(), 2u);
  EXPECT_EQ(t.uids()[1], 9u);
  EXPECT_EQ(Apply(t, "* 3 EXPUNGE"), std::vector<std::string>{"expunge_beyond_exists"});
  EXPECT_EQ(Apply(t, "* 1 EXISTS"), std::vector<std::string>{"exists_shrank"});
  EXPECT_EQ(Apply(t, "* 1 FETCH (UID (x))"), std::vector<std::string>{"malformed"});
  EXPECT_EQ(Apply(t, "garbage"), std::vector<std::string>{"malformed"});
}

TEST_F(TrackerTest, RecentBelongsToOneSession) {
  MailboxTracker a(&shared, "u1", shared.NewSession());
  MailboxTracker b(&shared, "u1", shared.NewSession());
  MailboxTracker other_user(&shared, "u2", shared.NewSession());
  SelectWith(a, 1);
  SelectWith(b, 1);
  SelectWith(other_user, 1);
  EXPECT_TRUE(Apply(a, "* 1 FETCH (UID 7 FLAGS (\\Recent))").empty());
  EXPECT_TRUE(Apply(a, "* 1 FETCH (FLAGS (\\Seen \\Recent))").empty());  // same session again
  EXPECT_EQ(a.recent_seen(), 2u);
  EXPECT_TRUE(Apply(other_user, "* 1 FETCH (UID 7 FLAGS (\\Recent))").empty());
  EXPECT_EQ(Apply(b, "* 1 FETCH (UID 7 FLAGS (\\Recent))"),
            std::vector<std::string>{"recent_twice"});
  // Without a UID the sequence number's known UID counts.
  EXPECT_EQ(Apply(b, "* 1 FETCH (FLAGS (\\Recent))"), std::vector<std::string>{"recent_twice"});
}

TEST(ImapState, KeywordNamesAndGenerations) {
  SharedImapState s;
  std::string k1 = s.NewKeyword(), k2 = s.NewKeyword();
  EXPECT_NE(k1, k2);
  EXPECT_GT(k1.size(), 16u);  // longer than a std::string's inline buffer
  EXPECT_EQ(s.Generation("u"), 0);
  EXPECT_TRUE(s.ClaimAdvance("u", 0));
  EXPECT_FALSE(s.ClaimAdvance("u", 0));  // one creator at a time
  s.FinishAdvance("u", 1, true);
  EXPECT_EQ(s.Generation("u"), 1);
  EXPECT_FALSE(s.ClaimAdvance("u", 0));  // stale
  EXPECT_TRUE(s.ClaimAdvance("u", 1));
  s.FinishAdvance("u", 2, false);
  EXPECT_EQ(s.Generation("u"), 1);
  EXPECT_EQ(KeywordMailbox("INBOX", 0), "INBOX");
  EXPECT_EQ(KeywordMailbox("INBOX", 3), "ringbench-kw3");
}

TEST(ImapOps, KeywordsPresetNeedsStateChecks) {
  EXPECT_TRUE(MixNeedsStateCheck(ResolveImapMix("keywords")));
  EXPECT_FALSE(MixNeedsStateCheck(ResolveImapMix("")));
  EXPECT_TRUE(MixNeedsStateCheck("noop=1,poll=2"));
  EXPECT_FALSE(MixNeedsStateCheck("noop=1,xpoll=2"));
  for (const std::string& op : StateImapOps()) {
    EXPECT_NE(std::find(ImapOps().begin(), ImapOps().end(), op), ImapOps().end()) << op;
  }
}

}  // namespace
}  // namespace ringmail::ringbench
