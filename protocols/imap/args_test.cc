#include "protocols/imap/args.h"

#include "gtest/gtest.h"
#include "protocols/imap/list_pattern.h"
#include "protocols/imap/sequence_set.h"
#include "protocols/imap/session_state.h"
#include "protocols/imap/test_parse.h"

namespace ringmail::imap {
namespace {

using testing_util::Parse;

TEST(SequenceSet, StarReversedAndNormalised) {
  SequenceSet s;
  bool saved;
  ASSERT_TRUE(SequenceSet::Parse("5:3,1,*:8,2", &s, &saved));
  EXPECT_FALSE(saved);
  EXPECT_EQ(FormatSequenceSet(s.Resolve(10)), "1:5,8:10");
  ResolvedSet r(s.Resolve(10));
  EXPECT_TRUE(r.Contains(4));
  EXPECT_FALSE(r.Contains(6));
  EXPECT_EQ(r.Count(), 8u);
  EXPECT_EQ(FormatSequenceSet(s.Resolve(0)), "1:8");
  ASSERT_TRUE(SequenceSet::Parse("$", &s, &saved));
  EXPECT_TRUE(saved);
  for (const char* bad : {"", "0", "1:", ",1", "1,,2", "a", "1:0", "$,1", "4294967295"}) {
    EXPECT_FALSE(SequenceSet::Parse(bad, &s, &saved)) << bad;
  }
  EXPECT_EQ(FormatNumberSet({1, 2, 3, 5, 7, 8}), "1:3,5,7:8");
}

TEST(ListPattern, Wildcards) {
  EXPECT_TRUE(ListPatternMatches("*", "a/b/c", '/'));
  EXPECT_TRUE(ListPatternMatches("%", "abc", '/'));
  EXPECT_FALSE(ListPatternMatches("%", "a/b", '/'));
  EXPECT_TRUE(ListPatternMatches("a/%", "a/b", '/'));
  EXPECT_FALSE(ListPatternMatches("a/%", "a/b/c", '/'));
  EXPECT_TRUE(ListPatternMatches("a*c", "a/b/c", '/'));
  EXPECT_TRUE(ListPatternMatches("inbox", "INBOX", '/'));
  EXPECT_TRUE(ListPatternMatches("Inbox/%", "INBOX/x", '/'));
  EXPECT_FALSE(ListPatternMatches("foo", "Foo", '/'));
  EXPECT_TRUE(ListPatternMatches("", "", '/'));
  EXPECT_FALSE(ListPatternMatches(std::string(200, '*') + "x", std::string(500, 'a'), '/'));
  EXPECT_EQ(CombineListReference("a/", "/b", '/'), "a/b");
  EXPECT_EQ(CombineListReference("a/", "b%", '/'), "a/b%");
}

TEST(Args, MailboxAndFlags) {
  auto p = Parse("a CREATE inbox");
  std::string name;
  ArgError err;
  ASSERT_TRUE(ParseMailbox(p->args()[0], false, &name, &err));
  EXPECT_EQ(name, "INBOX");
  p = Parse("a CREATE \"Entw&APw-rfe\"");
  ASSERT_TRUE(ParseMailbox(p->args()[0], false, &name, &err));
  EXPECT_EQ(name, "Entw\xc3\xbc" "rfe");
  EXPECT_FALSE(ParseMailbox(p->args()[0], false, &name, &err) && false);
  p = Parse("a CREATE \"bad&AGE-\"");
  EXPECT_FALSE(ParseMailbox(p->args()[0], false, &name, &err));

  p = Parse("a APPEND x (\\seen \\Deleted $Junk foo) \" 1-Feb-2020 10:00:00 -0130\"");
  AppendArgs app;
  ASSERT_TRUE(ParseAppend(p->args(), false, &app, &err)) << err.text;
  EXPECT_EQ(app.flags.system, kFlagSeen | kFlagDeleted);
  EXPECT_EQ(app.flags.keywords, (std::vector<std::string>{"$Junk", "foo"}));
  EXPECT_EQ(*app.internal_date, 1580551200 + 90 * 60);
  p = Parse("a APPEND x (\\Recent)");
  EXPECT_FALSE(ParseAppend(p->args(), false, &app, &err));
}

TEST(Args, Dates) {
  int64_t t, days;
  int zone;
  ASSERT_TRUE(ParseDateTime("01-Jan-1970 00:00:00 +0000", &t, &zone));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(ParseDateTime("29-Feb-2024 23:59:59 +0100", &t, &zone));
  EXPECT_EQ(t, 1709251199 - 3600);
  EXPECT_FALSE(ParseDateTime("29-Feb-2023 23:59:59 +0100", &t, &zone));
  EXPECT_FALSE(ParseDateTime("01-Foo-2020 00:00:00 +0000", &t, &zone));
  ASSERT_TRUE(ParseDate("1-Feb-1970", &days));
  EXPECT_EQ(days, 31);
  ASSERT_TRUE(ParseDate("\"01-feb-1970\"", &days));
  EXPECT_FALSE(ParseDate("1-Feb-70", &days));
}

TEST(Args, Store) {
  auto p = Parse("a UID STORE 1:* (UNCHANGEDSINCE 12) +FLAGS.SILENT (\\Seen x)");
  StoreArgs s;
  ArgError err;
  ASSERT_TRUE(ParseStore(p->args(), &s, &err)) << err.text;
  EXPECT_EQ(s.set, "1:*");
  EXPECT_EQ(*s.unchangedsince, 12u);
  EXPECT_EQ(s.mode, StoreMode::kAdd);
  EXPECT_TRUE(s.silent);
  EXPECT_EQ(s.flags.system, kFlagSeen);
  p = Parse("a STORE 2 -flags \\Deleted \\Draft");
  StoreArgs s2;
  ASSERT_TRUE(ParseStore(p->args(), &s2, &err));
  EXPECT_EQ(s2.mode, StoreMode::kRemove);
  EXPECT_EQ(s2.flags.system, kFlagDeleted | kFlagDraft);
  p = Parse("a STORE 2 FLAGS (\\Recent)");
  StoreArgs s3;
  EXPECT_FALSE(ParseStore(p->args(), &s3, &err));
}

TEST(Args, StatusEnableIdLogin) {
  auto p = Parse("a STATUS INBOX (MESSAGES uidnext UNSEEN)");
  std::string mb;
  uint8_t items;
  ArgError err;
  ASSERT_TRUE(ParseStatus(p->args(), false, &mb, &items, &err));
  EXPECT_EQ(items, kStatusMessages | kStatusUidNext | kStatusUnseen);
  p = Parse("a STATUS INBOX (BOGUS)");
  EXPECT_FALSE(ParseStatus(p->args(), false, &mb, &items, &err));
  p = Parse("a ENABLE utf8=accept CONDSTORE");
  std::vector<std::string> caps;
  ASSERT_TRUE(ParseEnable(p->args(), &caps, &err));
  EXPECT_EQ(caps, (std::vector<std::string>{"UTF8=ACCEPT", "CONDSTORE"}));
  p = Parse("a ID (\"name\" \"x\" \"version\" NIL)");
  std::vector<std::pair<std::string, std::optional<std::string>>> id;
  ASSERT_TRUE(ParseId(p->args(), &id, &err));
  ASSERT_EQ(id.size(), 2u);
  EXPECT_FALSE(id[1].second.has_value());
  p = Parse("a LOGIN user \"p\\\"w\"");
  std::string u, pw;
  ASSERT_TRUE(ParseLogin(p->args(), &u, &pw, &err));
  EXPECT_EQ(pw, "p\"w");
}

TEST(Args, AuthenticatePlain) {
  auto p = Parse("a AUTHENTICATE plain AHVzZXIAcGFzcw==");
  std::string mech, z, c, pw;
  std::optional<std::string_view> ir;
  ArgError err;
  ASSERT_TRUE(ParseAuthenticate(p->args(), &mech, &ir, &err));
  EXPECT_EQ(mech, "PLAIN");
  ASSERT_TRUE(DecodeSaslPlain(*ir, &z, &c, &pw, &err)) << err.text;
  EXPECT_EQ(c, "user");
  EXPECT_EQ(pw, "pass");
  EXPECT_FALSE(DecodeSaslPlain("*", &z, &c, &pw, &err));
  EXPECT_FALSE(DecodeSaslPlain("AHVzZXIAcGFzcw=", &z, &c, &pw, &err));
  EXPECT_FALSE(DecodeSaslPlain("dXNlcg==", &z, &c, &pw, &err));
  std::string out;
  EXPECT_TRUE(DecodeBase64(EncodeBase64("hello!?"), 100, &out));
  EXPECT_EQ(out, "hello!?");
  EXPECT_FALSE(DecodeBase64("aGk=", 1, &out));
  EXPECT_FALSE(DecodeBase64("aGl=", 10, &out));  // non-zero padding bits
}

TEST(SessionState, Policy) {
  SessionStateTracker t;
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("SELECT")),
            "Command not allowed before authentication");
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("login")), "");
  t.OnCommandOk(CommandId::kLogin);
  EXPECT_EQ(t.state(), SessionState::kAuthenticated);
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("LOGIN")), "Already authenticated");
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("FETCH")), "No mailbox selected");
  t.OnCommandOk(CommandId::kSelect);
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("FETCH")), "");
  t.OnSelectFailed();
  EXPECT_EQ(t.state(), SessionState::kAuthenticated);
  t.OnCommandOk(CommandId::kExamine);
  t.OnCommandOk(CommandId::kUnselect);
  EXPECT_EQ(t.state(), SessionState::kAuthenticated);
  t.OnCommandOk(CommandId::kLogout);
  EXPECT_EQ(t.CheckAllowed(*LookupCommand("NOOP")), "Logging out");

  const CommandSpec& fetch = *LookupCommand("FETCH");
  const CommandSpec& expunge = *LookupCommand("EXPUNGE");
  const CommandSpec& search = *LookupCommand("SEARCH");
  EXPECT_TRUE(MayRunConcurrently(fetch, false, search, false));
  EXPECT_FALSE(MayRunConcurrently(fetch, false, expunge, false));
  EXPECT_FALSE(MayRunConcurrently(*LookupCommand("SELECT"), false, fetch, true));
  EXPECT_FALSE(MayRunConcurrently(*LookupCommand("STORE"), true,
                                  *LookupCommand("STORE"), true));
}

}  // namespace
}  // namespace ringmail::imap
