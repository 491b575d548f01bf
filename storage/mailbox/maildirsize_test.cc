#include "storage/mailbox/maildirsize.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>
#include <string>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/mailbox/test_util.h"

namespace ringmail::storage {
namespace {

using testing::Exists;
using testing::MakeMaildir;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::WriteFile;

TEST(MaildirsizeParse, DovecotFile) {
  auto f = ParseMaildirsize("1048576S,100C\n2048 2\n512 1\n-512 -1\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->limits, (QuotaLimits{1048576, 100}));
  EXPECT_EQ(f->usage, (QuotaUsage{2048, 2}));
  EXPECT_EQ(f->delta_lines, 3u);
}

TEST(MaildirsizeParse, DefinitionForms) {
  EXPECT_EQ(ParseMaildirsize("0S\n0 0\n")->limits, (QuotaLimits{0, 0}));
  EXPECT_EQ(ParseMaildirsize("5000S\n0 0\n")->limits, (QuotaLimits{5000, 0}));
  EXPECT_EQ(ParseMaildirsize("7C\n0 0\n")->limits, (QuotaLimits{0, 7}));
  EXPECT_EQ(ParseMaildirsize("7C,5000S\n0 0\n")->limits, (QuotaLimits{5000, 7}));
  for (const char* bad : {"\n0 0\n", "S\n", "5000\n", "5000X\n", "-5S\n",
                          "5S,,7C\n", "5 S\n", "5S,\n"}) {
    EXPECT_TRUE(absl::IsDataLoss(ParseMaildirsize(bad).status())) << bad;
  }
}

TEST(MaildirsizeParse, IncompleteLastLineIsIgnored) {
  // Another writer is in the middle of appending "300 1\n".
  auto f = ParseMaildirsize("100S\n10 1\n30");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->usage, (QuotaUsage{10, 1}));
  EXPECT_EQ(f->delta_lines, 1u);
  EXPECT_FALSE(ParseMaildirsize("100S").ok());  // not even a definition
  EXPECT_FALSE(ParseMaildirsize("").ok());
}

TEST(MaildirsizeParse, CorruptFiles) {
  for (const std::string& bad :
       {std::string("100S\n10\n"), std::string("100S\n10 1 2\n"),
        std::string("100S\n\n"), std::string("100S\nx y\n"),
        std::string("100S\n10 1\n-20 -1\n"),  // negative sum
        std::string("100S\n10 1\0\n", 12),
        std::string("100S\n99999999999999999999 1\n")}) {
    EXPECT_TRUE(absl::IsDataLoss(ParseMaildirsize(bad).status())) << bad;
  }
  // Blanks around the numbers are tolerated (sscanf "%lld %d" does).
  auto f = ParseMaildirsize("100S\n  10\t 1 \n");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->usage, (QuotaUsage{10, 1}));
}

// Found by the maildirsize fuzzer: figures of 20+ digits were multiplied
// by 10 before the comparison with kMaxQuotaValue and wrapped around 2^64
// into range. Such a file is corrupt (and recalculated), not read as the
// figure modulo 2^64.
TEST(MaildirsizeParse, FiguresBeyondTheMaximumDoNotWrap) {
  for (const char* bad : {
           "18446744073709551616S\n0 0\n",        // 2^64: was 0S, no limit
           "18446744073709551616C\n0 0\n",
           "100S\n18446744073709551716 1\n",      // 2^64 + 100: was 100
           "100S\n200 2\n-18446744073709551716 0\n",
           "100S\n0 18446744073709551617\n",      // 2^64 + 1 messages: was 1
           "4611686018427387905S\n0 0\n",         // kMaxQuotaValue + 1
       }) {
    const absl::StatusOr<Maildirsize> f = ParseMaildirsize(bad);
    EXPECT_TRUE(absl::IsDataLoss(f.status())) << bad;
    EXPECT_EQ(AssessMaildirsize(f, std::strlen(bad), {100, 0}), MaildirsizeAction::kRecalculate)
        << bad;
  }
  // kMaxQuotaValue itself, and leading zeros, are still figures.
  auto f = ParseMaildirsize("4611686018427387904S\n000000000000000000000000100 1\n");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->limits, (QuotaLimits{kMaxQuotaValue, 0}));
  EXPECT_EQ(f->usage, (QuotaUsage{100, 1}));
}

TEST(MaildirsizeFormat, LikeDovecot) {
  EXPECT_EQ(FormatMaildirsizeDefinition({0, 0}), "0S");
  EXPECT_EQ(FormatMaildirsizeDefinition({1024, 0}), "1024S");
  EXPECT_EQ(FormatMaildirsizeDefinition({0, 10}), "10C");
  EXPECT_EQ(FormatMaildirsizeDefinition({1024, 10}), "1024S,10C");
  EXPECT_EQ(FormatMaildirsizeDelta(-300, -1), "-300 -1\n");
  EXPECT_EQ(FormatMaildirsize({1024, 10}, {300, 2}), "1024S,10C\n300 2\n");
  // Round trip.
  auto f = ParseMaildirsize(FormatMaildirsize({1024, 10}, {300, 2}));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->limits, (QuotaLimits{1024, 10}));
  EXPECT_EQ(f->usage, (QuotaUsage{300, 2}));
}

TEST(MaildirsizeAssess, RecalculationRules) {
  const QuotaLimits limits{1000, 10};
  auto assess = [&](std::string_view data, size_t read = 0) {
    return AssessMaildirsize(ParseMaildirsize(data),
                             read ? read : data.size(), limits);
  };
  using A = MaildirsizeAction;
  EXPECT_EQ(assess("1000S,10C\n500 5\n100 1\n"), A::kUse);
  EXPECT_EQ(assess("garbage\n"), A::kRecalculate);
  EXPECT_EQ(assess("1000S,10C\n500 5\n", kMaildirsizeMaxBytes), A::kRecalculate);
  EXPECT_EQ(assess("2000S,10C\n500 5\n"), A::kRecalculate);  // other limits
  EXPECT_EQ(assess("1000S,10C\n"), A::kRecalculate);         // no usage line
  // Exactly at the limit is not over (Dovecot: over means "greater").
  EXPECT_EQ(assess("1000S,10C\n1000 10\n"), A::kUse);
  // Over quota: one line may stand if fresh; several lines never do.
  EXPECT_EQ(assess("1000S,10C\n1001 5\n"), A::kCheckAge);
  EXPECT_EQ(assess("1000S,10C\n500 11\n"), A::kCheckAge);
  EXPECT_EQ(assess("1000S,10C\n900 5\n200 1\n"), A::kRecalculate);
}

TEST(MaildirsizeCheck, Verdicts) {
  const QuotaLimits limits{1000, 3};
  EXPECT_EQ(CheckQuota(limits, {0, 0}, 1000, 1), QuotaVerdict::kFits);
  EXPECT_EQ(CheckQuota(limits, {0, 0}, 1001, 1), QuotaVerdict::kTooBig);
  EXPECT_EQ(CheckQuota(limits, {500, 1}, 501, 1), QuotaVerdict::kFull);
  EXPECT_EQ(CheckQuota(limits, {500, 1}, 500, 1), QuotaVerdict::kFits);
  EXPECT_EQ(CheckQuota(limits, {10, 3}, 1, 1), QuotaVerdict::kFull);
  // "Is there room at all": one more byte in one more message.
  EXPECT_EQ(CheckQuota(limits, {999, 2}, 1, 1), QuotaVerdict::kFits);
  EXPECT_EQ(CheckQuota(limits, {1000, 2}, 1, 1), QuotaVerdict::kFull);
  // Unlimited parts never refuse.
  EXPECT_EQ(CheckQuota({0, 3}, {1 << 30, 0}, 1 << 30, 1), QuotaVerdict::kFits);
  EXPECT_EQ(CheckQuota({1000, 0}, {0, 1 << 20}, 10, 1), QuotaVerdict::kFits);
}

class MaildirsizeFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir() + "/Maildir";
    MakeMaildir(root_);
  }
  std::string File() const { return root_ + "/maildirsize"; }

  std::string root_;
  engine::testing::FakeFileIo io_;
};

TEST_F(MaildirsizeFilesTest, AppendAddsLinesAndNeverCreates) {
  int result = 1;
  AppendMaildirsizeAsync(&io_, root_, 100, 1, [&](int r) { result = r; });
  EXPECT_EQ(result, 1);  // never from inside the call
  io_.RunUntilIdle();
  EXPECT_EQ(result, -ENOENT);
  EXPECT_FALSE(Exists(File()));

  WriteFile(File(), "1000S\n0 0\n");
  AppendMaildirsizeAsync(&io_, root_, 100, 1, [&](int r) { result = r; });
  AppendMaildirsizeAsync(&io_, root_, -40, -1, [&](int r) { result = r; });
  io_.RunUntilIdle();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(ReadFile(File()), "1000S\n0 0\n100 1\n-40 -1\n");
  EXPECT_EQ(io_.open_fds(), 0u);
}

TEST_F(MaildirsizeFilesTest, AppendResumesShortWrites) {
  WriteFile(File(), "1000S\n0 0\n");
  io_.SetMaxWriteBytes(2);
  int result = 1;
  AppendMaildirsizeAsync(&io_, root_, 12345, 1, [&](int r) { result = r; });
  io_.RunUntilIdle();
  EXPECT_EQ(result, 0);
  EXPECT_EQ(ReadFile(File()), "1000S\n0 0\n12345 1\n");
}

TEST_F(MaildirsizeFilesTest, ReadIsBounded) {
  MaildirsizeRead got;
  got.error = 1;
  ReadMaildirsizeAsync(&io_, root_, [&](MaildirsizeRead r) { got = std::move(r); });
  io_.RunUntilIdle();
  EXPECT_EQ(got.error, -ENOENT);

  WriteFile(File(), "1000S\n10 1\n");
  ReadMaildirsizeAsync(&io_, root_, [&](MaildirsizeRead r) { got = std::move(r); });
  io_.RunUntilIdle();
  EXPECT_EQ(got.error, 0);
  EXPECT_EQ(got.data, "1000S\n10 1\n");

  std::string big = "1000S\n";
  while (big.size() < 3 * kMaildirsizeMaxBytes) big += "10 1\n";
  WriteFile(File(), big);
  ReadMaildirsizeAsync(&io_, root_, [&](MaildirsizeRead r) { got = std::move(r); });
  io_.RunUntilIdle();
  EXPECT_EQ(got.error, 0);
  EXPECT_EQ(got.data.size(), kMaildirsizeMaxBytes);
  EXPECT_EQ(AssessMaildirsize(ParseMaildirsize(got.data), got.data.size(),
                              {1000, 0}),
            MaildirsizeAction::kRecalculate);
  EXPECT_EQ(io_.open_fds(), 0u);
}

TEST_F(MaildirsizeFilesTest, ReadErrorIsReported) {
  WriteFile(File(), "1000S\n10 1\n");
  io_.FailNext(engine::testing::FakeFileIo::Op::kRead, EIO);
  MaildirsizeRead got;
  ReadMaildirsizeAsync(&io_, root_, [&](MaildirsizeRead r) { got = std::move(r); });
  io_.RunUntilIdle();
  EXPECT_EQ(got.error, -EIO);
  EXPECT_EQ(io_.open_fds(), 0u);
}

TEST_F(MaildirsizeFilesTest, RecalculateCountsEveryFolder) {
  WriteFile(root_ + "/new/1.M1P1.host,S=100,W=104", std::string(100, 'x'));
  WriteFile(root_ + "/cur/2.M1P1.host,S=50:2,S", std::string(50, 'x'));
  // No S=: the file's size counts.
  WriteFile(root_ + "/cur/3.M1P1.host:2,", std::string(7, 'x'));
  MakeMaildir(root_ + "/.Sent");
  WriteFile(root_ + "/.Sent/cur/4.M1P1.host,S=1000:2,S", "short");
  MakeMaildir(root_ + "/.A.B");
  WriteFile(root_ + "/.A.B/new/5.M1P1.host,S=1", "x");
  // Not counted: tmp/, trashed folders, dot files, plain files at the root.
  WriteFile(root_ + "/tmp/6.M1P1.host", std::string(999, 'x'));
  MakeMaildir(root_ + "/..DOVECOT-TRASHED");
  WriteFile(root_ + "/..DOVECOT-TRASHED/cur/7,S=5000", "x");
  WriteFile(root_ + "/cur/.hidden", "x");
  WriteFile(root_ + "/.not-a-folder", "x");

  auto usage = RecalculateMaildirsizeBlocking(root_, {5000, 100});
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(*usage, (QuotaUsage{100 + 50 + 7 + 1000 + 1, 5}));
  EXPECT_EQ(ReadFile(File()), "5000S,100C\n1158 5\n");
  // tmp/ is clean: the file went through a rename.
  EXPECT_EQ(ReadFile(root_ + "/tmp/6.M1P1.host").size(), 999u);
}

// The same wrap-around in a file name's ",S=" (found with the fuzzer's
// finding in TakeSigned): a size beyond kMaxQuotaValue is no size, and
// the file's real size counts.
TEST_F(MaildirsizeFilesTest, RecalculateIgnoresSizesBeyondTheMaximum) {
  WriteFile(root_ + "/cur/1.M1P1.host,S=18446744073709551617:2,S", std::string(5, 'x'));
  WriteFile(root_ + "/new/2.M1P1.host,S=4611686018427387905,W=9", std::string(7, 'x'));
  auto usage = RecalculateMaildirsizeBlocking(root_, {0, 0});
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(*usage, (QuotaUsage{5 + 7, 2}));
}

TEST_F(MaildirsizeFilesTest, RecalculateWithoutMaildir) {
  auto usage = RecalculateMaildirsizeBlocking(root_ + "/missing", {5000, 0});
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(*usage, QuotaUsage());
  EXPECT_FALSE(Exists(root_ + "/missing"));
}

TEST_F(MaildirsizeFilesTest, RecalculateFolderLimit) {
  MakeMaildir(root_ + "/.A");
  MakeMaildir(root_ + "/.B");
  MaildirsizeScanLimits scan;
  scan.max_folders = 1;
  EXPECT_TRUE(absl::IsResourceExhausted(
      RecalculateMaildirsizeBlocking(root_, {5000, 0}, scan).status()));
  scan = MaildirsizeScanLimits();
  scan.max_files_per_dir = 1;
  WriteFile(root_ + "/cur/1,S=1", "x");
  WriteFile(root_ + "/cur/2,S=1", "x");
  EXPECT_TRUE(absl::IsResourceExhausted(
      RecalculateMaildirsizeBlocking(root_, {5000, 0}, scan).status()));
}

TEST_F(MaildirsizeFilesTest, BlockingReadFollowsTheRules) {
  WriteFile(root_ + "/cur/1,S=300:2,", "x");
  const absl::Time now = absl::Now();
  // Trusted as it stands (even though the directory says otherwise).
  WriteFile(File(), "1000S\n10 1\n");
  EXPECT_EQ(*ReadMaildirsizeBlocking(root_, {1000, 0}, now), (QuotaUsage{10, 1}));
  // Other limits: recalculated and rewritten.
  EXPECT_EQ(*ReadMaildirsizeBlocking(root_, {2000, 5}, now), (QuotaUsage{300, 1}));
  EXPECT_EQ(ReadFile(File()), "2000S,5C\n300 1\n");
  // Over quota in one line: trusted while fresh, recalculated when stale.
  WriteFile(File(), "2000S,5C\n5000 1\n");
  EXPECT_EQ(*ReadMaildirsizeBlocking(root_, {2000, 5}, now), (QuotaUsage{5000, 1}));
  EXPECT_EQ(*ReadMaildirsizeBlocking(root_, {2000, 5}, now + absl::Minutes(16)),
            (QuotaUsage{300, 1}));
  // Missing: built.
  ASSERT_EQ(unlink(File().c_str()), 0);
  EXPECT_EQ(*ReadMaildirsizeBlocking(root_, {2000, 5}, now), (QuotaUsage{300, 1}));
  EXPECT_EQ(ReadFile(File()), "2000S,5C\n300 1\n");
}

}  // namespace
}  // namespace ringmail::storage
