// ScanFolder's stamps (dir_stamp.h): a directory whose recorded stamp is
// settled and unchanged is not listed; the same-second rule; the uidlist
// check. Directory mtimes are set with utimensat and the scan's clock is a
// fake one, so nothing here depends on the time the test runs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

constexpr int64_t kT0 = 1700000000;

absl::Time At(int64_t secs) { return absl::FromUnixSeconds(secs); }

class FolderSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir() + "/Maildir";
    MakeMaildir(dir_);
  }
  // Sets <dir_>/<sub>'s mtime to exactly `sec`.`nsec`.
  void SetMtime(const std::string& sub, int64_t sec, long nsec = 0) {
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir_ + "/" + sub).c_str(), ts, 0), 0);
  }
  void SetDirs(int64_t sec) {
    SetMtime("new", sec);
    SetMtime("cur", sec);
  }
  void Deliver(const std::string& rel) { WriteFile(dir_ + "/" + rel, "Subject: x\n\nbody\n"); }
  // One sync at fake time `now`; returns what the scan listed ("", "new",
  // "cur" or "new+cur").
  std::string SyncAt(FolderIndex& index, int64_t now) {
    absl::StatusOr<FolderScan> scan = ScanFolder(dir_, index.hints(), At(now), limits_);
    EXPECT_TRUE(scan.ok()) << scan.status();
    if (!scan.ok()) return "error";
    std::string listed = scan->listed_new ? (scan->listed_cur ? "new+cur" : "new")
                                          : (scan->listed_cur ? "cur" : "");
    ApplyScanResult applied = index.ApplyScan(*scan);
    if (!applied.pending.empty() || index.uid_validity() == 0) {
      auto resolved = ResolveNewMessagesBlocking(dir_, std::move(applied.pending),
                                                 index.uid_validity(), At(now), limits_);
      EXPECT_TRUE(resolved.ok()) << resolved.status();
      if (resolved.ok()) {
        EXPECT_TRUE(index.ApplyResolved(*resolved).ok());
        index.CommitStamps(*scan, &*resolved);
        return listed;
      }
    }
    index.CommitStamps(*scan);
    return listed;
  }
  std::string dir_;
  SyncLimits limits_;
};

TEST_F(FolderSyncTest, SettledUnchangedDirectoriesAreNotListed) {
  Deliver("new/1.M1P1.h");
  Deliver("cur/2.M1P1.h:2,S");
  SetDirs(kT0);
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0 + 5), "new+cur");  // nothing recorded yet
  ASSERT_EQ(index.size(), 2u);
  EXPECT_TRUE(index.new_stamp().Settled());
  EXPECT_TRUE(index.cur_stamp().Settled());
  EXPECT_TRUE(index.uidlist_stamp().recorded());
  // Nothing changed: neither directory is listed, the uidlist not read.
  const uint64_t parses = index.parse_count();
  absl::StatusOr<FolderScan> scan = ScanFolder(dir_, index.hints(), At(kT0 + 6), limits_);
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->listed_new);
  EXPECT_FALSE(scan->listed_cur);
  EXPECT_TRUE(scan->files.empty());
  EXPECT_EQ(scan->uidlist, UidlistState::kUnchanged);
  EXPECT_EQ(SyncAt(index, kT0 + 6), "");
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.parse_count(), parses);
}

TEST_F(FolderSyncTest, AChangeInTheSameSecondAsTheListingIsNotMissed) {
  Deliver("new/1.M1P1.h");
  SetDirs(kT0);
  FolderIndex index;
  // Listed in the very second new/ last changed: the stamp is not settled.
  EXPECT_EQ(SyncAt(index, kT0), "new+cur");
  EXPECT_FALSE(index.new_stamp().Settled());
  EXPECT_EQ(index.size(), 1u);
  // Another delivery lands in the same tick: new/'s mtime does not move
  // (restored to exactly the recorded value, nanoseconds included).
  Deliver("new/2.M1P1.h");
  SetMtime("new", kT0);
  // A second later the stamp still matches, but an unsettled stamp proves
  // nothing: new/ is listed again and the message is found (cur/ too: its
  // stamp was taken in its mtime's second as well).
  EXPECT_EQ(SyncAt(index, kT0 + 1), "new+cur");
  EXPECT_EQ(index.size(), 2u);
  // That listing ran a second after the mtime: settled, so from now on an
  // unchanged stamp skips the listing.
  EXPECT_TRUE(index.new_stamp().Settled());
  EXPECT_EQ(SyncAt(index, kT0 + 2), "");
  // A change with a later mtime is seen whatever the second.
  Deliver("new/3.M1P1.h");
  SetMtime("new", kT0 + 2, 5);
  EXPECT_EQ(SyncAt(index, kT0 + 2), "new");
  EXPECT_EQ(index.size(), 3u);
}

TEST_F(FolderSyncTest, AnMtimeAheadOfTheClockIsNotSettled) {
  // Clock skew (or a directory touched "in the future"): never trusted.
  Deliver("cur/1.M1P1.h:2,");
  SetDirs(kT0 + 100);
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0), "new+cur");
  EXPECT_EQ(SyncAt(index, kT0 + 1), "new+cur");
  EXPECT_EQ(SyncAt(index, kT0 + 101), "new+cur");  // listed after the mtime
  EXPECT_EQ(SyncAt(index, kT0 + 102), "");
}

TEST_F(FolderSyncTest, OnlyTheChangedDirectoryIsListed) {
  Deliver("cur/1.M1P1.h:2,S");
  Deliver("cur/2.M1P1.h:2,");
  SetDirs(kT0);
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0 + 5), "new+cur");
  // A delivery: new/ changes, cur/ does not.
  Deliver("new/3.M1P1.h");
  SetMtime("new", kT0 + 10);
  EXPECT_EQ(SyncAt(index, kT0 + 20), "new");
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index.Entry(2).filename, "3.M1P1.h");
  // Another program marks UID 2 \Flagged (a rename in cur/) and deletes
  // UID 1: cur/ changes, new/ does not.
  ASSERT_EQ(rename((dir_ + "/cur/2.M1P1.h:2,").c_str(), (dir_ + "/cur/2.M1P1.h:2,F").c_str()),
            0);
  ASSERT_EQ(unlink((dir_ + "/cur/1.M1P1.h:2,S").c_str()), 0);
  SetMtime("cur", kT0 + 30);
  absl::StatusOr<FolderScan> scan = ScanFolder(dir_, index.hints(), At(kT0 + 40), limits_);
  ASSERT_TRUE(scan.ok());
  EXPECT_FALSE(scan->listed_new);
  ASSERT_TRUE(scan->listed_cur);
  ApplyScanResult r = index.ApplyScan(*scan);
  EXPECT_EQ(r.expunged_uids, std::vector<uint32_t>{1});
  EXPECT_EQ(r.flag_changed_uids, std::vector<uint32_t>{2});
  EXPECT_TRUE(r.pending.empty());
  index.CommitStamps(*scan);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Entry(0).flags, kFlagFlagged);
  EXPECT_FALSE(index.Entry(1).in_cur);  // UID 3, in new/: untouched
}

TEST_F(FolderSyncTest, ANewUidValidityListsEverythingAgain) {
  Deliver("cur/1.M1P1.h:2,");
  SetDirs(kT0);
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0 + 5), "new+cur");
  const uint32_t old_validity = index.uid_validity();
  // Another program recreates the uidlist (new UIDVALIDITY); the
  // directories keep their settled stamps.
  WriteFile(dir_ + "/dovecot-uidlist", "3 V42 N8 Gabc\n7 :1.M1P1.h:2,\n");
  absl::StatusOr<FolderScan> scan = ScanFolder(dir_, index.hints(), At(kT0 + 6), limits_);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->uidlist, UidlistState::kRead);
  EXPECT_EQ(scan->uid_validity, 42u);
  EXPECT_TRUE(scan->listed_new && scan->listed_cur);
  ApplyScanResult r = index.ApplyScan(*scan);
  EXPECT_TRUE(r.uid_validity_changed);
  EXPECT_NE(old_validity, 42u);
  ASSERT_EQ(r.pending.size(), 1u);
  auto resolved = ResolveNewMessagesBlocking(dir_, std::move(r.pending), index.uid_validity(),
                                             At(kT0 + 6), limits_);
  ASSERT_TRUE(resolved.ok());
  ASSERT_TRUE(index.ApplyResolved(*resolved).ok());
  index.CommitStamps(*scan, &*resolved);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index.uid(0), 7u);
  // A uidlist that only grew (another program gave UIDs to new mail)
  // raises UIDNEXT without a listing.
  WriteFile(dir_ + "/dovecot-uidlist", "3 V42 N20 Gabc\n7 :1.M1P1.h:2,\n");
  EXPECT_EQ(SyncAt(index, kT0 + 7), "");
  EXPECT_EQ(index.next_uid(), 20u);
}

TEST_F(FolderSyncTest, AKeyInNewAndCurIsOneMessage) {
  // Listed mid-rename (new/ -> cur/): one message, the cur/ name. On a
  // first open (every name unknown) and with messages known already.
  Deliver("new/5.M1P1.h");
  Deliver("cur/5.M1P1.h:2,S");
  Deliver("cur/6.M1P1.h:2,");
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0), "new+cur");
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Entry(0).filename, "5.M1P1.h:2,S");
  EXPECT_TRUE(index.Entry(0).in_cur);
  Deliver("new/7.M1P1.h");
  Deliver("cur/7.M1P1.h:2,F");
  EXPECT_EQ(SyncAt(index, kT0 + 1), "new+cur");
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index.Entry(2).filename, "7.M1P1.h:2,F");
}

TEST_F(FolderSyncTest, StampsSurviveTheIndexFile) {
  for (int i = 1; i <= 3; ++i) Deliver(absl::StrCat("cur/", i, ".M1P1.h:2,"));
  SetDirs(kT0);
  FolderIndex index;
  EXPECT_EQ(SyncAt(index, kT0 + 5), "new+cur");
  ASSERT_TRUE(SaveIndexFileBlocking(dir_, index).ok());
  // A restart: the loaded index lists nothing and stats no message.
  absl::StatusOr<FolderIndex> loaded = LoadIndexFileBlocking(dir_, limits_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->new_stamp(), index.new_stamp());
  EXPECT_EQ(loaded->cur_stamp(), index.cur_stamp());
  EXPECT_EQ(loaded->uidlist_stamp(), index.uidlist_stamp());
  EXPECT_EQ(SyncAt(*loaded, kT0 + 100), "");
  EXPECT_EQ(loaded->size(), 3u);
  EXPECT_EQ(loaded->parse_count(), 0u);
  // While it was down, another program delivered and renamed: its stamps
  // no longer match.
  Deliver("new/4.M1P1.h");
  ASSERT_EQ(rename((dir_ + "/cur/1.M1P1.h:2,").c_str(), (dir_ + "/cur/1.M1P1.h:2,S").c_str()),
            0);
  absl::StatusOr<FolderIndex> again = LoadIndexFileBlocking(dir_, limits_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(SyncAt(*again, kT0 + 100), "new+cur");
  ASSERT_EQ(again->size(), 4u);
  EXPECT_EQ(again->Entry(0).flags, kFlagSeen);
}

}  // namespace
}  // namespace ringmail::storage
