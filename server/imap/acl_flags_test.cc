#include "server/imap/acl_flags.h"

#include "gtest/gtest.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::server::imap {
namespace {

namespace wire = ringmail::imap;

wire::FlagSet AllFlags() {
  wire::FlagSet f;
  f.system = wire::kFlagSeen | wire::kFlagAnswered | wire::kFlagFlagged |
             wire::kFlagDeleted | wire::kFlagDraft;
  f.keywords = {"$Forwarded", "work"};
  return f;
}

TEST(AclFlagsTest, AllRightsKeepEverything) {
  wire::FlagSet f = AllFlags();
  DropUnsettableFlags(storage::kAclAllRights, &f);
  EXPECT_EQ(f.system, AllFlags().system);
  EXPECT_EQ(f.keywords.size(), 2u);
}

TEST(AclFlagsTest, InsertOnlyDropsEverything) {
  wire::FlagSet f = AllFlags();
  DropUnsettableFlags(storage::kAclLookup | storage::kAclRead | storage::kAclInsert, &f);
  EXPECT_EQ(f.system, 0);
  EXPECT_TRUE(f.keywords.empty());
}

TEST(AclFlagsTest, EachRightKeepsItsFlags) {
  wire::FlagSet s = AllFlags();
  DropUnsettableFlags(storage::kAclInsert | storage::kAclWriteSeen, &s);
  EXPECT_EQ(s.system, wire::kFlagSeen);
  EXPECT_TRUE(s.keywords.empty());

  wire::FlagSet t = AllFlags();
  DropUnsettableFlags(storage::kAclInsert | storage::kAclWriteDeleted, &t);
  EXPECT_EQ(t.system, wire::kFlagDeleted);
  EXPECT_TRUE(t.keywords.empty());

  wire::FlagSet w = AllFlags();
  DropUnsettableFlags(storage::kAclInsert | storage::kAclWrite, &w);
  EXPECT_EQ(w.system, wire::kFlagAnswered | wire::kFlagFlagged | wire::kFlagDraft);
  EXPECT_EQ(w.keywords.size(), 2u);
}

TEST(AclFlagsTest, StorageFlags) {
  const uint8_t all = storage::kFlagDraft | storage::kFlagFlagged | storage::kFlagPassed |
                      storage::kFlagAnswered | storage::kFlagSeen | storage::kFlagDeleted;
  uint8_t flags = all;
  uint32_t keywords = 0b101;
  DropUnsettableFlags(storage::kAclAllRights, &flags, &keywords);
  EXPECT_EQ(flags, all);
  EXPECT_EQ(keywords, 0b101u);

  DropUnsettableFlags(storage::kAclInsert | storage::kAclWriteSeen, &flags, &keywords);
  EXPECT_EQ(flags, storage::kFlagSeen);
  EXPECT_EQ(keywords, 0u);

  flags = all;
  keywords = 0b11;
  DropUnsettableFlags(storage::kAclInsert | storage::kAclWrite | storage::kAclWriteDeleted,
                      &flags, &keywords);
  EXPECT_EQ(flags, all & ~storage::kFlagSeen);  // \Passed is a "w" flag
  EXPECT_EQ(keywords, 0b11u);
}

}  // namespace
}  // namespace ringmail::server::imap
