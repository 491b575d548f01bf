#include "storage/mailbox/acl.h"

#include "gtest/gtest.h"
#include "storage/mailbox/acl_shared_dict.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::Exists;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

AclFile Parse(std::string_view text) {
  auto f = ParseAclFile(text, AclLimits{});
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : AclFile();
}

AclRights Rights(std::string_view letters) {
  AclRights r = 0;
  for (char c : letters) r |= AclRightFromLetter(c);
  return r;
}

TEST(AclTest, LettersRoundTrip) {
  EXPECT_EQ(AclRightsToLetters(kAclAllRights), "lrwstipekxa");
  EXPECT_EQ(AclRightsToLetters(Rights("arl")), "lra");
  EXPECT_EQ(AclRightFromLetter('c'), 0);
}

TEST(AclTest, ParsesDovecotLines) {
  AclFile f = Parse(
      "# comment\n"
      "owner lrwstipekxa\n"
      "user=bob@example.com lr\n"
      "-user=eve@example.com r\n"
      "group=staff lrs\n"
      "anyone l :custom\n"
      "bogus lr\n"          // unknown identifier: skipped
      "user=x lrZ\n"        // unknown right: skipped
      "\n");
  ASSERT_EQ(f.entries.size(), 5u);
  EXPECT_EQ(f.entries[1].type, AclIdType::kUser);
  EXPECT_EQ(f.entries[1].name, "bob@example.com");
  EXPECT_EQ(f.entries[1].rights, Rights("lr"));
  EXPECT_TRUE(f.entries[2].negative);
  EXPECT_EQ(f.entries[4].extra, std::vector<std::string>{"custom"});
  EXPECT_EQ(SerializeAclFile(f),
            "owner lrwstipekxa\n"
            "user=bob@example.com lr\n"
            "-user=eve@example.com r\n"
            "group=staff lrs\n"
            "anyone l :custom\n");
}

TEST(AclTest, DefaultIsOwnerOnly) {
  AclFile empty;
  EXPECT_EQ(EvaluateAcl(empty, {"alice", true}), kAclAllRights);
  EXPECT_EQ(EvaluateAcl(empty, {"bob", false}), 0);
}

TEST(AclTest, MoreSpecificTypeReplaces) {
  AclFile f = Parse("anyone lr\nuser=bob lrsw\n");
  EXPECT_EQ(EvaluateAcl(f, {"bob", false}), Rights("lrsw"));
  EXPECT_EQ(EvaluateAcl(f, {"carol", false}), Rights("lr"));
  // `anyone` does not apply to the owner (Dovecot skips the entries below
  // `owner` for the owner), so the owner keeps the default.
  EXPECT_EQ(EvaluateAcl(f, {"alice", true}), kAclAllRights);
  AclFile g = Parse("user=bob lrs\n-user=bob s\n");
  EXPECT_EQ(EvaluateAcl(g, {"bob", false}), Rights("lr"));
  AclFile h = Parse("owner lr\nuser=bob lrwstipekxa\n");
  EXPECT_EQ(EvaluateAcl(h, {"alice", true}), Rights("lr"));
}

TEST(AclTest, SetAndRemoveEntries) {
  AclFile f;
  ASSERT_TRUE(SetAclEntry(&f, AclIdType::kUser, "bob", false, Rights("lr"), {}).ok());
  ASSERT_TRUE(SetAclEntry(&f, AclIdType::kUser, "bob", false, Rights("lrs"), {}).ok());
  EXPECT_EQ(SerializeAclFile(f), "user=bob lrs\n");
  ASSERT_TRUE(SetAclEntry(&f, AclIdType::kUser, "bob", false, 0, {}).ok());
  EXPECT_TRUE(f.entries.empty());
  AclLimits tiny;
  tiny.max_entries = 1;
  ASSERT_TRUE(SetAclEntry(&f, AclIdType::kAnyone, "", false, Rights("l"), tiny).ok());
  EXPECT_FALSE(SetAclEntry(&f, AclIdType::kUser, "x", false, Rights("l"), tiny).ok());
  EXPECT_TRUE(RemoveAclEntry(&f, AclIdType::kAnyone, "", false));
  EXPECT_FALSE(RemoveAclEntry(&f, AclIdType::kAnyone, "", false));
}

TEST(AclTest, FileReadUpdateRemove) {
  std::string dir = MakeTempDir();
  auto empty = ReadAclFileBlocking(dir, {});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->entries.empty());
  auto written = UpdateAclFileBlocking(dir, {}, {}, [](AclFile* f) {
    return SetAclEntry(f, AclIdType::kUser, "bob@example.com", false, Rights("lr"), {});
  });
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(ReadFile(dir + "/dovecot-acl"), "user=bob@example.com lr\n");
  EXPECT_FALSE(Exists(dir + "/dovecot-acl.lock"));
  auto removed = UpdateAclFileBlocking(dir, {}, {}, [](AclFile* f) {
    RemoveAclEntry(f, AclIdType::kUser, "bob@example.com", false);
    return absl::OkStatus();
  });
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(Exists(dir + "/dovecot-acl"));
  WriteFile(dir + "/dovecot-acl", std::string(100, 'x'));
  AclLimits small;
  small.max_file_bytes = 10;
  EXPECT_FALSE(ReadAclFileBlocking(dir, small).ok());
}

TEST(SharedDictTest, GranteesAndOwners) {
  AclFile f = Parse("owner lrwstipekxa\nuser=bob r\nuser=carol lr\nauthenticated l\n"
                    "user=dave lr\n-user=dave l\n");
  EXPECT_EQ(SharedDictGrantees(f), (std::vector<std::string>{"user/carol", "anyone"}));
  SharedDictPairs pairs = {
      {"shared/shared-boxes/user/carol/alice", "1"},
      {"shared/shared-boxes/anyone/zed", "1"},
      {"shared/shared-boxes/user/bob/mallory", "1"},
      {"shared/shared-boxes/anyone/carol", "1"},
      {"other/key", "1"},
  };
  EXPECT_EQ(OwnersSharingWith(pairs, "carol", {}),
            (std::vector<std::string>{"alice", "zed"}));
}

TEST(SharedDictTest, ReplaceOwnerKeepsOthers) {
  std::string path = MakeTempDir() + "/shared-mailboxes";
  ASSERT_TRUE(ReplaceOwnerSharesBlocking(path, "alice", {"user/bob"}, {}, {}).ok());
  ASSERT_TRUE(ReplaceOwnerSharesBlocking(path, "zed", {"anyone"}, {}, {}).ok());
  ASSERT_TRUE(ReplaceOwnerSharesBlocking(path, "alice", {"user/carol"}, {}, {}).ok());
  EXPECT_EQ(ReadFile(path),
            "shared/shared-boxes/anyone/zed\n1\n"
            "shared/shared-boxes/user/carol/alice\n1\n");
  auto pairs = ReadSharedDictBlocking(path, {});
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(pairs->size(), 2u);
  ASSERT_TRUE(ReplaceOwnerSharesBlocking(path, "alice", {}, {}, {}).ok());
  EXPECT_EQ(ReadFile(path), "shared/shared-boxes/anyone/zed\n1\n");
}

}  // namespace
}  // namespace ringmail::storage
