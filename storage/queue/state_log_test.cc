#include "storage/queue/state_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"

namespace ringmail::storage::queue {
namespace {

using engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/slXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Record i: recipient 0 of file "f<i % files>" with `attempts` = i, so
// records for the same file overwrite each other at replay.
StateRecord Rec(int i, int files = 1000) {
  StateRecord r;
  r.kind = StateRecord::Kind::kRecipient;
  r.file = "f" + std::to_string(i % files);
  r.rcpt = 0;
  r.status.state = RecipientState::kDeferred;
  r.status.attempts = static_cast<uint32_t>(i);
  r.status.last_reply = "451 try later";
  return r;
}

std::vector<StateRecord> Decode(const std::string& text) {
  std::vector<StateRecord> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    EXPECT_NE(nl, std::string::npos) << "torn line at " << pos;
    if (nl == std::string::npos) break;
    absl::StatusOr<StateRecord> r = DecodeStateRecord(text.substr(pos, nl - pos));
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) out.push_back(*r);
    pos = nl + 1;
  }
  return out;
}

// Replay: file -> attempts of recipient 0 (later records win).
std::map<std::string, uint32_t> Replay(const std::vector<StateRecord>& records) {
  std::map<std::string, uint32_t> state;
  for (const StateRecord& r : records) state[r.file] = r.status.attempts;
  return state;
}

class StateLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    path_ = dir_ + "/state.log";
  }

  void Open(StateLogOptions opts = StateLogOptions()) {
    int fd = -1;
    io_.OpenAt(AT_FDCWD, path_, O_RDWR | O_CREAT | O_CLOEXEC, 0600,
               [&](int r) { fd = r; });
    io_.RunUntilIdle();
    ASSERT_GE(fd, 0);
    struct stat st;
    ASSERT_EQ(fstat(fd, &st), 0);
    opts.log = [this](std::string_view line) { logs_.emplace_back(line); };
    log_ = std::make_unique<StateLog>(
        &io_, dir_, StateLogFile{fd, static_cast<uint64_t>(st.st_size)},
        std::move(opts), [this](absl::Duration, absl::AnyInvocable<void()> fn) {
          tasks_.push_back(std::move(fn));
        });
    io_.ClearRecords();
  }

  void TearDown() override {
    if (log_ != nullptr) {
      bool drained = false;
      log_->Shutdown([&] { drained = true; });
      RunAll();
      EXPECT_TRUE(drained);
      log_.reset();
    }
    RunAll();
    EXPECT_EQ(io_.open_fds(), 0u);
  }

  bool RunTask() {
    if (tasks_.empty()) return false;
    auto fn = std::move(tasks_.front());
    tasks_.pop_front();
    fn();
    return true;
  }

  void RunAll() {
    while (io_.RunOne() || RunTask()) {
    }
  }

  // Appends and records the outcome in results_[i].
  void Append(const StateRecord& r) {
    size_t i = results_.size();
    results_.push_back(absl::UnknownError("pending"));
    log_->Append(r, [this, i](absl::Status s) { results_[i] = std::move(s); });
  }

  FakeFileIo io_;
  std::string dir_;
  std::string path_;
  std::deque<absl::AnyInvocable<void()>> tasks_;
  std::vector<std::string> logs_;
  std::vector<absl::Status> results_;
  std::unique_ptr<StateLog> log_;
};

TEST_F(StateLogTest, AppendsOfOneIterationShareOneFdatasync) {
  Open();
  for (int i = 0; i < 5; ++i) Append(Rec(i));
  // Never from inside Append.
  for (const absl::Status& s : results_) EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  RunAll();
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(io_.Count(Op::kWrite), 1u);
  EXPECT_EQ(io_.Count(Op::kFdatasync), 1u);
  std::vector<StateRecord> got = Decode(ReadFile(path_));
  ASSERT_EQ(got.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[i], Rec(i));
  EXPECT_EQ(log_->bytes(), ReadFile(path_).size());
  EXPECT_EQ(log_->batches_flushed(), 1u);
}

TEST_F(StateLogTest, AppendsDuringAFlushFormTheNextBatch) {
  Open();
  Append(Rec(0));
  RunTask();  // the batch starts: its write is in flight
  ASSERT_EQ(io_.Count(Op::kWrite), 1u);
  std::vector<int> order;
  for (int i = 1; i <= 3; ++i) {
    log_->Append(Rec(i), [&order, i](absl::Status s) {
      EXPECT_TRUE(s.ok());
      order.push_back(i);
    });
  }
  RunAll();
  EXPECT_TRUE(results_[0].ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(io_.Count(Op::kFdatasync), 2u);
  EXPECT_EQ(Decode(ReadFile(path_)).size(), 4u);
  // The second batch was written after the first one was durable.
  EXPECT_LT(io_.IndexOf(Op::kFdatasync, "state.log"),
            static_cast<int>(io_.records().size()) - 2);
}

TEST_F(StateLogTest, BatchesAreBounded) {
  StateLogOptions opts;
  opts.max_batch_bytes = 3 * EncodeStateRecord(Rec(0)).size();
  Open(opts);
  for (int i = 0; i < 10; ++i) Append(Rec(i));
  RunAll();
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok());
  EXPECT_EQ(io_.Count(Op::kFdatasync), 4u);  // 3 + 3 + 3 + 1
  for (const auto& r : io_.RecordsOf(Op::kWrite)) {
    EXPECT_LE(r.len, opts.max_batch_bytes);
  }
  std::vector<StateRecord> got = Decode(ReadFile(path_));
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], Rec(i));
}

TEST_F(StateLogTest, FullQueueRefusesLaterAppendsOnly) {
  StateLogOptions opts;
  opts.max_queued_bytes = 3 * EncodeStateRecord(Rec(0)).size();
  Open(opts);
  for (int i = 0; i < 5; ++i) Append(Rec(i));
  EXPECT_EQ(results_[4].code(), absl::StatusCode::kUnknown);  // deferred
  RunAll();
  EXPECT_TRUE(results_[0].ok());
  EXPECT_TRUE(results_[2].ok());
  EXPECT_EQ(results_[3].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(results_[4].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(log_->broken());
  Append(Rec(5));
  RunAll();
  EXPECT_TRUE(results_[5].ok());
  EXPECT_EQ(Decode(ReadFile(path_)).size(), 4u);
}

TEST_F(StateLogTest, ShortWritesAreResumed) {
  io_.SetMaxWriteBytes(7);
  Open();
  for (int i = 0; i < 4; ++i) Append(Rec(i));
  RunAll();
  for (const absl::Status& s : results_) EXPECT_TRUE(s.ok());
  std::vector<StateRecord> got = Decode(ReadFile(path_));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3], Rec(3));
  EXPECT_EQ(io_.Count(Op::kFdatasync), 1u);
}

TEST_F(StateLogTest, WriteFailureFailsEverythingAndBreaksTheLog) {
  Open();
  io_.FailNext(Op::kWrite, EIO);
  Append(Rec(0));
  RunTask();  // batch with record 0 in flight
  Append(Rec(1));
  Append(Rec(2));
  RunAll();
  for (const absl::Status& s : results_) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
  EXPECT_TRUE(log_->broken());
  EXPECT_FALSE(logs_.empty());
  Append(Rec(3));
  EXPECT_EQ(results_[3].code(), absl::StatusCode::kUnknown);
  RunAll();
  EXPECT_EQ(results_[3].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(io_.Count(Op::kFdatasync), 0u);
}

TEST_F(StateLogTest, FdatasyncFailureBreaksTheLog) {
  Open();
  io_.FailNext(Op::kFdatasync, EIO);
  Append(Rec(0));
  Append(Rec(1));
  RunAll();
  EXPECT_EQ(results_[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(results_[1].code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(log_->broken());
  // No retry after a failed fdatasync (fsyncgate).
  Append(Rec(2));
  RunAll();
  EXPECT_EQ(results_[2].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(io_.Count(Op::kWrite), 1u);
}

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
  // fdatasync of the new file, then rename, then the directory fsync.
  int sync = io_.IndexOf(Op::kFdatasync, "state.log.new");
  int rename = io_.IndexOf(Op::kRename, "state.log.new");
  int dir_sync = io_.IndexOf(Op::kFsync, dir_);
  ASSERT_GE(sync, 0);
  EXPECT_LT(sync, rename);
  EXPECT_LT(rename, dir_sync);
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
      if (log_ != nullptr) {
        bool drained = false;
        log_->Shutdown([&] { drained = true; });
        RunAll();
        ASSERT_TRUE(drained);
        log_.reset();
      }
      ::unlink(path_.c_str());
      results_.clear();
      StateLogOptions opts;
      opts.compact_chunk_bytes = chunk;
      Open(opts);
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
                 Case{Op::kRename, "state.log.new"}}) {
    SCOPED_TRACE(FakeFileIo::OpName(c.op));
    if (log_ != nullptr) {
      bool drained = false;
      log_->Shutdown([&] { drained = true; });
      RunAll();
      log_.reset();
    }
    ::unlink(path_.c_str());
    results_.clear();
    Open();
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
  io_.Fail(Op::kFsync, EIO, dir_);
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

TEST_F(StateLogTest, ShutdownFlushesThenRefuses) {
  Open();
  Append(Rec(0));
  Append(Rec(1));
  bool drained = false;
  log_->Shutdown([&] { drained = true; });
  Append(Rec(2));
  absl::Status compact = absl::UnknownError("pending");
  log_->Compact({}, [&](absl::Status s) { compact = s; });
  EXPECT_FALSE(drained);
  RunAll();
  EXPECT_TRUE(drained);
  EXPECT_TRUE(results_[0].ok());
  EXPECT_TRUE(results_[1].ok());
  EXPECT_EQ(results_[2].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(compact.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Decode(ReadFile(path_)).size(), 2u);
  EXPECT_EQ(io_.open_fds(), 0u);
  log_.reset();
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

TEST(OpenStateLogFileTest, CreatesAndTerminatesATornLine) {
  std::string dir = MakeTempDir();
  std::vector<std::string> logs;
  LogFn log = [&](std::string_view l) { logs.emplace_back(l); };
  absl::StatusOr<StateLogFile> f = OpenStateLogFile(dir, log);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->size, 0u);
  close(f->fd);
  std::string good = EncodeStateRecord(Rec(1));
  {
    std::ofstream out(dir + "/state.log", std::ios::binary);
    out << good << good.substr(0, 10);
  }
  f = OpenStateLogFile(dir, log);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size, good.size() + 11);
  close(f->fd);
  EXPECT_EQ(ReadFile(dir + "/state.log"), good + good.substr(0, 10) + "\n");
  EXPECT_EQ(logs.size(), 1u);
  f = OpenStateLogFile(dir, log);  // already terminated: unchanged
  ASSERT_TRUE(f.ok());
  close(f->fd);
  EXPECT_EQ(logs.size(), 1u);
  EXPECT_FALSE(OpenStateLogFile(dir + "/missing", log).ok());
}

}  // namespace
}  // namespace ringmail::storage::queue
