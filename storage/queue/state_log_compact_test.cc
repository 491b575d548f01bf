#include <errno.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/queue/state_log.h"
#include "storage/queue/state_log_test_util.h"

namespace ringmail::storage::queue {
namespace {

using namespace ::ringmail::storage::queue::testing;  // NOLINT

TEST_F(StateLogTest, CompactionReplacesTheLog) {
  Open();
  for (int i = 0; i < 20; ++i) Append(Rec(i, 5));
  RunAll();
  std::vector<StateRecord> snapshot;
  for (int i = 15; i < 20; ++i) snapshot.push_back(Rec(i, 5));
  absl::Status done = absl::UnknownError("pending");
  log_->Compact(snapshot, [&](absl::Status s) { done = s; });
  RunAll();
  ASSERT_TRUE(done.ok()) << done;
  EXPECT_EQ(Decode(ReadFile(path_)), snapshot);
  EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
  EXPECT_EQ(log_->bytes(), ReadFile(path_).size());
  EXPECT_EQ(log_->compacted_bytes(), log_->bytes());
  EXPECT_EQ(log_->compactions(), 1u);
  // fdatasync of the new file and fsync of new/ (earlier unlinks), then
  // rename, then the directory fsync.
  int sync = io_.IndexOf(Op::kFdatasync, "state.log.new");
  int new_sync = io_.IndexOf(Op::kFsync, dir_ + "/new");
  int rename = io_.IndexOf(Op::kRename, "state.log.new");
  int dir_sync = io_.IndexOf(Op::kFsync, dir_, rename);
  ASSERT_GE(sync, 0);
  ASSERT_GE(new_sync, 0);
  EXPECT_LT(sync, rename);
  EXPECT_LT(new_sync, rename);
  EXPECT_LT(rename, dir_sync);
  EXPECT_EQ(io_.records()[dir_sync].path, dir_);
  // Appends go to the new file.
  Append(Rec(100, 5));
  RunAll();
  std::vector<StateRecord> got = Decode(ReadFile(path_));
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got.back(), Rec(100, 5));
}

// The caller's view: every Append updates `model` first, and a snapshot is
// `model` at the time of Compact(). Whatever the interleaving, replaying
// the final file must give the final model.
TEST_F(StateLogTest, CompactionKeepsConcurrentAppends) {
  for (size_t chunk : {size_t{1}, size_t{150}, size_t{1 << 20}}) {
    SCOPED_TRACE(chunk);
    for (int stride = 1; stride <= 3; ++stride) {
      SCOPED_TRACE(stride);
      StateLogOptions opts;
      opts.compact_chunk_bytes = chunk;
      Reset(opts);
      std::map<std::string, uint32_t> model;
      int next = 0;
      auto append = [&] {
        StateRecord r = Rec(next++, 7);
        model[r.file] = r.status.attempts;
        Append(r);
      };
      for (int i = 0; i < 10; ++i) append();
      RunAll();
      append();  // queued, not yet started, when the compaction begins
      std::vector<StateRecord> snapshot;
      for (const auto& [file, attempts] : model) {
        StateRecord r = Rec(0);
        r.file = file;
        r.status.attempts = attempts;
        snapshot.push_back(r);
      }
      absl::Status done = absl::UnknownError("pending");
      log_->Compact(snapshot, [&](absl::Status s) { done = s; });
      // Step through every completion and task, appending in between.
      // Completions and tasks alternate (as in a real loop iteration), so
      // batches start while the snapshot is being written.
      int steps = 0;
      while (done.code() == absl::StatusCode::kUnknown) {
        if (steps++ % stride == 0) append();
        bool progressed = RunTask();
        progressed = io_.RunOne() || progressed;
        ASSERT_TRUE(progressed) << "stalled";
      }
      ASSERT_TRUE(done.ok()) << done;
      if (chunk == 1) {
        // Old-log batches really ran while the snapshot was written (their
        // records were carried over).
        int open = io_.IndexOf(Op::kOpen, "state.log.new");
        int rename = io_.IndexOf(Op::kRename, "state.log.new");
        size_t old_writes = 0;
        for (int i = open; i < rename; ++i) {
          const auto& r = io_.records()[i];
          if (r.op == Op::kFdatasync && r.path == path_) ++old_writes;
        }
        EXPECT_GE(old_writes, 2u);
      }
      for (int i = 0; i < 5; ++i) append();
      RunAll();
      for (const absl::Status& s : results_) ASSERT_TRUE(s.ok()) << s;
      std::vector<StateRecord> got = Decode(ReadFile(path_));
      ASSERT_GE(got.size(), snapshot.size());
      EXPECT_EQ(std::vector<StateRecord>(got.begin(), got.begin() + snapshot.size()),
                snapshot);
      EXPECT_EQ(Replay(got), model);
      EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
      EXPECT_EQ(log_->bytes(), ReadFile(path_).size());
      EXPECT_GT(steps, 3);
    }
  }
}

TEST_F(StateLogTest, FailedCompactionKeepsTheOldLog) {
  struct Case {
    Op op;
    const char* path;
  };
  for (Case c : {Case{Op::kOpen, "state.log.new"}, Case{Op::kWrite, "state.log.new"},
                 Case{Op::kFdatasync, "state.log.new"},
                 Case{Op::kOpen, "/new"}, Case{Op::kFsync, "/new"},
                 Case{Op::kRename, "state.log.new"}}) {
    SCOPED_TRACE(FakeFileIo::OpName(c.op));
    Reset();
    for (int i = 0; i < 3; ++i) Append(Rec(i));
    RunAll();
    std::string before = ReadFile(path_);
    io_.Fail(c.op, EIO, c.path);
    absl::Status done = absl::UnknownError("pending");
    log_->Compact({Rec(2)}, [&](absl::Status s) { done = s; });
    Append(Rec(3));  // goes on meanwhile
    RunAll();
    io_.ClearFaults();
    EXPECT_EQ(done.code(), absl::StatusCode::kUnavailable);
    EXPECT_FALSE(log_->broken());
    EXPECT_FALSE(log_->compacting());
    EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
    EXPECT_EQ(ReadFile(path_), before + EncodeStateRecord(Rec(3)));
    Append(Rec(4));
    RunAll();
    for (const absl::Status& s : results_) EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(Decode(ReadFile(path_)).size(), 5u);
    // And a later compaction works.
    log_->Compact({Rec(4)}, [&](absl::Status s) { done = s; });
    RunAll();
    EXPECT_TRUE(done.ok()) << done;
    EXPECT_EQ(Decode(ReadFile(path_)), std::vector<StateRecord>{Rec(4)});
  }
}

TEST_F(StateLogTest, DirectoryFsyncFailureAfterRenameBreaksTheLog) {
  Open();
  Append(Rec(0));
  RunAll();
  io_.Fail(Op::kFsync, EIO, dir_, /*skip=*/1);  // not new/, the one after
  absl::Status done = absl::UnknownError("pending");
  log_->Compact({Rec(0)}, [&](absl::Status s) { done = s; });
  RunTask();
  io_.RunOne();  // the open of state.log.new
  Append(Rec(1));
  RunAll();
  EXPECT_EQ(done.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(log_->broken());
  EXPECT_EQ(results_[1].code(), absl::StatusCode::kUnavailable);
}

TEST_F(StateLogTest, OldLogFailureDuringCompactionAbortsIt) {
  StateLogOptions opts;
  opts.compact_chunk_bytes = 1;
  Open(opts);
  absl::Status done = absl::UnknownError("pending");
  std::vector<StateRecord> snapshot;
  for (int i = 0; i < 20; ++i) snapshot.push_back(Rec(i));
  log_->Compact(snapshot, [&](absl::Status s) { done = s; });
  io_.RunOne();  // state.log.new is open; the first chunk is being written
  Append(Rec(0));
  RunTask();  // the old-log batch starts
  // While the snapshot is being written only old-log batches fdatasync.
  io_.FailNext(Op::kFdatasync, EIO);
  RunAll();
  EXPECT_EQ(results_[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(done.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(log_->broken());
  EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
}

TEST_F(StateLogTest, OneCompactionAtATime) {
  Open();
  absl::Status first = absl::UnknownError("pending");
  absl::Status second = absl::UnknownError("pending");
  log_->Compact({Rec(1)}, [&](absl::Status s) { first = s; });
  log_->Compact({Rec(2)}, [&](absl::Status s) { second = s; });
  RunAll();
  EXPECT_TRUE(first.ok());
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Decode(ReadFile(path_)), std::vector<StateRecord>{Rec(1)});
}

TEST_F(StateLogTest, CompactionGivesUpWhenTheCarryOverflows) {
  StateLogOptions opts;
  opts.compact_chunk_bytes = 1;
  opts.max_queued_bytes = 3 * EncodeStateRecord(Rec(0)).size();
  Open(opts);
  std::vector<StateRecord> snapshot;
  for (int i = 0; i < 50; ++i) snapshot.push_back(Rec(i));
  absl::Status done = absl::UnknownError("pending");
  log_->Compact(snapshot, [&](absl::Status s) { done = s; });
  int appended = 0;
  while (done.code() == absl::StatusCode::kUnknown) {
    Append(Rec(1000 + appended++));
    bool progressed = RunTask();
    progressed = io_.RunOne() || progressed;
    ASSERT_TRUE(progressed);
  }
  RunAll();
  EXPECT_EQ(done.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(log_->broken());
  std::vector<StateRecord> written;
  for (int i = 0; i < appended; ++i) {
    if (results_[i].ok()) {
      written.push_back(Rec(1000 + i));
    } else {
      EXPECT_EQ(results_[i].code(), absl::StatusCode::kResourceExhausted);
    }
  }
  EXPECT_GE(written.size(), 4u);  // the 4th batch overflowed the carry
  EXPECT_EQ(Decode(ReadFile(path_)), written);
  EXPECT_FALSE(Exists(dir_ + "/state.log.new"));
}

TEST_F(StateLogTest, ShutdownWaitsForACompaction) {
  Open();
  Append(Rec(0));
  absl::Status done = absl::UnknownError("pending");
  log_->Compact({Rec(7)}, [&](absl::Status s) { done = s; });
  bool drained = false;
  log_->Shutdown([&] { drained = true; });
  RunAll();
  EXPECT_TRUE(done.ok());
  EXPECT_TRUE(drained);
  EXPECT_TRUE(results_[0].ok());
  EXPECT_EQ(Replay(Decode(ReadFile(path_))), Replay({Rec(0), Rec(7)}));
  EXPECT_EQ(io_.open_fds(), 0u);
  log_.reset();
}

}  // namespace
}  // namespace ringmail::storage::queue
