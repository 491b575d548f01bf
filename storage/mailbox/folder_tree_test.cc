#include "storage/mailbox/folder_tree.h"

#include <sys/stat.h>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::Exists;
using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::WriteFile;

const FolderInfo* Find(const std::vector<FolderInfo>& v, std::string_view n) {
  for (const FolderInfo& f : v) {
    if (f.name == n) return &f;
  }
  return nullptr;
}

class FolderTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir();
    MakeMaildir(root_);
  }
  std::string root_;
  FolderNameOptions opts_;
  FolderTreeLimits limits_;
};

TEST_F(FolderTreeTest, CreateListWithSpecialUseAndImpliedParents) {
  auto created = EnsureDefaultFoldersBlocking(root_, opts_);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->size(), 5u);
  EXPECT_TRUE(Exists(root_ + "/.Sent/cur"));
  EXPECT_TRUE(Exists(root_ + "/.Sent/maildirfolder"));
  ASSERT_TRUE(CreateFolderBlocking(root_, "A/B/C", opts_).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(CreateFolderBlocking(root_, "Sent", opts_)));
  mkdir((root_ + "/..DOVECOT-TRASHED").c_str(), 0700);
  auto list = ListFolders(root_, opts_, limits_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].name, "INBOX");
  EXPECT_EQ(Find(*list, "Sent")->special_use, SpecialUse::kSent);
  EXPECT_TRUE(Find(*list, "A")->noselect);
  EXPECT_TRUE(Find(*list, "A")->has_children);
  EXPECT_TRUE(Find(*list, "A/B")->noselect);
  EXPECT_FALSE(Find(*list, "A/B/C")->noselect);
  EXPECT_FALSE(Find(*list, "A/B/C")->has_children);
  EXPECT_EQ(list->size(), 1u + 5 + 3);
}

TEST_F(FolderTreeTest, DeleteFollowsRfc3501) {
  ASSERT_TRUE(CreateFolderBlocking(root_, "A", opts_).ok());
  ASSERT_TRUE(CreateFolderBlocking(root_, "A/B", opts_).ok());
  WriteFile(root_ + "/.A/cur/1.M1.h:2,S", "x");
  EXPECT_FALSE(DeleteFolderBlocking(root_, "INBOX", opts_, limits_).ok());
  // A has a child: its messages go, the name stays as \Noselect.
  ASSERT_TRUE(DeleteFolderBlocking(root_, "A", opts_, limits_).ok());
  EXPECT_FALSE(Exists(root_ + "/.A"));
  auto list = ListFolders(root_, opts_, limits_);
  EXPECT_TRUE(Find(*list, "A")->noselect);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      DeleteFolderBlocking(root_, "A", opts_, limits_)));
  ASSERT_TRUE(DeleteFolderBlocking(root_, "A/B", opts_, limits_).ok());
  EXPECT_TRUE(absl::IsNotFound(DeleteFolderBlocking(root_, "A", opts_, limits_)));
  EXPECT_EQ(ListFolders(root_, opts_, limits_)->size(), 1u);
}

TEST_F(FolderTreeTest, RenameMovesChildren) {
  ASSERT_TRUE(CreateFolderBlocking(root_, "A", opts_).ok());
  ASSERT_TRUE(CreateFolderBlocking(root_, "A/B", opts_).ok());
  ASSERT_TRUE(CreateFolderBlocking(root_, "AB", opts_).ok());
  EXPECT_FALSE(RenameFolderBlocking(root_, "A", "A/X", opts_, limits_).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(
      RenameFolderBlocking(root_, "A", "AB", opts_, limits_)));
  ASSERT_TRUE(RenameFolderBlocking(root_, "A", "Z", opts_, limits_).ok());
  EXPECT_TRUE(Exists(root_ + "/.Z/cur"));
  EXPECT_TRUE(Exists(root_ + "/.Z.B/cur"));
  EXPECT_TRUE(Exists(root_ + "/.AB"));  // not a child of A
  EXPECT_FALSE(Exists(root_ + "/.A"));
  EXPECT_TRUE(absl::IsNotFound(
      RenameFolderBlocking(root_, "A", "Q", opts_, limits_)));
}

TEST_F(FolderTreeTest, RenameInboxMovesMessages) {
  WriteFile(root_ + "/new/1.M1.h", "a");
  WriteFile(root_ + "/cur/2.M1.h:2,S", "b");
  ASSERT_TRUE(CreateFolderBlocking(root_, "INBOX/child", opts_).ok());
  ASSERT_TRUE(RenameFolderBlocking(root_, "INBOX", "Old", opts_, limits_).ok());
  EXPECT_TRUE(Exists(root_ + "/.Old/new/1.M1.h"));
  EXPECT_TRUE(Exists(root_ + "/.Old/cur/2.M1.h:2,S"));
  EXPECT_FALSE(Exists(root_ + "/new/1.M1.h"));
  EXPECT_TRUE(Exists(root_ + "/cur"));
  EXPECT_TRUE(Exists(root_ + "/.INBOX.child"));
}

TEST_F(FolderTreeTest, CreateAsyncThroughFileIo) {
  engine::testing::FakeFileIo io;
  absl::Status result = absl::UnknownError("not called");
  ASSERT_TRUE(CreateFolderAsync(&io, root_, "Projects/X", opts_,
                                [&](absl::Status s) { result = s; })
                  .ok());
  EXPECT_TRUE(absl::IsUnknown(result));  // never synchronous
  io.RunUntilIdle();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_TRUE(Exists(root_ + "/.Projects.X/tmp"));
  EXPECT_TRUE(Exists(root_ + "/.Projects.X/maildirfolder"));
  EXPECT_EQ(io.open_fds(), 0u);
  ASSERT_TRUE(CreateFolderAsync(&io, root_, "Projects/X", opts_,
                                [&](absl::Status s) { result = s; })
                  .ok());
  io.RunUntilIdle();
  EXPECT_TRUE(absl::IsAlreadyExists(result));
  EXPECT_FALSE(CreateFolderAsync(&io, root_, "../x", opts_, nullptr).ok());
  io.Fail(engine::testing::FakeFileIo::Op::kMkdir, ENOSPC, "/cur");
  ASSERT_TRUE(CreateFolderAsync(&io, root_, "Y", opts_,
                                [&](absl::Status s) { result = s; })
                  .ok());
  io.RunUntilIdle();
  EXPECT_TRUE(absl::IsResourceExhausted(result)) << result;
}

}  // namespace
}  // namespace ringmail::storage
