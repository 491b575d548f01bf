#include "storage/queue/state_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_log_compaction.h"

namespace ringmail::storage::queue {

// ---- Blocking start-up helper.

absl::StatusOr<StateLogFile> OpenStateLogFile(const std::string& core_dir,
                                              const LogFn& log,
                                              engine::BlockingFs& fs) {
  const std::string path = absl::StrCat(core_dir, "/", AbslView(kStateLogName));
  auto fail = [&](std::string_view what, int neg_errno) {
    log(SyscallError(absl::StrCat(AbslView(what), "(", path, ")"), neg_errno));
    return absl::InternalError(absl::StrCat("cannot open queue state log ", path));
  };
  bool created = false;
  int fd = fs.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd == -ENOENT) {
    fd = fs.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    created = fd >= 0;
  }
  if (fd < 0) return fail("open", fd);
  engine::FsFd owner(fs, fd);
  struct stat st;
  if (int e = fs.Fstat(fd, &st); e != 0) return fail("fstat", e);
  StateLogFile file{fd, static_cast<uint64_t>(st.st_size)};
  if (file.size > 0) {
    char last = 0;
    ssize_t n = fs.Pread(fd, &last, 1, static_cast<off_t>(file.size - 1));
    if (n != 1) return fail("pread", n < 0 ? static_cast<int>(n) : -EIO);
    if (last != '\n') {
      log(absl::StrCat(path, ": torn last line; terminating it"));
      ssize_t w = fs.Pwrite(fd, "\n", 1, static_cast<off_t>(file.size));
      int e = w == 1 ? fs.Fdatasync(fd) : (w < 0 ? static_cast<int>(w) : -EIO);
      if (e != 0) return fail("pwrite/fdatasync", e);
      ++file.size;
    }
  }
  if (created) {
    engine::FsFd dfd(fs, fs.Open(AT_FDCWD, core_dir.c_str(),
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
    int e = dfd.get() < 0 ? dfd.get() : fs.Fsync(dfd.get());
    if (e != 0) return fail("fsync directory of", e);
  }
  owner.release();
  return file;
}

// ---- StateLog.

StateLog::StateLog(engine::FileIo* io, std::string core_dir,
                   StateLogFile file, StateLogOptions opts,
                   StateLogRunAfterFn run_after)
    : io_(io),
      dir_(std::move(core_dir)),
      path_(absl::StrCat(dir_, "/", AbslView(kStateLogName))),
      new_path_(absl::StrCat(dir_, "/", AbslView(kStateLogNewName))),
      queue_dir_(absl::StrCat(dir_, "/new")),
      opts_(std::move(opts)),
      run_after_(std::move(run_after)),
      fd_(file.fd),
      end_(file.size),
      compacted_bytes_(file.size) {
  assert(fd_ >= 0);
  if (opts_.max_batch_bytes == 0) opts_.max_batch_bytes = 1;
  if (opts_.compact_chunk_bytes == 0) opts_.compact_chunk_bytes = 1;
}

StateLog::~StateLog() {
  // A pwrite in flight still reads our buffers.
  assert(ops_in_flight_ == 0);
}

engine::IoCallback StateLog::Guard(absl::AnyInvocable<void(int)> fn) {
  ++ops_in_flight_;
  std::weak_ptr<bool> alive = alive_;
  return [this, alive, fn = std::move(fn)](int r) mutable {
    if (alive.expired()) return;
    --ops_in_flight_;
    fn(r);
    // Cleanup operations (closes, unlinks) may be the last thing Shutdown
    // waits for. `fn` may have run the shutdown callback, which may have
    // destroyed us.
    if (!alive.expired()) MaybeShutdownDone();
  };
}

void StateLog::Defer(StatusCallback cb, absl::Status status) {
  run_after_(absl::ZeroDuration(),
             [cb = std::move(cb), status = std::move(status)]() mutable {
               cb(std::move(status));
             });
}

void StateLog::Append(const StateRecord& record, StatusCallback durable) {
  if (!broken_.ok()) return Defer(std::move(durable), broken_);
  if (shutting_down_) {
    return Defer(std::move(durable),
                 absl::UnavailableError("queue state log is shut down"));
  }
  std::string line = EncodeStateRecord(record);
  if (queued_bytes_ + line.size() > opts_.max_queued_bytes) {
    return Defer(std::move(durable),
                 absl::ResourceExhaustedError("queue state log is full"));
  }
  queued_bytes_ += line.size();
  pending_.push_back(Entry{std::move(line), std::move(durable)});
  MaybeScheduleBatch();
}

bool StateLog::CanStartBatch() const {
  return broken_.ok() && !closing_ &&
         !(compaction_ != nullptr && compaction_->switching);
}

void StateLog::MaybeScheduleBatch() {
  if (batch_scheduled_ || flushing_ || pending_.empty() || !CanStartBatch()) {
    return;
  }
  batch_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  // Deferred so that every record appended in this loop iteration joins.
  run_after_(absl::ZeroDuration(), [this, alive] {
    if (alive.expired()) return;
    batch_scheduled_ = false;
    StartBatch();
  });
}

void StateLog::StartBatch() {
  if (flushing_ || pending_.empty() || !CanStartBatch()) {
    MaybeShutdownDone();
    return;
  }
  batch_.clear();
  batch_callbacks_.clear();
  while (!pending_.empty() &&
         (batch_.empty() ||
          batch_.size() + pending_.front().line.size() <= opts_.max_batch_bytes)) {
    Entry& e = pending_.front();
    batch_.append(e.line);
    queued_bytes_ -= e.line.size();
    batch_callbacks_.push_back(std::move(e.durable));
    pending_.pop_front();
  }
  if (compaction_ != nullptr && compaction_->abort.ok()) {
    Compaction& c = *compaction_;
    if (c.carry.size() + batch_.size() > opts_.max_queued_bytes) {
      c.abort = absl::ResourceExhaustedError(
          "queue state log compaction: too many appends meanwhile");
      c.carry.clear();
      c.carry.shrink_to_fit();
    } else {
      c.carry.append(batch_);
    }
  }
  flushing_ = true;
  batch_offset_ = end_;
  end_ += batch_.size();
  WriteBatch(0);
}

void StateLog::WriteBatch(size_t done) {
  io_->Write(fd_, batch_.data() + done, batch_.size() - done,
             batch_offset_ + done, Guard([this, done](int r) {
               if (r < 0) return Break(r, absl::StrCat("pwrite(", path_, ")"));
               if (r == 0) {
                 return Break(-EIO, absl::StrCat("pwrite(", path_, ") wrote 0 bytes"));
               }
               size_t now = done + static_cast<size_t>(r);
               if (now < batch_.size()) return WriteBatch(now);
               io_->Fsync(fd_, /*datasync=*/true, Guard([this](int r) {
                            if (r < 0) {
                              return Break(r, absl::StrCat("fdatasync(", path_, ")"));
                            }
                            BatchDurable();
                          }));
             }));
}

void StateLog::BatchDurable() {
  flushing_ = false;
  ++batches_flushed_;
  std::vector<StatusCallback> callbacks = std::move(batch_callbacks_);
  batch_callbacks_.clear();
  std::weak_ptr<bool> alive = alive_;
  for (StatusCallback& cb : callbacks) {
    cb(absl::OkStatus());
    // A callback may end the owner's interest but must not destroy us
    // while a batch could still be in flight; be defensive anyway.
    if (alive.expired()) return;
  }
  if (compaction_ != nullptr && compaction_->switching &&
      !compaction_->switch_started) {
    CompactSwitch();
    return;
  }
  StartBatch();
}

void StateLog::Break(int neg_errno, std::string_view what) {
  opts_.log(SyscallError(what, neg_errno));
  if (broken_.ok()) {
    opts_.log(absl::StrCat(path_, ": queue state log broken; relay stops on this core"));
    broken_ = absl::UnavailableError("queue state log failed");
  }
  flushing_ = false;
  std::vector<StatusCallback> callbacks = std::move(batch_callbacks_);
  batch_callbacks_.clear();
  for (Entry& e : pending_) callbacks.push_back(std::move(e.durable));
  pending_.clear();
  queued_bytes_ = 0;
  if (compaction_ != nullptr && !compaction_->op_in_flight) {
    AbortCompaction(broken_);
  }
  std::weak_ptr<bool> alive = alive_;
  for (StatusCallback& cb : callbacks) {
    cb(broken_);
    if (alive.expired()) return;
  }
  MaybeShutdownDone();
}

// ---- Shutdown.

void StateLog::Shutdown(absl::AnyInvocable<void()> done) {
  assert(!shutting_down_);
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  MaybeShutdownDone();
}

void StateLog::MaybeShutdownDone() {
  if (!shutting_down_ || closing_) return;
  if (flushing_ || compaction_ != nullptr || batch_scheduled_ ||
      ops_in_flight_ > 0) {
    return;
  }
  if (!pending_.empty() && broken_.ok()) return;  // a batch will take them
  closing_ = true;
  if (fd_ < 0) {
    run_after_(absl::ZeroDuration(), std::move(shutdown_done_));
    return;
  }
  int fd = fd_;
  fd_ = -1;
  io_->Close(fd, Guard([this](int r) {
               if (r < 0) opts_.log(SyscallError(absl::StrCat("close(", path_, ")"), r));
               auto done = std::move(shutdown_done_);
               done();
             }));
}

}  // namespace ringmail::storage::queue
