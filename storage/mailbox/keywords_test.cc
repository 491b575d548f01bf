#include "storage/mailbox/keywords.h"

#include "gtest/gtest.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

TEST(KeywordsTest, ParseAssignFormat) {
  MaildirKeywords kw =
      MaildirKeywords::Parse("0 $Junk\n2 Work\nbad line\n30 x\n1 work\n");
  EXPECT_EQ(kw.NameAt(0), "$Junk");
  EXPECT_EQ(kw.NameAt(2), "Work");
  EXPECT_EQ(kw.NameAt(1), "");  // duplicate of Work (case-insensitive)
  EXPECT_EQ(*kw.IndexOf("WORK"), 2);
  EXPECT_EQ(*kw.Assign("New"), 1);  // lowest free
  EXPECT_EQ(*kw.Assign("$junk"), 0);
  EXPECT_FALSE(kw.Assign("\\Seen").ok());
  EXPECT_FALSE(kw.Assign("a b").ok());
  EXPECT_EQ(kw.Format(), "0 $Junk\n1 New\n2 Work\n");
  EXPECT_EQ(kw.NamesOf(0b101), (std::vector<std::string>{"$Junk", "Work"}));
  for (int i = 0; i < 23; ++i) ASSERT_TRUE(kw.Assign("k" + std::to_string(i)).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(kw.Assign("one-too-many").status()));
}

TEST(KeywordsTest, AssignUnderLockRereads) {
  std::string dir = MakeTempDir();
  WriteFile(dir + "/dovecot-keywords", "0 Dovecot\n");
  absl::StatusOr<MaildirKeywords> kw =
      AssignKeywordsBlocking(dir, {"Dovecot", "Mine"}, DotlockOptions());
  ASSERT_TRUE(kw.ok()) << kw.status();
  EXPECT_EQ(ReadFile(dir + "/dovecot-keywords"), "0 Dovecot\n1 Mine\n");
  EXPECT_FALSE(testing::Exists(dir + "/dovecot-keywords.lock"));
}

}  // namespace
}  // namespace ringmail::storage
