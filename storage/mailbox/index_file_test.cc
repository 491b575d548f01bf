// The ringmail-index format (version 2, migration from 1), mod-sequence
// bookkeeping of FolderIndex, and the owner protocol of index_store.h.
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/index_file.h"
#include "storage/mailbox/index_store.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::Exists;
using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
using R = std::vector<UidRange>;
const R kAll = {{1, UINT32_MAX}};

class ModSeqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir() + "/Maildir";
    MakeMaildir(dir_);
  }
  void Deliver(int n) {
    WriteFile(absl::StrCat(dir_, "/new/", n, ".M1P1.h"), "Subject: x\n\nbody\n");
  }
  ApplyScanResult Sync(FolderIndex& index) {
    auto r = SyncFolderBlocking(dir_, index, kNow, limits_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyScanResult();
  }
  void Rename(const std::string& from, const std::string& to) {
    ASSERT_EQ(rename((dir_ + "/" + from).c_str(), (dir_ + "/" + to).c_str()), 0);
  }
  uint64_t ModSeqOf(const FolderIndex& index, uint32_t uid) {
    auto pos = index.PositionOfUid(uid);
    return pos ? index.Entry(*pos).modseq : 0;
  }
  std::string dir_;
  SyncLimits limits_;
};

TEST_F(ModSeqTest, EveryChangeTakesTheNextModSeq) {
  FolderIndex index;
  EXPECT_EQ(index.highest_modseq(), 1u);
  for (int i = 1; i <= 4; ++i) Deliver(i);
  Sync(index);
  // New messages in UID order.
  EXPECT_EQ(ModSeqOf(index, 1), 2u);
  EXPECT_EQ(ModSeqOf(index, 4), 5u);
  EXPECT_EQ(index.highest_modseq(), 5u);
  // Our own flag change (ApplyRename) and a no-op rename.
  Rename("new/2.M1P1.h", "cur/2.M1P1.h:2,S");
  ASSERT_TRUE(index.ApplyRename(2, "2.M1P1.h:2,S", true));
  EXPECT_EQ(ModSeqOf(index, 2), 6u);
  ASSERT_TRUE(index.ApplyRename(2, "2.M1P1.h:2,S", true));
  EXPECT_EQ(index.highest_modseq(), 6u);
  // Another program: flags changed by renaming, a file deleted.
  Rename("new/3.M1P1.h", "cur/3.M1P1.h:2,F");
  Rename("new/1.M1P1.h", "cur/1.M1P1.h:2,");  // moved, flags unchanged
  ASSERT_EQ(unlink((dir_ + "/new/4.M1P1.h").c_str()), 0);
  Sync(index);
  EXPECT_EQ(ModSeqOf(index, 1), 2u);
  EXPECT_EQ(ModSeqOf(index, 3), 7u);
  EXPECT_EQ(index.highest_modseq(), 8u);  // 8: the expunge of UID 4
  // Our own expunge.
  ASSERT_TRUE(index.Remove(1));
  EXPECT_EQ(index.highest_modseq(), 9u);
  EXPECT_EQ(index.ExpungedSince(7, kAll).uids, (R{{1, 1}, {4, 4}}));
  EXPECT_EQ(index.ExpungedSince(8, kAll).uids, (R{{1, 1}}));
  EXPECT_EQ(index.ExpungedSince(9, kAll).uids, R{});
  EXPECT_TRUE(index.ExpungedSince(0, kAll).exact);
  EXPECT_EQ(index.ExpungedSince(0, R{{2, 4}}).uids, (R{{4, 4}}));
}

TEST_F(ModSeqTest, FloorMakesOlderRequestsGetEveryMissingUid) {
  FolderIndex index;
  for (int i = 1; i <= 6; ++i) Deliver(i);
  Sync(index);
  ASSERT_TRUE(index.Remove(2));
  ASSERT_TRUE(index.Remove(5));
  const uint64_t before = index.highest_modseq();
  index.RaiseModSeqFloor(1000);
  EXPECT_EQ(index.highest_modseq(), 1000u);
  FolderIndex::Vanished v = index.ExpungedSince(before, kAll);
  EXPECT_FALSE(v.exact);
  EXPECT_EQ(v.uids, (R{{2, 2}, {5, 5}}));
  EXPECT_TRUE(index.ExpungedSince(1000, kAll).exact);
  EXPECT_EQ(index.ExpungedSince(1000, kAll).uids, R{});
  // A floor below the counter keeps the counter.
  index.RaiseModSeqFloor(10);
  EXPECT_EQ(index.highest_modseq(), 1000u);
}

TEST_F(ModSeqTest, FormatRoundTrip) {
  FolderIndex index;
  for (int i = 1; i <= 5; ++i) Deliver(i);
  Sync(index);
  ASSERT_TRUE(index.ApplyRename(3, "3.M1P1.h:2,RS", true));
  ASSERT_TRUE(index.Remove(1));
  ASSERT_TRUE(index.Remove(2));
  ASSERT_TRUE(index.Remove(5));
  const std::string token(32, 'a');
  std::string bytes = index.Serialize(token);
  EXPECT_EQ(bytes.substr(0, 8), "RMINDEX3");
  absl::StatusOr<FolderIndex> back = FolderIndex::Deserialize(bytes, 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->close_token(), token);
  EXPECT_FALSE(back->migrated());
  EXPECT_EQ(back->highest_modseq(), 10u);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ(back->Entry(0).modseq, 7u);  // UID 3
  EXPECT_EQ(back->Entry(0).filename, "3.M1P1.h:2,RS");
  EXPECT_EQ(back->Entry(0).flags, kFlagSeen | kFlagAnswered);
  EXPECT_TRUE(back->Entry(0).in_cur);
  EXPECT_EQ(back->Entry(1).modseq, 5u);  // UID 4
  EXPECT_EQ(back->Entry(1).filename, "4.M1P1.h");
  EXPECT_EQ(back->Entry(1).size, index.Entry(1).size);
  EXPECT_EQ(back->Entry(1).internal_date, index.Entry(1).internal_date);
  EXPECT_EQ(back->expunge_log().entries(), index.expunge_log().entries());
  EXPECT_EQ(back->expunge_log().complete_from(), index.expunge_log().complete_from());
  EXPECT_EQ(back->Serialize(token), bytes);
  // Without a token.
  EXPECT_EQ(FolderIndex::Deserialize(index.Serialize(), 100)->close_token(), "");
  // \Recent is session state: not written.
  EXPECT_FALSE(back->Entry(0).recent);
}

TEST_F(ModSeqTest, RebaseMovesColdFieldsToTheFile) {
  FolderIndex index;
  for (int i = 1; i <= 4; ++i) Deliver(i);
  Sync(index);
  EXPECT_EQ(index.extras_count(), 4u);
  auto image = SaveIndexFileBlocking(dir_, index);
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_NE(*image, nullptr);
  // A change after the image was taken: the image is stale, not adopted.
  const uint64_t taken = index.generation();
  ASSERT_TRUE(index.ApplyRename(2, "2.M1P1.h:2,S", true));
  EXPECT_FALSE(index.Rebase(*image, taken));
  auto again = SaveIndexFileBlocking(dir_, index);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(index.Rebase(*again, index.generation()));
  EXPECT_EQ(index.extras_count(), 0u);
  EXPECT_EQ(index.Entry(1).filename, "2.M1P1.h:2,S");
  EXPECT_EQ(index.Entry(3).filename, "4.M1P1.h");
  // Changes after the rebase go to the extras again.
  ASSERT_TRUE(index.ApplyRename(4, "4.M1P1.h:2,F", true));
  EXPECT_EQ(index.extras_count(), 1u);
  EXPECT_EQ(index.Entry(3).filename, "4.M1P1.h:2,F");
  EXPECT_EQ(index.Entry(2).filename, "3.M1P1.h");
}

TEST(IndexFormat, RejectsDamagedBinaryFiles) {
  FolderIndex index;
  MessageEntry e;
  e.uid = 3;
  e.modseq = 1;
  e.size = 17;
  e.filename = "3.M1P1.h";
  index.AppendLoaded(e);
  index.SetLoadedHeader(1, 9, 5, "", false);
  const std::string good = index.Serialize();
  ASSERT_TRUE(FolderIndex::Deserialize(good, 10).ok());
  EXPECT_TRUE(absl::IsDataLoss(FolderIndex::Deserialize(good, 0).status()));  // > max
  EXPECT_TRUE(absl::IsDataLoss(FolderIndex::Deserialize(good.substr(0, 100), 10).status()));
  for (size_t at : {size_t{0}, size_t{20}, size_t{300}, size_t{512}, good.size() - 2}) {
    std::string bad = good;
    bad[at] ^= 0x10;
    EXPECT_TRUE(absl::IsDataLoss(FolderIndex::Deserialize(bad, 10).status())) << at;
  }
}

// Recomputes the checksum line of a hand-edited file.
std::string WithChecksum(const std::string& body) {
  uint64_t h = 1469598103934665603ull;
  for (char c : body) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  char sum[32];
  snprintf(sum, sizeof(sum), "X%016llx\n", static_cast<unsigned long long>(h));
  return body + sum;
}

TEST(IndexFormat, MigratesVersion1) {
  std::string v1 = WithChecksum(
      "RINGMAIL-INDEX 1 V123 N9 C2\n"
      "3 10 0 1500000000 17 - c 3.M1P1.h:2,S\n"
      "8 0 1 1500000001 20 22 n 8.M1P1.h\n");
  absl::StatusOr<FolderIndex> idx = FolderIndex::Deserialize(v1, 100);
  ASSERT_TRUE(idx.ok()) << idx.status();
  EXPECT_TRUE(idx->migrated());
  EXPECT_EQ(idx->highest_modseq(), 1u);
  EXPECT_EQ(idx->uid_validity(), 123u);
  ASSERT_EQ(idx->size(), 2u);
  EXPECT_EQ(idx->Entry(0).modseq, 1u);
  EXPECT_EQ(idx->Entry(0).flags, kFlagSeen);
  EXPECT_EQ(idx->Entry(0).filename, "3.M1P1.h:2,S");
  EXPECT_EQ(idx->Entry(1).vsize, 22u);
  EXPECT_TRUE(idx->expunge_log().entries().empty());
  // Written back as version 3.
  std::string v3 = idx->Serialize();
  EXPECT_EQ(v3.substr(0, 8), "RMINDEX3");
  absl::StatusOr<FolderIndex> back = FolderIndex::Deserialize(v3, 100);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_FALSE(back->migrated());
  EXPECT_EQ(back->Entry(1).filename, "8.M1P1.h");
  EXPECT_EQ(back->Entry(1).internal_date, 1500000001);
}

TEST(IndexFormat, RejectsBadModSeqData) {
  const std::string head = "RINGMAIL-INDEX 2 V1 N9 C1 H5 F0 E1 K-\n";
  const std::string msg = "3 0 0 1 17 - 4 c 3.M1P1.h\n";
  EXPECT_TRUE(FolderIndex::Deserialize(WithChecksum(head + msg + "E1:2 5\n"), 10).ok());
  for (const std::string& bad : {
           WithChecksum(head + "3 0 0 1 17 - 6 c 3.M1P1.h\nE1:2 5\n"),  // > H
           WithChecksum(head + "3 0 0 1 17 - 0 c 3.M1P1.h\nE1:2 5\n"),  // 0
           WithChecksum(head + msg + "E1:2 6\n"),                       // > H
           WithChecksum(head + msg + "E2:1 5\n"),                       // inverted
           WithChecksum(head + msg + "E1:9 5\n"),                       // >= N
           WithChecksum(head + msg),                                    // count
           WithChecksum(head + msg + "E1:2 5\nE4:4 5\n"),               // count
           WithChecksum("RINGMAIL-INDEX 2 V1 N9 C1 H5 F6 E0 K-\n" + msg),  // F > H
           WithChecksum("RINGMAIL-INDEX 2 V1 N9 C1 H5 F0 E0 Kxyz\n" + msg),
           WithChecksum("RINGMAIL-INDEX 2 V1 N9 C1 H0 F0 E0 K-\n" + msg),
           WithChecksum("RINGMAIL-INDEX 3 V1 N9 C1 H5 F0 E0 K-\n" + msg),
           WithChecksum("RINGMAIL-INDEX 2 V1 N9 C1 H5 F0 E0 K- extra\n" + msg),
       }) {
    EXPECT_TRUE(absl::IsDataLoss(FolderIndex::Deserialize(bad, 10).status())) << bad;
  }
}

class IndexStoreTest : public ModSeqTest {
 protected:
  std::string Write(const OpenedIndex& o, const std::string& owner, const std::string& close,
                    const FolderIndex& index) {
    auto r = WriteOwnedIndexBlocking(dir_, o.persistent, owner, close, index.SaveImage());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && *r ? "written" : "dropped";
  }
};

TEST_F(IndexStoreTest, OpeningWritesNothingAndACleanCloseIsTrusted) {
  for (int i = 1; i <= 3; ++i) Deliver(i);
  // First open: nothing saved yet, an empty owner file.
  OpenedIndex a = OpenIndexBlocking(dir_, limits_);
  EXPECT_FALSE(a.index.has_value());
  EXPECT_FALSE(a.clean);
  EXPECT_TRUE(a.persistent);
  EXPECT_EQ(a.token, "");
  EXPECT_EQ(ReadFile(dir_ + "/ringmail-index.owner"), "");
  FolderIndex index;
  Sync(index);
  // Before its first change a lifetime claims the folder: a new token,
  // durable.
  const std::string t1(32, '1');
  std::string err;
  ASSERT_EQ(ClaimIndexBlocking(dir_, a.token, t1, &err), ClaimResult::kClaimed) << err;
  EXPECT_EQ(ReadFile(dir_ + "/ringmail-index.owner"), t1 + "\n");
  EXPECT_EQ(ClaimIndexBlocking(dir_, a.token, t1, &err), ClaimResult::kClaimed);  // again
  // An intermediate save (no close token), then the closing one.
  EXPECT_EQ(Write(a, t1, "", index), "written");
  EXPECT_FALSE(OpenIndexBlocking(dir_, limits_).clean);  // a crash now: unclean
  EXPECT_EQ(Write(a, t1, t1, index), "written");

  OpenedIndex b = OpenIndexBlocking(dir_, limits_);
  ASSERT_TRUE(b.index.has_value());
  EXPECT_TRUE(b.clean);
  EXPECT_EQ(b.token, t1);
  EXPECT_EQ(b.index->highest_modseq(), index.highest_modseq());
  // b changes nothing: it never claims; its saves keep the token it found,
  // and the next open is clean again.
  EXPECT_EQ(Write(b, b.token, b.token, *b.index), "written");
  EXPECT_EQ(ReadFile(dir_ + "/ringmail-index.owner"), t1 + "\n");
  OpenedIndex c = OpenIndexBlocking(dir_, limits_);
  EXPECT_TRUE(c.clean);
  // c claims, changes and "crashes" (never writes its close): unclean.
  const std::string t2(32, '2');
  ASSERT_EQ(ClaimIndexBlocking(dir_, c.token, t2, &err), ClaimResult::kClaimed);
  OpenedIndex d = OpenIndexBlocking(dir_, limits_);
  ASSERT_TRUE(d.index.has_value());
  EXPECT_FALSE(d.clean);
}

TEST_F(IndexStoreTest, LateWritesOfAnOldOwnerAreDropped) {
  Deliver(1);
  FolderIndex index;
  Sync(index);
  OpenedIndex old_owner = OpenIndexBlocking(dir_, limits_);
  OpenedIndex new_owner = OpenIndexBlocking(dir_, limits_);
  std::string err;
  const std::string t_old(32, 'a'), t_new(32, 'b');
  ASSERT_EQ(ClaimIndexBlocking(dir_, new_owner.token, t_new, &err), ClaimResult::kClaimed);
  // The old owner cannot claim any more: it must raise its floor.
  EXPECT_EQ(ClaimIndexBlocking(dir_, old_owner.token, t_old, &err), ClaimResult::kLost);
  EXPECT_EQ(Write(new_owner, t_new, t_new, index), "written");
  const std::string saved = ReadFile(dir_ + "/ringmail-index");
  // The old owner's writes arrive late: none of them lands.
  EXPECT_EQ(Write(old_owner, old_owner.token, old_owner.token, index), "dropped");
  EXPECT_EQ(Write(old_owner, t_old, t_old, index), "dropped");
  EXPECT_EQ(ReadFile(dir_ + "/ringmail-index"), saved);
  EXPECT_EQ(ReadFile(dir_ + "/ringmail-index.owner"), t_new + "\n");
  EXPECT_TRUE(OpenIndexBlocking(dir_, limits_).clean);
}

TEST_F(IndexStoreTest, MigratedAndMissingFiles) {
  WriteFile(dir_ + "/ringmail-index",
            WithChecksum("RINGMAIL-INDEX 1 V7 N2 C1\n1 0 0 1 17 - n 1.M1P1.h\n"));
  OpenedIndex a = OpenIndexBlocking(dir_, limits_);
  ASSERT_TRUE(a.index.has_value());
  EXPECT_TRUE(a.clean);  // version 1: no client saw a modseq
  // A corrupt file is reported and rebuilt.
  WriteFile(dir_ + "/ringmail-index", "garbage\n");
  OpenedIndex b = OpenIndexBlocking(dir_, limits_);
  EXPECT_FALSE(b.index.has_value());
  EXPECT_NE(b.warning.find("corrupted"), std::string::npos) << b.warning;
  // A folder that does not exist: no owner file appears.
  OpenedIndex c = OpenIndexBlocking(dir_ + "/nope", limits_);
  EXPECT_FALSE(c.persistent);
  EXPECT_FALSE(Exists(dir_ + "/nope"));
}

}  // namespace
}  // namespace ringmail::storage
