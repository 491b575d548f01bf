#include "storage/mailbox/subscriptions.h"

#include <sys/stat.h>
#include <sys/time.h>

#include "gtest/gtest.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

TEST(SubscriptionsTest, ReadsBothFormats) {
  FolderNameOptions slash;
  auto v1 = ParseSubscriptions("INBOX\nA/B\nEntw&APw-rfe\n&bad\n", slash);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->version, 1);
  EXPECT_EQ(v1->names, (std::vector<std::string>{"INBOX", "A/B",
                                                 "Entw\xC3\xBC" "rfe"}));
  auto v2 = ParseSubscriptions("V\t2\n\nINBOX\nA\tB\nx\001ty\n", slash);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, 2);
  // "x\001ty" unescapes to a TAB, which no folder name may contain.
  EXPECT_EQ(v2->names, (std::vector<std::string>{"INBOX", "A/B"}));
  EXPECT_EQ(*FormatSubscriptions(*v2, slash), "V\t2\n\nINBOX\nA\tB\n");
  EXPECT_EQ(*FormatSubscriptions(*v1, slash), "INBOX\nA/B\nEntw&APw-rfe\n");
}

TEST(SubscriptionsTest, SubscribeKeepsVersionAndBreaksStaleLock) {
  std::string root = MakeTempDir();
  FolderNameOptions slash;
  WriteFile(root + "/subscriptions", "V\t2\n\nINBOX\n");
  // A lock abandoned 3 minutes ago by a crashed process.
  WriteFile(root + "/subscriptions.lock", "junk");
  struct timeval tv[2];
  gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= 180;
  tv[1] = tv[0];
  ASSERT_EQ(utimes((root + "/subscriptions.lock").c_str(), tv), 0);
  auto s = SetSubscribedBlocking(root, "A/B", true, slash, DotlockOptions());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ReadFile(root + "/subscriptions"), "V\t2\n\nINBOX\nA\tB\n");
  s = SetSubscribedBlocking(root, "inbox", false, slash, DotlockOptions());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ReadFile(root + "/subscriptions"), "V\t2\n\nA\tB\n");
}

TEST(SubscriptionsTest, LiveLockTimesOut) {
  std::string root = MakeTempDir();
  WriteFile(root + "/subscriptions.lock", "");
  DotlockOptions opts;
  opts.timeout = absl::Milliseconds(50);
  auto s = SetSubscribedBlocking(root, "A", true, FolderNameOptions(), opts);
  EXPECT_TRUE(absl::IsUnavailable(s.status())) << s.status();
}

}  // namespace
}  // namespace ringmail::storage
