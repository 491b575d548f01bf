#include <errno.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/queue/state_log.h"
#include "storage/queue/state_log_test_util.h"

namespace ringmail::storage::queue {
namespace {

using namespace ::ringmail::storage::queue::testing;  // NOLINT

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
