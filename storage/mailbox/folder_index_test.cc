#include "storage/mailbox/folder_index.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/index_file.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

void Deliver(const std::string& path, int64_t mtime) {
  WriteFile(path, "Subject: x\n\nbody\n");
  struct timeval tv[2] = {{mtime, 0}, {mtime, 0}};
  ASSERT_EQ(utimes(path.c_str(), tv), 0);
}

class FolderIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir() + "/Maildir";
    MakeMaildir(dir_);
  }
  ApplyScanResult Sync(FolderIndex& index) {
    auto r = SyncFolderBlocking(dir_, index, kNow, limits_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyScanResult();
  }
  std::string dir_;
  SyncLimits limits_;
};

TEST_F(FolderIndexTest, ForeignFilesGetUidsInTimeOrder) {
  // Delivered by procmail/mutt/Dovecot, out of readdir order.
  Deliver(dir_ + "/new/1600000002.M5P1.h", 1600000002);
  Deliver(dir_ + "/new/1600000001.M900P1.h", 1600000001);
  Deliver(dir_ + "/cur/1600000001.M10P1.h,S=17,W=20:2,SFa", 1500000000);
  FolderIndex index;
  Sync(index);
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index.uid_validity(), 1700000000u);
  EXPECT_EQ(index.Entry(0).filename, "1600000001.M10P1.h,S=17,W=20:2,SFa");
  EXPECT_EQ(index.Entry(0).uid, 1u);
  EXPECT_EQ(index.Entry(0).flags, kFlagSeen | kFlagFlagged);
  EXPECT_EQ(index.Entry(0).keywords, 1u);
  EXPECT_EQ(index.Entry(0).vsize, 20u);
  EXPECT_EQ(index.Entry(0).internal_date, 1500000000);
  EXPECT_TRUE(index.Entry(0).recent);
  EXPECT_EQ(index.Entry(1).filename, "1600000001.M900P1.h");
  EXPECT_EQ(index.Entry(1).size, 17u);  // from stat
  EXPECT_EQ(index.Entry(2).uid, 3u);
  EXPECT_EQ(index.next_uid(), 4u);
  std::string uidlist = ReadFile(dir_ + "/dovecot-uidlist");
  EXPECT_EQ(uidlist.substr(0, 18), "3 V1700000000 N4 G");
  EXPECT_NE(uidlist.find("\n2 :1600000001.M900P1.h\n"), std::string::npos);
}

TEST_F(FolderIndexTest, ExpungesRenamesAndNoReparse) {
  Deliver(dir_ + "/new/1.M1P1.h", 1);
  Deliver(dir_ + "/new/2.M1P1.h", 2);
  Deliver(dir_ + "/new/3.M1P1.h", 3);
  FolderIndex index;
  Sync(index);
  ASSERT_EQ(index.size(), 3u);
  uint64_t parses = index.parse_count();
  ApplyScanResult again = Sync(index);
  EXPECT_EQ(index.parse_count(), parses);  // nothing re-parsed
  EXPECT_TRUE(again.expunged_uids.empty());
  // Another client: marks 2 seen (new -> cur), expunges 1 and 3.
  ASSERT_EQ(rename((dir_ + "/new/2.M1P1.h").c_str(),
                   (dir_ + "/cur/2.M1P1.h:2,S").c_str()), 0);
  unlink((dir_ + "/new/1.M1P1.h").c_str());
  unlink((dir_ + "/new/3.M1P1.h").c_str());
  Deliver(dir_ + "/new/4.M1P1.h", 4);
  ApplyScanResult r = Sync(index);
  EXPECT_EQ(r.expunged_uids, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(r.expunged_seqs, (std::vector<uint32_t>{3, 1}));
  EXPECT_EQ(r.flag_changed_uids, (std::vector<uint32_t>{2}));
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Entry(0).flags, kFlagSeen);
  EXPECT_TRUE(index.Entry(0).in_cur);
  EXPECT_EQ(index.Entry(1).uid, 4u);
  EXPECT_EQ(index.parse_count(), parses + 2);  // renamed one + new one
}

TEST_F(FolderIndexTest, KeepsUidsAssignedByDovecot) {
  Deliver(dir_ + "/cur/1.M1P1.h:2,S", 1);
  Deliver(dir_ + "/new/2.M1P1.h", 2);
  WriteFile(dir_ + "/dovecot-uidlist",
            "3 V123 N50 Gabc\n40 :1.M1P1.h:2,\n41 W99 :2.M1P1.h\n");
  FolderIndex index;
  Sync(index);
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index.uid_validity(), 123u);
  EXPECT_EQ(index.Entry(0).uid, 40u);
  EXPECT_EQ(index.Entry(1).uid, 41u);
  EXPECT_FALSE(index.Entry(1).recent);
  EXPECT_EQ(index.next_uid(), 50u);
  Deliver(dir_ + "/new/3.M1P1.h", 3);
  Sync(index);
  EXPECT_EQ(index.Entry(2).uid, 50u);
  EXPECT_EQ(ReadFile(dir_ + "/dovecot-uidlist"),
            "3 V123 N51 Gabc\n40 :1.M1P1.h:2,\n41 W99 :2.M1P1.h\n"
            "50 :3.M1P1.h\n");
}

TEST_F(FolderIndexTest, IndexFilePersistsAndCorruptionRebuilds) {
  for (int i = 1; i <= 5; ++i) {
    Deliver(dir_ + "/new/" + std::to_string(i) + ".M1P1.h", i);
  }
  std::vector<std::pair<uint32_t, std::string>> before;
  {
    FolderIndex index;
    Sync(index);
    ASSERT_TRUE(SaveIndexFileBlocking(dir_, index).ok());
    EXPECT_EQ(index.extras_count(), 5u);  // nothing was mapped yet
    for (size_t i = 0; i < index.size(); ++i) {
      before.emplace_back(index.Entry(i).uid, index.Entry(i).filename);
    }
  }
  // "Restart": load the index; the sync parses and stats nothing.
  absl::StatusOr<FolderIndex> loaded = LoadIndexFileBlocking(dir_, limits_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  Sync(*loaded);
  EXPECT_EQ(loaded->parse_count(), 0u);
  ASSERT_EQ(loaded->size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(loaded->Entry(i).uid, before[i].first);
    EXPECT_EQ(loaded->Entry(i).filename, before[i].second);
  }
  EXPECT_EQ(loaded->Entry(2).internal_date, 3);
  // Flip a byte of a column copied at open (the UIDs, right after the
  // 512-byte header): the load's checksum catches it.
  std::string data = ReadFile(dir_ + "/ringmail-index");
  std::string bad = data;
  bad[512] ^= 1;
  WriteFile(dir_ + "/ringmail-index", bad);
  EXPECT_TRUE(absl::IsDataLoss(LoadIndexFileBlocking(dir_, limits_).status()));
  // A byte of a file name (a cold column, near the end): the load maps it
  // unchecked, the cold check run after the open catches it.
  bad = data;
  bad[data.size() - 40] ^= 1;
  WriteFile(dir_ + "/ringmail-index", bad);
  absl::StatusOr<FolderIndex> cold = LoadIndexFileBlocking(dir_, limits_);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_TRUE(absl::IsDataLoss(cold->image()->VerifyColdBlocking()));
  // Rebuild from dir + uidlist.
  FolderIndex rebuilt;
  Sync(rebuilt);
  ASSERT_EQ(rebuilt.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(rebuilt.Entry(i).uid, before[i].first);  // stable across restart
    EXPECT_FALSE(rebuilt.Entry(i).recent);
  }
  EXPECT_TRUE(absl::IsDataLoss(FolderIndex::Deserialize("junk\n", 10).status()));
}

TEST(NameInfoTest, TolerantFlagParsing) {
  NameInfo i = ParseNameInfo("1.M1.h,S=10,W=12,X=1:2,RTzQ");
  EXPECT_EQ(i.flags, kFlagAnswered | kFlagDeleted);
  EXPECT_EQ(i.keywords, 1u << 25);
  EXPECT_EQ(*i.size, 10u);
  EXPECT_EQ(*i.vsize, 12u);
  EXPECT_EQ(WithInfoFlags("1.M1.h,S=10:2,S", kFlagSeen | kFlagDraft, 3),
            "1.M1.h,S=10:2,DSab");
  EXPECT_TRUE(MaildirTimeLess("5.M2P1.h", "5.M10P1.h"));
  EXPECT_TRUE(MaildirTimeLess("9.M99.h", "10.M1.h"));
}

}  // namespace
}  // namespace ringmail::storage
