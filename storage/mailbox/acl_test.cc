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

// Found by the ACL fuzzer: SetAclEntry wrote identifiers longer than
// AclLimits::max_identifier, which every read then skipped, so SETACL of
// a negative entry for a long user name took nothing away.
TEST(AclTest, SetRefusesIdentifiersReadsWouldSkip) {
  AclLimits limits;
  limits.max_identifier = 12;
  AclFile f;
  // "user=" + 7 octets: at the limit; the '-' of a negative entry does not
  // count, as in ParseAclFile.
  ASSERT_TRUE(SetAclEntry(&f, AclIdType::kUser, "1234567", true, Rights("r"), limits).ok());
  const absl::Status st =
      SetAclEntry(&f, AclIdType::kUser, "12345678", true, Rights("r"), limits);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_TRUE(absl::IsInvalidArgument(
      SetAclEntry(&f, AclIdType::kGroup, "12345678", false, Rights("r"), limits)));
  ASSERT_EQ(f.entries.size(), 1u);
  const std::string text = SerializeAclFile(f);
  EXPECT_EQ(text, "-user=1234567 r\n");
  auto again = ParseAclFile(text, limits);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->entries.size(), 1u);

  // The defaults: SETACL takes IMAP identifiers of up to 256 octets, which
  // "user=" makes 261.
  const std::string long_name(252, 'u');
  AclFile g = Parse("anyone lr\n");
  EXPECT_TRUE(absl::IsInvalidArgument(
      SetAclEntry(&g, AclIdType::kUser, long_name, true, Rights("r"), {})));
  EXPECT_EQ(SerializeAclFile(g), "anyone lr\n");
  const std::string fits(251, 'u');
  ASSERT_TRUE(SetAclEntry(&g, AclIdType::kUser, fits, true, Rights("r"), {}).ok());
  AclFile read = Parse(SerializeAclFile(g));
  EXPECT_EQ(EvaluateAcl(read, {fits, false}), 0);
}

// Found by the ACL fuzzer: a named right ending in CR lost one CR per
// rewrite (the line's last CR is taken for a CRLF line end). Named rights
// with control octets are invalid: the entry is skipped, like one with an
// unknown right letter, and what is kept reads back the same.
TEST(AclTest, NamedRightsWithControlOctetsAreSkipped) {
  AclFile f = Parse(
      "user=a lr :x\r\r\n"
      "user=b lr :x\r\n"         // CRLF: the named right is "x"
      "user=c lr :x\t:y\n"       // a tab separates named rights
      "user=d lr :x\x01y\n"
      "user=e lr :x\x7f\n"
      "user=f lr :caf\xc3\xa9\n");  // not a control octet
  ASSERT_EQ(f.entries.size(), 3u);
  EXPECT_EQ(f.entries[0].name, "b");
  EXPECT_EQ(f.entries[0].extra, std::vector<std::string>{"x"});
  EXPECT_EQ(f.entries[1].name, "c");
  EXPECT_EQ(f.entries[1].extra, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f.entries[2].name, "f");
  const std::string text = SerializeAclFile(f);
  EXPECT_EQ(SerializeAclFile(Parse(text)), text);
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
