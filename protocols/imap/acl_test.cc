#include "protocols/imap/acl.h"

#include "gtest/gtest.h"

namespace ringmail::imap {
namespace {

TEST(ImapAclTest, RightsChange) {
  RightsChange c;
  std::string err;
  ASSERT_TRUE(ParseRightsChange("arl", &c, &err));
  EXPECT_EQ(c.mod, RightsMod::kReplace);
  EXPECT_EQ(c.letters, "lra");
  ASSERT_TRUE(ParseRightsChange("+c", &c, &err));
  EXPECT_EQ(c.mod, RightsMod::kAdd);
  EXPECT_EQ(c.letters, "kx");
  ASSERT_TRUE(ParseRightsChange("-d", &c, &err));
  EXPECT_EQ(c.mod, RightsMod::kRemove);
  EXPECT_EQ(c.letters, "te");
  ASSERT_TRUE(ParseRightsChange("", &c, &err));
  EXPECT_EQ(c.letters, "");
  EXPECT_FALSE(ParseRightsChange("lrZ", &c, &err));
  EXPECT_EQ(err, "Invalid ACL right: Z");
  EXPECT_FALSE(ParseRightsChange(std::string(100, 'l'), &c, &err));
}

TEST(ImapAclTest, ResponseRightsAddObsoleteLetters) {
  EXPECT_EQ(RightsForResponse("lrwstipekxa"), "lrwstipekxacd");
  EXPECT_EQ(RightsForResponse("lr"), "lr");
  EXPECT_EQ(RightsForResponse("lrk"), "lrkc");
  EXPECT_EQ(RightsForResponse("lrt"), "lrtd");
}

TEST(ImapAclTest, Identifiers) {
  AclIdentifier id;
  std::string err;
  ASSERT_TRUE(ParseAclIdentifier("bob@example.com", "alice@example.com", &id, &err));
  EXPECT_EQ(id.kind, AclIdentifier::Kind::kUser);
  EXPECT_EQ(id.name, "bob@example.com");
  ASSERT_TRUE(ParseAclIdentifier("-anyone", "alice", &id, &err));
  EXPECT_EQ(id.kind, AclIdentifier::Kind::kAnyone);
  EXPECT_TRUE(id.negative);
  EXPECT_EQ(FormatAclIdentifier(id, "alice"), "-anyone");
  ASSERT_TRUE(ParseAclIdentifier("alice", "alice", &id, &err));
  EXPECT_EQ(id.kind, AclIdentifier::Kind::kOwner);
  EXPECT_EQ(FormatAclIdentifier(id, "alice"), "alice");
  ASSERT_TRUE(ParseAclIdentifier("$staff", "alice", &id, &err));
  EXPECT_EQ(id.kind, AclIdentifier::Kind::kGroup);
  EXPECT_EQ(FormatAclIdentifier(id, "alice"), "$staff");
  EXPECT_FALSE(ParseAclIdentifier("", "alice", &id, &err));
  EXPECT_FALSE(ParseAclIdentifier("-", "alice", &id, &err));
  EXPECT_FALSE(ParseAclIdentifier("a/b", "alice", &id, &err));
  EXPECT_FALSE(ParseAclIdentifier(std::string(300, 'x'), "alice", &id, &err));
}

TEST(ImapAclTest, Responses) {
  std::string out;
  AppendAclResponse(&out, "Projects", {{"alice", "lrwstipekxacd"}, {"bob", ""}});
  EXPECT_EQ(out, "* ACL Projects alice lrwstipekxacd bob \"\"\r\n");
  out.clear();
  AppendListRights(&out, "My Box", "bob");
  EXPECT_EQ(out, "* LISTRIGHTS \"My Box\" bob \"\" l r w s t p i e k x a c d\r\n");
  out.clear();
  AppendMyRights(&out, "INBOX", "lr");
  EXPECT_EQ(out, "* MYRIGHTS INBOX lr\r\n");
  out.clear();
  AppendNamespaceWithShared(&out, "", "shared/", '/');
  EXPECT_EQ(out, "* NAMESPACE ((\"\" \"/\")) NIL ((\"shared/\" \"/\"))\r\n");
}

}  // namespace
}  // namespace ringmail::imap
