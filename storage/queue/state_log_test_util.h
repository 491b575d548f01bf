// Shared fixture of the StateLog tests (state_log_test.cc,
// state_log_compact_test.cc).
#ifndef RINGMAIL_STORAGE_QUEUE_STATE_LOG_TEST_UTIL_H_
#define RINGMAIL_STORAGE_QUEUE_STATE_LOG_TEST_UTIL_H_

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

namespace ringmail::storage::queue::testing {

using ::ringmail::engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;

inline std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/slXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// Record i: recipient 0 of file "f<i % files>" with `attempts` = i, so
// records for the same file overwrite each other at replay.
inline StateRecord Rec(int i, int files = 1000) {
  StateRecord r;
  r.kind = StateRecord::Kind::kRecipient;
  r.file = "f" + std::to_string(i % files);
  r.rcpt = 0;
  r.status.state = RecipientState::kDeferred;
  r.status.attempts = static_cast<uint32_t>(i);
  r.status.last_reply = "451 try later";
  return r;
}

inline std::vector<StateRecord> Decode(const std::string& text) {
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
inline std::map<std::string, uint32_t> Replay(const std::vector<StateRecord>& records) {
  std::map<std::string, uint32_t> state;
  for (const StateRecord& r : records) state[r.file] = r.status.attempts;
  return state;
}

class StateLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    path_ = dir_ + "/state.log";
    ASSERT_EQ(mkdir((dir_ + "/new").c_str(), 0700), 0);
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

  // Shuts the log down and starts again with an empty file.
  void Reset(StateLogOptions opts = StateLogOptions()) {
    if (log_ != nullptr) {
      bool drained = false;
      log_->Shutdown([&] { drained = true; });
      RunAll();
      ASSERT_TRUE(drained);
      log_.reset();
    }
    ::unlink(path_.c_str());
    results_.clear();
    Open(std::move(opts));
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

}  // namespace ringmail::storage::queue::testing

#endif  // RINGMAIL_STORAGE_QUEUE_STATE_LOG_TEST_UTIL_H_
