#include "server/imap/flags.h"

#include "gtest/gtest.h"
#include "protocols/imap/response.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;
namespace st = ::ringmail::storage;

st::MaildirKeywords Table() {
  return st::MaildirKeywords::Parse("0 $Forwarded\n2 work\n");
}

proto::FlagSet Set(uint8_t system, std::vector<std::string> keywords) {
  proto::FlagSet f;
  f.system = system;
  f.keywords = std::move(keywords);
  return f;
}

TEST(Flags, StorageImapRoundTrip) {
  const uint8_t all_storage = st::kFlagDraft | st::kFlagFlagged |
                              st::kFlagAnswered | st::kFlagSeen |
                              st::kFlagDeleted;
  EXPECT_EQ(ImapFlagsFromStorage(all_storage | st::kFlagPassed, true),
            kSystemFlags | proto::kFlagRecent);
  EXPECT_EQ(ImapFlagsFromStorage(st::kFlagSeen, false), proto::kFlagSeen);
  EXPECT_EQ(StorageFlagsFromImap(kSystemFlags | proto::kFlagRecent, 0),
            all_storage);
  EXPECT_EQ(StorageFlagsFromImap(proto::kFlagDraft, 0xff),
            st::kFlagDraft | st::kFlagPassed);
  for (int f = 0; f < 64; ++f) {
    const uint8_t s = static_cast<uint8_t>(f) & all_storage;
    EXPECT_EQ(StorageFlagsFromImap(ImapFlagsFromStorage(s, false), 0), s);
  }
}

TEST(Flags, KeywordNamesAndViewAndList) {
  const st::MaildirKeywords t = Table();
  EXPECT_EQ(KeywordNames(0b111, t),
            (std::vector<std::string_view>{"$Forwarded", "work"}));
  EXPECT_TRUE(KeywordNames(0, t).empty());
  st::MessageEntry e;
  e.flags = st::kFlagSeen | st::kFlagAnswered;
  e.recent = true;
  e.keywords = 0b100;
  MessageView v;
  SetViewFlags(e, t, &v);
  EXPECT_EQ(v.imap_flags,
            proto::kFlagSeen | proto::kFlagAnswered | proto::kFlagRecent);
  std::string out;
  AppendFlagList(&out, v.imap_flags, v.keywords);
  EXPECT_EQ(out, "(\\Answered \\Seen \\Recent work)");
  // Same text as the protocol layer's formatter.
  proto::FlagSet f = Set(v.imap_flags, {"work"});
  EXPECT_EQ(out, proto::FormatFlagList(f));
  out.clear();
  AppendFlagList(&out, 0, {});
  EXPECT_EQ(out, "()");
}

TEST(Flags, StoreModes) {
  const st::MaildirKeywords t = Table();
  const uint8_t cur = st::kFlagSeen | st::kFlagPassed;
  // FLAGS (\Flagged work): replaces; P survives; unnamed bit 1 survives.
  StoreOutcome r = ApplyStore(cur, 0b011, proto::StoreMode::kReplace,
                              Set(proto::kFlagFlagged, {"WORK"}), t);
  EXPECT_EQ(r.flags, st::kFlagFlagged | st::kFlagPassed);
  EXPECT_EQ(r.keywords, 0b110u);
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(r.unknown_keywords.empty());
  // +FLAGS (\Seen): no change.
  r = ApplyStore(cur, 0, proto::StoreMode::kAdd, Set(proto::kFlagSeen, {}), t);
  EXPECT_EQ(r.flags, cur);
  EXPECT_FALSE(r.changed);
  // +FLAGS (\Deleted $Forwarded)
  r = ApplyStore(cur, 0, proto::StoreMode::kAdd,
                 Set(proto::kFlagDeleted, {"$forwarded"}), t);
  EXPECT_EQ(r.flags, cur | st::kFlagDeleted);
  EXPECT_EQ(r.keywords, 0b1u);
  // -FLAGS (\Seen work unknown): unknown is nothing to remove.
  r = ApplyStore(cur, 0b101, proto::StoreMode::kRemove,
                 Set(proto::kFlagSeen, {"work", "unknown"}), t);
  EXPECT_EQ(r.flags, st::kFlagPassed);
  EXPECT_EQ(r.keywords, 0b1u);
  EXPECT_TRUE(r.unknown_keywords.empty());
  // \Recent in the set is ignored.
  r = ApplyStore(0, 0, proto::StoreMode::kAdd, Set(proto::kFlagRecent, {}), t);
  EXPECT_EQ(r.flags, 0);
  EXPECT_FALSE(r.changed);
}

TEST(Flags, UnknownKeywordsAreReportedThenApplied) {
  st::MaildirKeywords t = Table();
  const proto::FlagSet set = Set(0, {"New", "new", "work", "Other"});
  EXPECT_EQ(UnknownKeywords(set, t),
            (std::vector<std::string>{"New", "Other"}));
  StoreOutcome r = ApplyStore(0, 0, proto::StoreMode::kAdd, set, t);
  EXPECT_EQ(r.unknown_keywords, (std::vector<std::string>{"New", "Other"}));
  for (const std::string& k : r.unknown_keywords) ASSERT_TRUE(t.Assign(k).ok());
  r = ApplyStore(0, 0, proto::StoreMode::kAdd, set, t);
  EXPECT_TRUE(r.unknown_keywords.empty());
  EXPECT_EQ(r.keywords, (1u << 1) | (1u << 2) | (1u << 3));
}

TEST(Flags, SelectLists) {
  st::MaildirKeywords t = Table();
  std::string flags;
  proto::AppendFlags(&flags, MailboxFlags(t));
  EXPECT_EQ(flags,
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
            "$Forwarded work)\r\n");
  EXPECT_EQ(PermanentFlagsCode(t, false),
            "PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
            "$Forwarded work \\*)");
  EXPECT_EQ(PermanentFlagsCode(t, true), "PERMANENTFLAGS ()");
  EXPECT_EQ(
      PermanentFlagsCode(st::MaildirKeywords(), false),
      "PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)");
  // A full table cannot take new keywords: no "\*".
  for (int i = 0; i < st::kMaxMaildirKeywords - 2; ++i) {  // 2 in Table()
    ASSERT_TRUE(t.Assign("k" + std::to_string(i)).ok());
  }
  const std::string full = PermanentFlagsCode(t, false);
  EXPECT_EQ(full.find("\\*"), std::string::npos) << full;
}

}  // namespace
}  // namespace ringmail::server::imap
