#include "storage/mailbox/message_ops.h"

#include <sys/stat.h>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using engine::testing::FakeFileIo;
using testing::Exists;
using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::WriteFile;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

TEST(MessageOpsTest, FlagsExpungeCopyAppend) {
  std::string root = MakeTempDir();
  std::string inbox = root + "/Maildir", sent = inbox + "/.Sent";
  MakeMaildir(inbox);
  MakeMaildir(sent);
  WriteFile(inbox + "/new/1.M1P1.h,S=5,W=6", "abcd\n");
  WriteFile(inbox + "/new/2.M1P1.h", "x\n");
  FolderIndex index;
  ASSERT_TRUE(SyncFolderBlocking(inbox, index, kNow, SyncLimits()).ok());
  FakeFileIo io;

  // STORE +FLAGS (\Seen $kw0): new/ -> cur/ with info.
  std::optional<FileMove> mv =
      PlanFlagChange(inbox, index.Entry(0), kFlagSeen, 1);
  ASSERT_TRUE(mv.has_value());
  EXPECT_EQ(mv->new_filename, "1.M1P1.h,S=5,W=6:2,Sa");
  int rc = 1;
  io.RenameAt(AT_FDCWD, mv->from, AT_FDCWD, mv->to, [&](int r) { rc = r; });
  io.RunUntilIdle();
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(index.ApplyRename(1, mv->new_filename, true));
  EXPECT_FALSE(PlanFlagChange(inbox, index.Entry(0), kFlagSeen, 1).has_value());

  // COPY to Sent: link keeps size fields and flags; UID at once.
  absl::StatusOr<FileMove> cp = PlanCopy(inbox, index.Entry(0), sent, "9.M9P9.h");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->new_filename, "9.M9P9.h,S=5,W=6:2,Sa");
  io.LinkAt(AT_FDCWD, cp->from, AT_FDCWD, cp->to, 0, [&](int r) { rc = r; });
  io.RunUntilIdle();
  ASSERT_EQ(rc, 0);
  auto copied = ResolveNewMessagesBlocking(
      sent, {{cp->new_filename, true, 0}}, 0, kNow, SyncLimits());
  ASSERT_TRUE(copied.ok()) << copied.status();
  ASSERT_EQ(copied->files.size(), 1u);
  EXPECT_EQ(copied->files[0].uid, 1u);  // COPYUID
  FolderIndex sent_index;
  ASSERT_TRUE(SyncFolderBlocking(sent, sent_index, kNow, SyncLimits()).ok());
  EXPECT_EQ(sent_index.Entry(0).uid, 1u);  // the next sync agrees

  // EXPUNGE.
  io.UnlinkAt(AT_FDCWD, ExpungePath(inbox, index.Entry(1)), 0,
              [&](int r) { rc = r; });
  io.RunUntilIdle();
  ASSERT_EQ(rc, 0);
  ASSERT_TRUE(index.Remove(2));
  EXPECT_EQ(index.size(), 1u);

  // APPEND with an internal date; set_mtime runs inline here.
  SetMtimeFn set_mtime = [](std::string path, int64_t t,
                            absl::AnyInvocable<void(int)> done) {
    done(SetMtimeBlocking(path, t));
  };
  AppendRequest req;
  req.folder = sent;
  req.base = "10.M1P1Q0_1.host";
  req.data = std::make_shared<std::string>("Subject: hi\n\nbody\n");
  req.vsize = req.data->size() + 3;
  req.flags = kFlagSeen | kFlagDraft;
  req.internal_date = 1234567890;
  io.SetMaxWriteBytes(5);  // exercise short writes
  absl::StatusOr<std::string> appended = absl::UnknownError("pending");
  AppendMessageAsync(&io, &set_mtime, req,
                     [&](absl::StatusOr<std::string> r) { appended = r; });
  io.RunUntilIdle();
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(*appended, "10.M1P1Q0_1.host,S=18,W=21:2,DS");
  struct stat st;
  ASSERT_EQ(stat((sent + "/cur/" + *appended).c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1234567890);
  EXPECT_LT(io.IndexOf(FakeFileIo::Op::kFsync, "/tmp/"),
            io.IndexOf(FakeFileIo::Op::kRename, "/tmp/"));
  EXPECT_EQ(io.open_fds(), 0u);
  ASSERT_TRUE(SyncFolderBlocking(sent, sent_index, kNow, SyncLimits()).ok());
  EXPECT_EQ(sent_index.Entry(1).uid, 2u);
  EXPECT_EQ(sent_index.Entry(1).internal_date, 1234567890);

  // A failed write leaves nothing behind.
  io.FailNext(FakeFileIo::Op::kWrite, ENOSPC);
  req.base = "11.M1P1Q0_2.host";
  AppendMessageAsync(&io, &set_mtime, req,
                     [&](absl::StatusOr<std::string> r) { appended = r; });
  io.RunUntilIdle();
  EXPECT_TRUE(absl::IsResourceExhausted(appended.status()));
  EXPECT_FALSE(Exists(sent + "/tmp/11.M1P1Q0_2.host"));
  EXPECT_EQ(io.open_fds(), 0u);
}

}  // namespace
}  // namespace ringmail::storage
