#include "protocols/imap/thread.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;

TEST(ThreadParse, Algorithms) {
  ThreadCommand c;
  ArgError err;
  auto p = Parse("a UID THREAD references UTF-8 SINCE 5-MAR-2000");
  ASSERT_EQ(ParseThread(p->args(), &c, &err), SearchStatus::kOk) << err.text;
  EXPECT_EQ(c.algorithm, ThreadAlgorithm::kReferences);
  auto q = Parse("a THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"");
  ASSERT_EQ(ParseThread(q->args(), &c, &err), SearchStatus::kOk) << err.text;
  EXPECT_EQ(c.algorithm, ThreadAlgorithm::kOrderedSubject);
  for (const char* bad : {"a THREAD REFS UTF-8 ALL", "a THREAD REFERENCES UTF-8",
                          "a THREAD REFERENCES", "a THREAD (REFERENCES) UTF-8 ALL",
                          "a THREAD REFERENCES UTF-8 NOPE"}) {
    auto r = Parse(bad);
    EXPECT_EQ(ParseThread(r->args(), &c, &err), SearchStatus::kBad) << bad;
  }
  auto r = Parse("a THREAD REFERENCES KOI8-R ALL");
  EXPECT_EQ(ParseThread(r->args(), &c, &err), SearchStatus::kBadCharset);
}

// Builds records from compact descriptions; seq is the position + 1.
struct Msg {
  uint32_t number;
  const char* subject;
  int64_t sent;  // seconds; written as a Date: header
  const char* message_id = nullptr;
  const char* references = nullptr;
  const char* in_reply_to = nullptr;
};

std::string DateHeader(int64_t t) {
  // 1 Jan 2020 00:00:00 +0000 plus t seconds (t < 1 day).
  char buf[64];
  std::snprintf(buf, sizeof buf, "Wed, 1 Jan 2020 %02d:%02d:%02d +0000",
                static_cast<int>(t / 3600), static_cast<int>(t / 60 % 60),
                static_cast<int>(t % 60));
  return buf;
}

std::vector<ThreadRecord> Records(ThreadAlgorithm alg, const std::vector<Msg>& msgs) {
  std::vector<ThreadRecord> out;
  for (size_t i = 0; i < msgs.size(); ++i) {
    SortHeaders h;
    if (msgs[i].subject) h.subject = msgs[i].subject;
    h.date = DateHeader(msgs[i].sent);
    if (msgs[i].message_id) h.message_id = msgs[i].message_id;
    if (msgs[i].references) h.references = msgs[i].references;
    if (msgs[i].in_reply_to) h.in_reply_to = msgs[i].in_reply_to;
    ThreadRecord r;
    r.seq = static_cast<uint32_t>(i + 1);
    r.number = msgs[i].number;
    FillThreadRecord(alg, h, 0, &r);
    out.push_back(std::move(r));
  }
  return out;
}

std::string Refs(const std::vector<Msg>& msgs) {
  return FormatThreads(ThreadReferences(Records(ThreadAlgorithm::kReferences, msgs)));
}
std::string Ordered(const std::vector<Msg>& msgs) {
  return FormatThreads(
      ThreadOrderedSubject(Records(ThreadAlgorithm::kOrderedSubject, msgs)));
}

TEST(ThreadRecordTest, Fields) {
  SortHeaders h;
  h.subject = "Re: [l] Hi (fwd)";
  h.date = "bad date";
  h.message_id = "junk <me@x> <other@x>";
  h.in_reply_to = "<irt@x>";
  ThreadRecord r;
  FillThreadRecord(ThreadAlgorithm::kReferences, h, 42, &r);
  EXPECT_EQ(r.sent, 42);
  EXPECT_EQ(r.base_subject, "HI");
  EXPECT_TRUE(r.reply_or_forward);
  EXPECT_EQ(r.message_id, "me@x");
  // No References: the first In-Reply-To id.
  EXPECT_EQ(r.references, std::vector<std::string>{"irt@x"});
  h.references = "<a@x> <b@x>";
  FillThreadRecord(ThreadAlgorithm::kReferences, h, 42, &r);
  EXPECT_EQ(r.references, (std::vector<std::string>{"a@x", "b@x"}));
  // An unusable References falls back to In-Reply-To too.
  h.references = "no ids here";
  FillThreadRecord(ThreadAlgorithm::kReferences, h, 42, &r);
  EXPECT_EQ(r.references, std::vector<std::string>{"irt@x"});
}

TEST(ThreadRecordTest, LongReferencesKeepFirstAndLast) {
  std::string refs;
  for (int i = 0; i < 100; ++i) refs += "<" + std::to_string(i) + "@x> ";
  SortHeaders h;
  h.references = refs;
  ThreadRecord r;
  FillThreadRecord(ThreadAlgorithm::kReferences, h, 0, &r);
  ASSERT_EQ(r.references.size(), kMaxThreadReferences);
  EXPECT_EQ(r.references.front(), "0@x");
  EXPECT_EQ(r.references[1], std::to_string(100 - kMaxThreadReferences + 1) + "@x");
  EXPECT_EQ(r.references.back(), "99@x");
}

TEST(OrderedSubject, GroupsBySubjectThenDate) {
  // Threads ordered by their first message; children in date order.
  EXPECT_EQ(Ordered({{1, "b", 50},
                     {2, "Re: a", 40},
                     {3, "a", 10},
                     {4, "Re: b", 60},
                     {5, "Fwd: a", 30},
                     {6, "c", 20}}),
            "(3 (5)(2))(6)(1 4)");
  EXPECT_EQ(Ordered({{7, "x", 5}}), "(7)");
  EXPECT_EQ(Ordered({}), "");
  // Equal dates: sequence order.
  EXPECT_EQ(Ordered({{9, "s", 1}, {8, "s", 1}, {7, "s", 1}}), "(9 (8)(7))");
  // Messages without a subject form one thread.
  EXPECT_EQ(Ordered({{1, nullptr, 2}, {2, "", 1}}), "(2 1)");
}

TEST(References, Rfc5256ExampleShape) {
  // "* THREAD (2)(3 6 (4 23)(44 7 96))" of RFC 5256 §4.
  EXPECT_EQ(Refs({{2, "other", 0, "<2@x>"},
                  {3, "s", 1, "<3@x>"},
                  {6, "Re: s", 2, "<6@x>", "<3@x>"},
                  {4, "Re: s", 3, "<4@x>", "<3@x> <6@x>"},
                  {23, "Re: s", 4, "<23@x>", "<3@x> <6@x> <4@x>"},
                  {44, "Re: s", 5, "<44@x>", "<3@x> <6@x>"},
                  {7, "Re: s", 6, "<7@x>", "<3@x> <6@x> <44@x>"},
                  {96, "Re: s", 7, "<96@x>", "<3@x> <6@x> <44@x> <7@x>"}}),
            "(2)(3 6 (4 23)(44 7 96))");
}

TEST(References, ArrivalOrderDoesNotMatter) {
  // Replies seen before their parents are linked the same way.
  EXPECT_EQ(Refs({{3, "Re: s", 3, "<c@x>", "<a@x> <b@x>"},
                  {2, "Re: s", 2, "<b@x>", "<a@x>"},
                  {1, "s", 1, "<a@x>"}}),
            "(1 2 3)");
}

TEST(References, InReplyToFallback) {
  EXPECT_EQ(Refs({{1, "s", 1, "<a@x>"},
                  {2, "Re: s", 2, "<b@x>", nullptr, "<a@x>"},
                  {3, "Re: s", 3, "<c@x>", nullptr, "\"a's message\" <b@x> (x <a@x>)"}}),
            "(1 2 3)");
}

TEST(References, DummiesArePruned) {
  // Two replies to a message we do not have: a top-level dummy.
  EXPECT_EQ(Refs({{1, "Re: s", 1, "<b@x>", "<gone@x>"},
                  {2, "Re: s", 2, "<c@x>", "<gone@x>"}}),
            "((1)(2))");
  // One reply: promoted to the top level.
  EXPECT_EQ(Refs({{1, "Re: s", 1, "<b@x>", "<gone@x>"}}), "(1)");
  // A chain of missing messages under a missing root: inner dummies are
  // spliced out, the root dummy stays with its two children.
  EXPECT_EQ(Refs({{1, "Re: s", 2, "<b@x>", "<r@x> <m@x>"},
                  {2, "Re: t", 1, "<c@x>", "<r@x>"}}),
            "((2)(1))");
  // A dummy between two messages goes; its child moves up.
  EXPECT_EQ(Refs({{1, "s", 1, "<a@x>"},
                  {2, "Re: s", 2, "<c@x>", "<a@x> <gone@x>"}}),
            "(1 2)");
}

TEST(References, TopLevelSortedBySentDateOfFirstChild) {
  EXPECT_EQ(Refs({{1, "a", 30, "<a@x>"},
                  {2, "Re: q", 20, "<b@x>", "<gone@x>"},
                  {3, "Re: q", 10, "<c@x>", "<gone@x>"},
                  {4, "z", 15, "<d@x>"}}),
            "((3)(2))(4)(1)");
}

TEST(References, DuplicateAndMissingMessageIds) {
  // The second <a@x> is treated as a message of its own; replies go to the
  // first. Messages without an id are simply unreferenced.
  EXPECT_EQ(Refs({{1, "s", 1, "<a@x>"},
                  {2, "t", 2, "<a@x>"},
                  {3, "Re: s", 3, "<c@x>", "<a@x>"},
                  {4, "u", 4}}),
            "(1 3)(2)(4)");
}

TEST(References, LoopsAreNotCreated) {
  // a says b is its parent, b says a is: the first link wins.
  EXPECT_EQ(Refs({{1, "p", 1, "<a@x>", "<b@x>"}, {2, "q", 2, "<b@x>", "<a@x>"}}),
            "(2 1)");
  // A message listing itself.
  EXPECT_EQ(Refs({{1, "p", 1, "<a@x>", "<a@x>"}}), "(1)");
  EXPECT_EQ(Refs({{1, "p", 1, "<a@x>", "<z@x> <a@x> <z@x>"}}), "(1)");
}

TEST(References, TruncatedReferencesRelinkToLastReference) {
  // 3's References lost 2: 1B breaks the link 1A made (3 under 1) for 2's
  // References and puts 3 under 2, its real parent.
  EXPECT_EQ(Refs({{1, "s", 1, "<a@x>"},
                  {3, "Re: s", 3, "<c@x>", "<a@x>"},
                  {2, "Re: s", 2, "<b@x>", "<a@x>"},
                  {4, "Re: s", 4, "<d@x>", "<a@x> <c@x>"}}),
            "(1 (2)(3 4))");
}

TEST(References, SubjectMerging) {
  // A reply with the same base subject joins the original's thread.
  EXPECT_EQ(Refs({{1, "hello", 1, "<a@x>"}, {2, "Re: hello", 2, "<b@x>"}}), "(1 2)");
  // Even if it is older (it becomes a child, sorted by date among them).
  EXPECT_EQ(Refs({{1, "Re: hello", 1, "<a@x>"}, {2, "hello", 2, "<b@x>"}}), "(2 1)");
  // Two originals, or two replies: a dummy holds both.
  EXPECT_EQ(Refs({{1, "hello", 1, "<a@x>"}, {2, "HELLO", 2, "<b@x>"}}), "((1)(2))");
  EXPECT_EQ(Refs({{1, "Re: hello", 1, "<a@x>"}, {2, "re: hello", 2, "<b@x>"}}),
            "((1)(2))");
  // A third message joins the dummy.
  EXPECT_EQ(Refs({{1, "hello", 1, "<a@x>"},
                  {2, "hello", 2, "<b@x>"},
                  {3, "Re: hello", 3, "<c@x>"}}),
            "((1)(2)(3))");
  // A message joins an existing dummy of the same subject.
  EXPECT_EQ(Refs({{1, "Re: s", 1, "<b@x>", "<gone@x>"},
                  {2, "Re: s", 2, "<c@x>", "<gone@x>"},
                  {3, "s", 3, "<d@x>"}}),
            "((1)(2)(3))");
  // Two dummies with one subject: their children become siblings.
  EXPECT_EQ(Refs({{1, "Re: s", 1, "<b@x>", "<g1@x>"},
                  {2, "Re: s", 2, "<c@x>", "<g1@x>"},
                  {3, "Re: s", 3, "<d@x>", "<g2@x>"},
                  {4, "Re: s", 4, "<e@x>", "<g2@x>"}}),
            "((1)(2)(3)(4))");
  // A whole thread (with children) moves under the original.
  EXPECT_EQ(Refs({{1, "topic", 1, "<a@x>"},
                  {2, "Re: topic", 2, "<b@x>"},
                  {3, "Re: topic", 3, "<c@x>", "<b@x>"}}),
            "(1 2 3)");
  // Empty subjects are never merged.
  EXPECT_EQ(Refs({{1, "", 1, "<a@x>"}, {2, "Re:", 2, "<b@x>"}}), "(1)(2)");
}

TEST(References, DeepChainNeedsNoRecursion) {
  constexpr int kDepth = 200000;
  std::vector<ThreadRecord> recs(kDepth);
  for (int i = 0; i < kDepth; ++i) {
    recs[i].seq = recs[i].number = static_cast<uint32_t>(i + 1);
    recs[i].sent = i;
    recs[i].message_id = std::to_string(i) + "@x";
    if (i > 0) recs[i].references = {std::to_string(i - 1) + "@x"};
  }
  const std::string out = FormatThreads(ThreadReferences(recs));
  EXPECT_EQ(out.substr(0, 8), "(1 2 3 4");
  EXPECT_EQ(out.substr(out.size() - 15), " 199999 200000)");
}

TEST(References, DeepChainSeenChildFirst) {
  // Replies before their parents: every 1B re-link needs a loop check.
  constexpr int kDepth = 3000;
  std::vector<ThreadRecord> recs(kDepth);
  for (int i = 0; i < kDepth; ++i) {
    const int id = kDepth - 1 - i;  // message i is the id-th of the chain
    recs[i].seq = static_cast<uint32_t>(i + 1);
    recs[i].number = static_cast<uint32_t>(id + 1);
    recs[i].sent = id;
    recs[i].message_id = std::to_string(id) + "@x";
    if (id > 0) recs[i].references = {std::to_string(id - 1) + "@x"};
  }
  const std::string out = FormatThreads(ThreadReferences(recs));
  EXPECT_EQ(out.substr(0, 8), "(1 2 3 4");
  EXPECT_EQ(out.substr(out.size() - 6), " 3000)");
}

TEST(References, LinkBudgetDegradesGracefully) {
  // Message 2 (b) already has a child when it is linked under 3 (a), so
  // that link needs a loop check; without budget it is not made.
  std::vector<ThreadRecord> recs =
      Records(ThreadAlgorithm::kReferences, {{1, "c", 3, "<c@x>", "<a@x> <b@x>"},
                                             {2, "b", 2, "<b@x>", "<a@x>"},
                                             {3, "a", 1, "<a@x>"}});
  EXPECT_EQ(FormatThreads(ThreadReferences(recs)), "(3 2 1)");
  EXPECT_EQ(FormatThreads(ThreadReferences(recs, 0)), "(3)(2 1)");
}

TEST(ThreadResponse, Format) {
  std::string out;
  AppendThread(&out, ThreadForest{});
  EXPECT_EQ(out, "* THREAD\r\n");
  out.clear();
  ThreadForest f;
  f.nodes.resize(3);
  f.nodes[0].number = 5;
  f.nodes[0].first_child = 1;
  f.nodes[1].number = 6;
  f.nodes[2].number = 7;
  f.roots = {0, 2};
  AppendThread(&out, f);
  EXPECT_EQ(out, "* THREAD (5 6)(7)\r\n");
  // A top-level dummy with a single child prints the child.
  ThreadForest g;
  g.nodes.resize(2);
  g.nodes[0].first_child = 1;
  g.nodes[1].number = 9;
  g.roots = {0};
  EXPECT_EQ(FormatThreads(g), "(9)");
  // Nested branching.
  ThreadForest h;
  h.nodes.resize(5);
  for (int i = 0; i < 5; ++i) h.nodes[i].number = i + 1;
  h.nodes[0].first_child = 1;
  h.nodes[1].first_child = 2;
  h.nodes[1].next_sibling = 4;
  h.nodes[2].next_sibling = 3;
  h.roots = {0};
  EXPECT_EQ(FormatThreads(h), "(1 (2 (3)(4))(5))");
}

}  // namespace
}  // namespace ringmail::imap
