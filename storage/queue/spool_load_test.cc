#include <sys/stat.h>

#include <string>
#include <vector>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/queue/spool.h"
#include "storage/queue/state_log.h"
#include "storage/queue/spool_test_util.h"

namespace ringmail::storage::queue {
namespace {

using namespace ::ringmail::storage::queue::testing;  // NOLINT
using Kind = StateRecord::Kind;

class LoadCoreSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDir();
    dir_ = CoreSpoolDir(root_, 1);
    MakeMaildir(dir_);
    options_.log = [this](std::string_view l) { logs_.emplace_back(l); };
    options_.stats = &stats_;
  }

  absl::StatusOr<std::vector<LoadedMessage>> Load(bool read_only = false) {
    options_.read_only = read_only;
    return LoadCoreSpool(root_, 1, options_);
  }

  // A spool with a bit of everything; see ReplaysTheLog for what it means.
  void Populate() {
    WriteQueueFile(root_, 1, "A", Envelope("idA", 200, 3));
    WriteQueueFile(root_, 1, "B", Envelope("idB", 100, 1));
    WriteQueueFile(root_, 1, "C", Envelope("idC", 50, 2));
    WriteFile(dir_ + "/tmp/half-written", "RMQ1 12");
    WriteFile(dir_ + "/state.log.new", "left over");
    std::vector<StateRecord> records = {
        RcptRecord("A", 0, RecipientState::kDeferred, 1),
        FileRecord("B", Kind::kHold),
        RcptRecord("A", 0, RecipientState::kDelivered, 2),  // wins
        RcptRecord("A", 2, RecipientState::kFailed, 3),
        FileRecord("A", Kind::kHold),
        FileRecord("A", Kind::kRelease),
        FileRecord("A", Kind::kHold),
        FileRecord("A", Kind::kDelayWarned),
        FileRecord("A", Kind::kSize, 1234),
        FileRecord("B", Kind::kRelease),
        RcptRecord("C", 0, RecipientState::kDelivered, 1),
        RcptRecord("C", 1, RecipientState::kFailed, 1),
        FileRecord("C", Kind::kRemoved),
        RcptRecord("C", 1, RecipientState::kPending, 9),  // after removed
        RcptRecord("D", 0, RecipientState::kDelivered, 1),  // no such file
        FileRecord("E", Kind::kRemoved),                     // no such file
        RcptRecord("A", 7, RecipientState::kDelivered, 1),  // no such rcpt
    };
    WriteFile(dir_ + "/state.log",
              Lines(records) +
                  EncodeStateRecord(RcptRecord("B", 0, RecipientState::kFailed, 5))
                      .substr(0, 20));  // torn: crash mid-append
  }

  void ExpectPopulatedResult(const std::vector<LoadedMessage>& msgs) {
    ASSERT_EQ(msgs.size(), 2u);
    // Sorted by arrival: B (100) before A (200).
    const LoadedMessage& b = msgs[0];
    const LoadedMessage& a = msgs[1];
    EXPECT_EQ(b.file, "B");
    EXPECT_EQ(b.envelope, Envelope("idB", 100, 1));
    EXPECT_FALSE(b.held);
    EXPECT_EQ(b.recipients, std::vector<RecipientStatus>(1));
    EXPECT_EQ(a.file, "A");
    EXPECT_EQ(a.envelope, Envelope("idA", 200, 3));
    std::string prefix = EncodeQueuePrefix(a.envelope);
    EXPECT_EQ(a.content_offset, prefix.size());
    EXPECT_EQ(a.file_bytes, prefix.size() + Content("idA").size());
    EXPECT_EQ(a.size, 1234u);
    EXPECT_TRUE(a.held);
    EXPECT_TRUE(a.delay_warned);
    ASSERT_EQ(a.recipients.size(), 3u);
    EXPECT_EQ(a.recipients[0], RcptRecord("A", 0, RecipientState::kDelivered, 2).status);
    EXPECT_EQ(a.recipients[1], RecipientStatus());
    EXPECT_EQ(a.recipients[2], RcptRecord("A", 2, RecipientState::kFailed, 3).status);
  }

  std::string root_;
  std::string dir_;
  LoadOptions options_;
  LoadStats stats_;
  std::vector<std::string> logs_;
};

TEST_F(LoadCoreSpoolTest, MissingDirectoryIsAnEmptyQueue) {
  absl::StatusOr<std::vector<LoadedMessage>> msgs =
      LoadCoreSpool(root_, 7, options_);
  ASSERT_TRUE(msgs.ok());
  EXPECT_TRUE(msgs->empty());
  EXPECT_FALSE(Exists(CoreSpoolDir(root_, 7)));
}

TEST_F(LoadCoreSpoolTest, EmptySpoolGetsAnEmptyLog) {
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok()) << msgs.status();
  EXPECT_TRUE(msgs->empty());
  EXPECT_EQ(ReadFile(dir_ + "/state.log"), "");
}

TEST_F(LoadCoreSpoolTest, ReplaysTheLog) {
  Populate();
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok()) << msgs.status();
  ExpectPopulatedResult(*msgs);
  EXPECT_EQ(stats_.messages, 2u);
  EXPECT_EQ(stats_.tmp_removed, 1u);
  EXPECT_EQ(stats_.removed_unlinked, 1u);
  EXPECT_EQ(stats_.records, 17u);
  EXPECT_EQ(stats_.orphan_records, 2u);
  EXPECT_EQ(stats_.bad_records, 1u);  // recipient index out of range
  EXPECT_TRUE(stats_.torn_tail);
  EXPECT_EQ(stats_.corrupt, 0u);

  // On disk: finished file gone, tmp/ clean, leftover removed, log compacted.
  EXPECT_EQ(ListDir(dir_ + "/new"), (std::vector<std::string>{"A", "B"}));
  EXPECT_TRUE(ListDir(dir_ + "/tmp").empty());
  EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
  std::vector<StateRecord> expected;
  for (const LoadedMessage& m : *msgs) {
    AppendFileStateRecords(m.file, m.recipients, m.held, m.delay_warned, m.size,
                           &expected);
  }
  std::string log = ReadFile(dir_ + "/state.log");
  EXPECT_EQ(log.size(), Lines(expected).size());
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'),
            static_cast<long>(expected.size()));

  // Loading the compacted spool again gives the same messages, cleanly.
  msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ExpectPopulatedResult(*msgs);
  EXPECT_EQ(stats_.records, expected.size());
  EXPECT_EQ(stats_.orphan_records, 0u);
  EXPECT_EQ(stats_.bad_records, 0u);
  EXPECT_FALSE(stats_.torn_tail);
  EXPECT_EQ(ReadFile(dir_ + "/state.log"), log);
}

TEST_F(LoadCoreSpoolTest, DamagedLineInTheMiddleIsSkipped) {
  WriteQueueFile(root_, 1, "A", Envelope("idA", 1, 2));
  std::string bad = EncodeStateRecord(RcptRecord("A", 0, RecipientState::kFailed, 7));
  bad[8] ^= 0x20;
  WriteFile(dir_ + "/state.log",
            EncodeStateRecord(RcptRecord("A", 0, RecipientState::kDeferred, 1)) +
                bad + std::string(50, '\0') + "\n" +
                EncodeStateRecord(RcptRecord("A", 1, RecipientState::kDelivered, 2)));
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].recipients[0].state, RecipientState::kDeferred);
  EXPECT_EQ((*msgs)[0].recipients[1].state, RecipientState::kDelivered);
  EXPECT_EQ(stats_.bad_records, 2u);
  EXPECT_FALSE(stats_.torn_tail);
}

TEST_F(LoadCoreSpoolTest, OverlongLineIsSkipped) {
  WriteQueueFile(root_, 1, "A", Envelope("idA", 1, 1));
  WriteFile(dir_ + "/state.log",
            std::string(3 * kMaxStateLineBytes, 'x') + "\n" +
                EncodeStateRecord(RcptRecord("A", 0, RecipientState::kFailed, 2)));
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].recipients[0].state, RecipientState::kFailed);
  EXPECT_EQ(stats_.bad_records, 1u);
}

TEST_F(LoadCoreSpoolTest, CorruptFilesAreMovedAsideNeverDeleted) {
  WriteQueueFile(root_, 1, "good", Envelope("ok", 1, 1));
  std::string prefix = EncodeQueuePrefix(Envelope("t", 1, 1));
  std::map<std::string, std::string> bad = {
      {"foreign", "From: someone\n\nhello\n"},
      {"empty", ""},
      {"truncated", prefix.substr(0, prefix.size() - 3)},
      {"garbled", "RMQ1 30\nid x\nbogus line here\n12345\n"},
  };
  for (const auto& [name, data] : bad) WriteFile(dir_ + "/new/" + name, data);
  WriteFile(dir_ + "/state.log",
            EncodeStateRecord(RcptRecord("foreign", 0, RecipientState::kFailed)));
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok()) << msgs.status();
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].file, "good");
  EXPECT_EQ(stats_.corrupt, 4u);
  EXPECT_EQ(ListDir(dir_ + "/new"), std::vector<std::string>{"good"});
  for (const auto& [name, data] : bad) {
    EXPECT_EQ(ReadFile(dir_ + "/corrupt/" + name), data) << name;
  }
  EXPECT_EQ(ReadFile(dir_ + "/state.log"), "");  // their records are gone
  EXPECT_GE(logs_.size(), 4u);
  // A later corrupt file with a name already in corrupt/ does not replace it.
  WriteFile(dir_ + "/new/empty", "x");
  ASSERT_TRUE(Load().ok());
  EXPECT_EQ(ReadFile(dir_ + "/corrupt/empty"), "");
  EXPECT_EQ(ReadFile(dir_ + "/corrupt/empty.1"), "x");
}

TEST_F(LoadCoreSpoolTest, LargePrefixTakesASecondRead) {
  QueueEnvelope env = Envelope("big", 1, 400);
  ASSERT_GT(EncodeQueuePrefix(env).size(), kQueuePrefixReadBytes);
  WriteQueueFile(root_, 1, "big", env);
  // A prefix announcing more than the file holds is corrupt, not a crash.
  std::string cut = EncodeQueuePrefix(env).substr(0, 5000);
  WriteFile(dir_ + "/new/cut", cut);
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].envelope, env);
  EXPECT_EQ((*msgs)[0].recipients.size(), 400u);
  EXPECT_EQ(stats_.corrupt, 1u);
}

TEST_F(LoadCoreSpoolTest, ReadOnlyLeavesTheDiskUntouched) {
  Populate();
  WriteFile(dir_ + "/new/foreign", "not a queue file\n");
  std::map<std::string, std::string> before = Snapshot(root_);
  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load(/*read_only=*/true);
  ASSERT_TRUE(msgs.ok()) << msgs.status();
  EXPECT_EQ(Snapshot(root_), before);
  // Same view as a normal load: finished and corrupt files are not listed.
  ExpectPopulatedResult(*msgs);
  EXPECT_EQ(stats_.corrupt, 1u);
  EXPECT_EQ(stats_.tmp_removed, 0u);
  msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ExpectPopulatedResult(*msgs);
  EXPECT_NE(Snapshot(root_), before);
}

TEST_F(LoadCoreSpoolTest, TooManyMessages) {
  for (int i = 0; i < 3; ++i) {
    WriteQueueFile(root_, 1, "m" + std::to_string(i), Envelope("x", i, 1));
  }
  options_.max_messages = 2;
  EXPECT_EQ(Load().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ListDir(dir_ + "/new").size(), 3u);
}

// The runtime writer and the start-up reader agree: what StateLog made
// durable (through a compaction, too) is what LoadCoreSpool replays.
TEST_F(LoadCoreSpoolTest, ReplaysWhatTheStateLogWrote) {
  WriteQueueFile(root_, 1, "A", Envelope("idA", 1, 2));
  WriteQueueFile(root_, 1, "B", Envelope("idB", 2, 1));
  ASSERT_TRUE(Load().ok());
  absl::StatusOr<StateLogFile> file = OpenStateLogFile(dir_, options_.log);
  ASSERT_TRUE(file.ok());
  engine::testing::FakeFileIo io;
  std::vector<absl::AnyInvocable<void()>> tasks;
  auto run = [&] {
    while (true) {
      io.RunUntilIdle();
      if (tasks.empty()) return;
      auto fn = std::move(tasks.front());
      tasks.erase(tasks.begin());
      fn();
    }
  };
  StateLog log(&io, dir_, *file, StateLogOptions(),
               [&](absl::Duration, absl::AnyInvocable<void()> fn) {
                 tasks.push_back(std::move(fn));
               });
  int durable = 0;
  auto ok = [&](absl::Status s) { durable += s.ok(); };
  log.Append(RcptRecord("A", 1, RecipientState::kDeferred, 1), ok);
  log.Append(FileRecord("B", Kind::kHold), ok);
  run();
  std::vector<StateRecord> snapshot;
  std::vector<RecipientStatus> a(2);
  a[1] = RcptRecord("A", 1, RecipientState::kDeferred, 1).status;
  AppendFileStateRecords("A", a, false, false, 0, &snapshot);
  AppendFileStateRecords("B", std::vector<RecipientStatus>(1), true, false, 0,
                         &snapshot);
  absl::Status compacted = absl::UnknownError("pending");
  log.Compact(snapshot, [&](absl::Status s) { compacted = s; });
  log.Append(RcptRecord("A", 0, RecipientState::kDelivered, 1), ok);
  run();
  log.Append(RcptRecord("B", 0, RecipientState::kFailed, 1), ok);
  log.Append(FileRecord("B", Kind::kRemoved), ok);
  bool drained = false;
  log.Shutdown([&] { drained = true; });
  run();
  ASSERT_TRUE(drained);
  EXPECT_TRUE(compacted.ok());
  EXPECT_EQ(durable, 5);

  absl::StatusOr<std::vector<LoadedMessage>> msgs = Load();
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].file, "A");
  EXPECT_EQ((*msgs)[0].recipients[0].state, RecipientState::kDelivered);
  EXPECT_EQ((*msgs)[0].recipients[1], a[1]);
  EXPECT_EQ(stats_.removed_unlinked, 1u);
  EXPECT_EQ(stats_.bad_records, 0u);
  EXPECT_EQ(ListDir(dir_ + "/new"), std::vector<std::string>{"A"});
}

TEST(ListSpoolCoresTest, FindsCoreDirectories) {
  std::string root = MakeTempDir();
  for (const char* d : {"c0", "c2", "c10", "c01", "cx", "d3"}) {
    mkdir((root + "/" + d).c_str(), 0700);
  }
  WriteFile(root + "/c5", "a file, not a core");
  absl::StatusOr<std::vector<int>> cores = ListSpoolCores(root);
  ASSERT_TRUE(cores.ok());
  EXPECT_EQ(*cores, (std::vector<int>{0, 2, 10}));
  cores = ListSpoolCores(root + "/missing");
  ASSERT_TRUE(cores.ok());
  EXPECT_TRUE(cores->empty());
}

}  // namespace
}  // namespace ringmail::storage::queue
