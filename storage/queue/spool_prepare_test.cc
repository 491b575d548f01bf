#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_test_util.h"

namespace ringmail::storage::queue {
namespace {

using namespace ::ringmail::storage::queue::testing;  // NOLINT
using Kind = StateRecord::Kind;

LoadOptions Quiet(bool read_only = true) {
  LoadOptions o;
  o.read_only = read_only;
  o.log = [](std::string_view) {};
  return o;
}

PrepareOptions QuietPrepare() {
  PrepareOptions o;
  o.log = [](std::string_view) {};
  return o;
}

// What a core's queue looks like, for comparisons: file -> (envelope id,
// recipient states and attempts, held).
std::map<std::string, std::string> Describe(const std::vector<LoadedMessage>& msgs) {
  std::map<std::string, std::string> out;
  for (const LoadedMessage& m : msgs) {
    std::string d = m.envelope.id + (m.held ? " held" : "");
    for (const RecipientStatus& r : m.recipients) {
      d += " " + std::string(RecipientStateName(r.state)) + "/" +
           std::to_string(r.attempts);
    }
    out[m.file] = d;
  }
  return out;
}

std::map<std::string, std::string> DescribeCore(const std::string& root, int core) {
  absl::StatusOr<std::vector<LoadedMessage>> msgs = LoadCoreSpool(root, core, Quiet());
  EXPECT_TRUE(msgs.ok()) << msgs.status();
  return msgs.ok() ? Describe(*msgs) : std::map<std::string, std::string>();
}

// Four cores' worth of queue: c<k> holds files "k<k>_<i>" with some state.
void PopulateFourCores(const std::string& root) {
  ASSERT_TRUE(PrepareSpool(root, 4, QuietPrepare()).ok());
  for (int k = 0; k < 4; ++k) {
    std::vector<StateRecord> records;
    for (int i = 0; i < 3; ++i) {
      std::string file = "k" + std::to_string(k) + "_" + std::to_string(i);
      WriteQueueFile(root, k, file,
                     Envelope("id" + file, 100 * k + i, 2));
      records.push_back(RcptRecord(file, 0, RecipientState::kDelivered, k + 1));
      if (i == 1) records.push_back(FileRecord(file, Kind::kHold));
      if (i == 2) {
        records.push_back(RcptRecord(file, 1, RecipientState::kFailed, 1));
        records.push_back(FileRecord(file, Kind::kRemoved));  // finished
      }
    }
    WriteFile(CoreSpoolDir(root, k) + "/state.log", Lines(records));
  }
  WriteFile(CoreSpoolDir(root, 3) + "/new/junk", "not a queue file");
}

std::map<std::string, std::string> ExpectedAfterShrink(int target) {
  std::map<std::string, std::string> out;
  for (int k : {target, target + 2}) {
    for (int i = 0; i < 2; ++i) {
      std::string file = "k" + std::to_string(k) + "_" + std::to_string(i);
      out[file] = "id" + file + (i == 1 ? " held" : "") + " delivered/" +
                  std::to_string(k + 1) + " pending/0";
    }
  }
  return out;
}

TEST(PrepareSpoolTest, CreatesCoreDirectories) {
  std::string root = MakeTempDir() + "/data/queue";
  ASSERT_FALSE(PrepareSpool(root, 0).ok());
  ASSERT_TRUE(PrepareSpool(root, 3, QuietPrepare()).ok());
  EXPECT_EQ(ListDir(root), (std::vector<std::string>{"c0", "c1", "c2"}));
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(ListDir(CoreSpoolDir(root, c)),
              (std::vector<std::string>{"cur", "new", "tmp"}));
  }
  // Idempotent; growing adds directories and moves nothing.
  WriteQueueFile(root, 1, "f", Envelope("x", 1, 1));
  ASSERT_TRUE(PrepareSpool(root, 3, QuietPrepare()).ok());
  ASSERT_TRUE(PrepareSpool(root, 5, QuietPrepare()).ok());
  EXPECT_EQ(ListDir(root).size(), 5u);
  EXPECT_EQ(ListDir(CoreSpoolDir(root, 1) + "/new"), std::vector<std::string>{"f"});
}

TEST(PrepareSpoolTest, ShrinkingFourCoresToTwoMovesEverything) {
  std::string root = MakeTempDir();
  PopulateFourCores(root);
  ASSERT_TRUE(PrepareSpool(root, 2, QuietPrepare()).ok());
  EXPECT_EQ(ListDir(root), (std::vector<std::string>{"c0", "c1"}));
  EXPECT_EQ(DescribeCore(root, 0), ExpectedAfterShrink(0));
  EXPECT_EQ(DescribeCore(root, 1), ExpectedAfterShrink(1));
  // Finished files are not carried over; corrupt ones are, into corrupt/.
  EXPECT_FALSE(Exists(CoreSpoolDir(root, 0) + "/new/k2_2"));
  EXPECT_EQ(ReadFile(CoreSpoolDir(root, 1) + "/corrupt/junk"), "not a queue file");
  // Loading for real keeps the same state.
  absl::StatusOr<std::vector<LoadedMessage>> msgs =
      LoadCoreSpool(root, 1, Quiet(/*read_only=*/false));
  ASSERT_TRUE(msgs.ok());
  EXPECT_EQ(Describe(*msgs), ExpectedAfterShrink(1));
}

TEST(PrepareSpoolTest, NameClashGetsAPrefix) {
  std::string root = MakeTempDir();
  ASSERT_TRUE(PrepareSpool(root, 2, QuietPrepare()).ok());
  WriteQueueFile(root, 0, "same", Envelope("mine", 1, 1));
  WriteQueueFile(root, 1, "same", Envelope("theirs", 2, 1));
  WriteFile(CoreSpoolDir(root, 1) + "/state.log",
            Lines({RcptRecord("same", 0, RecipientState::kDeferred, 4)}));
  ASSERT_TRUE(PrepareSpool(root, 1, QuietPrepare()).ok());
  std::map<std::string, std::string> want = {
      {"same", "mine pending/0"}, {"m1_same", "theirs deferred/4"}};
  EXPECT_EQ(DescribeCore(root, 0), want);
}

// A crash at every step boundary of the merge, then a normal start: the
// result is always the same as without a crash.
TEST(PrepareSpoolTest, CrashAtAnyStepLosesNothing) {
  // Count the steps.
  std::vector<std::string> points;
  {
    std::string root = MakeTempDir();
    PopulateFourCores(root);
    PrepareOptions opts = QuietPrepare();
    opts.fault_point = [&](std::string_view p) {
      points.emplace_back(p);
      return absl::OkStatus();
    };
    ASSERT_TRUE(PrepareSpool(root, 2, opts).ok());
  }
  ASSERT_GT(points.size(), 10u);
  for (size_t crash = 0; crash < points.size(); ++crash) {
    SCOPED_TRACE("crash at step " + std::to_string(crash) + " " + points[crash]);
    std::string root = MakeTempDir();
    PopulateFourCores(root);
    PrepareOptions opts = QuietPrepare();
    size_t seen = 0;
    opts.fault_point = [&](std::string_view) {
      return seen++ == crash ? absl::AbortedError("crash") : absl::OkStatus();
    };
    ASSERT_EQ(PrepareSpool(root, 2, opts).code(), absl::StatusCode::kAborted);
    // Between the crash and the restart, ringctl may look (read-only):
    // every message is visible exactly once, in c<k> or in c<k % 2>.
    std::map<std::string, std::string> all;
    absl::StatusOr<std::vector<int>> cores = ListSpoolCores(root);
    ASSERT_TRUE(cores.ok());
    for (int c : *cores) {
      for (auto& [file, d] : DescribeCore(root, c)) {
        EXPECT_TRUE(all.emplace(file, d).second) << "twice: " << file;
      }
    }
    std::map<std::string, std::string> want = ExpectedAfterShrink(0);
    want.merge(ExpectedAfterShrink(1));
    EXPECT_EQ(all, want);
    // Restart.
    ASSERT_TRUE(PrepareSpool(root, 2, QuietPrepare()).ok());
    EXPECT_EQ(ListDir(root), (std::vector<std::string>{"c0", "c1"}));
    EXPECT_EQ(DescribeCore(root, 0), ExpectedAfterShrink(0));
    EXPECT_EQ(DescribeCore(root, 1), ExpectedAfterShrink(1));
    EXPECT_EQ(ReadFile(CoreSpoolDir(root, 1) + "/corrupt/junk"), "not a queue file");
  }
}

// Two crashes in a row (at different points) still converge.
TEST(PrepareSpoolTest, RepeatedCrashesConverge) {
  for (size_t first : {2u, 5u, 9u}) {
    std::string root = MakeTempDir();
    PopulateFourCores(root);
    for (size_t crash : {first, first / 2}) {
      PrepareOptions opts = QuietPrepare();
      size_t seen = 0;
      opts.fault_point = [&](std::string_view) {
        return seen++ == crash ? absl::AbortedError("crash") : absl::OkStatus();
      };
      (void)PrepareSpool(root, 2, opts);
    }
    ASSERT_TRUE(PrepareSpool(root, 2, QuietPrepare()).ok());
    EXPECT_EQ(DescribeCore(root, 0), ExpectedAfterShrink(0));
    EXPECT_EQ(DescribeCore(root, 1), ExpectedAfterShrink(1));
  }
}

}  // namespace
}  // namespace ringmail::storage::queue
