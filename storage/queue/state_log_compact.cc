// StateLog::Compact and its steps (see state_log.h).
#include <errno.h>
#include <fcntl.h>

#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/queue/state_log.h"
#include "storage/queue/state_log_compaction.h"

namespace ringmail::storage::queue {

void StateLog::Compact(std::vector<StateRecord> live, StatusCallback done) {
  if (!broken_.ok()) return Defer(std::move(done), broken_);
  if (shutting_down_) {
    return Defer(std::move(done),
                 absl::UnavailableError("queue state log is shut down"));
  }
  if (compaction_ != nullptr) {
    return Defer(std::move(done),
                 absl::FailedPreconditionError("compaction already running"));
  }
  compaction_ = std::make_unique<Compaction>();
  compaction_->records = std::move(live);
  compaction_->done = std::move(done);
  compaction_->op_in_flight = true;
  io_->OpenAt(AT_FDCWD, new_path_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
              0600, Guard([this](int r) { CompactOpened(r); }));
}

void StateLog::CompactOpened(int r) {
  Compaction& c = *compaction_;
  c.op_in_flight = false;
  if (r < 0) {
    opts_.log(SyscallError(absl::StrCat("open(", new_path_, ")"), r));
    return AbortCompaction(absl::UnavailableError("queue state log compaction failed"));
  }
  c.fd = r;
  CompactWriteNext();
}

void StateLog::CompactWriteNext() {
  Compaction& c = *compaction_;
  if (!broken_.ok()) return AbortCompaction(broken_);
  if (!c.abort.ok()) return AbortCompaction(c.abort);
  if (c.chunk_done == c.chunk.size()) {
    c.chunk.clear();
    c.chunk_done = 0;
    while (c.next < c.records.size() && c.chunk.size() < opts_.compact_chunk_bytes) {
      AppendStateRecord(c.records[c.next++], &c.chunk);
    }
  }
  if (c.chunk.empty()) {
    // Snapshot written. Stop starting batches; switch once none is in flight.
    c.records.clear();
    c.records.shrink_to_fit();
    c.switching = true;
    if (!flushing_) CompactSwitch();
    return;
  }
  c.op_in_flight = true;
  io_->Write(c.fd, c.chunk.data() + c.chunk_done, c.chunk.size() - c.chunk_done,
             c.size, Guard([this](int r) {
               Compaction& c = *compaction_;
               c.op_in_flight = false;
               if (r <= 0) {
                 opts_.log(SyscallError(absl::StrCat("pwrite(", new_path_, ")"),
                                        r < 0 ? r : -EIO));
                 return AbortCompaction(
                     absl::UnavailableError("queue state log compaction failed"));
               }
               c.chunk_done += static_cast<size_t>(r);
               c.size += static_cast<uint64_t>(r);
               CompactWriteNext();
             }));
}

void StateLog::CompactSwitch() {
  Compaction& c = *compaction_;
  assert(c.switching && !flushing_);
  c.switch_started = true;
  if (!broken_.ok()) return AbortCompaction(broken_);
  if (!c.abort.ok()) return AbortCompaction(c.abort);
  CompactWriteCarry(0);
}

void StateLog::CompactWriteCarry(size_t done) {
  Compaction& c = *compaction_;
  c.op_in_flight = true;
  if (done == c.carry.size()) {
    io_->Fsync(c.fd, /*datasync=*/true,
               Guard([this](int r) { CompactSynced(r); }));
    return;
  }
  io_->Write(c.fd, c.carry.data() + done, c.carry.size() - done, c.size,
             Guard([this, done](int r) {
               Compaction& c = *compaction_;
               c.op_in_flight = false;
               if (r <= 0) {
                 opts_.log(SyscallError(absl::StrCat("pwrite(", new_path_, ")"),
                                        r < 0 ? r : -EIO));
                 return AbortCompaction(
                     absl::UnavailableError("queue state log compaction failed"));
               }
               c.size += static_cast<uint64_t>(r);
               CompactWriteCarry(done + static_cast<size_t>(r));
             }));
}

void StateLog::CompactSynced(int r) {
  compaction_->op_in_flight = false;
  if (r < 0) {
    opts_.log(SyscallError(absl::StrCat("fdatasync(", new_path_, ")"), r));
    return AbortCompaction(absl::UnavailableError("queue state log compaction failed"));
  }
  // Unlinks of finished files are not fsynced by the caller; the snapshot
  // no longer has their `removed` records, so make those unlinks durable
  // before the new log is (else a crash could bring back a finished file
  // with no state at all, and it would be sent again).
  compaction_->op_in_flight = true;
  io_->OpenAt(AT_FDCWD, queue_dir_, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
              Guard([this](int r) {
                compaction_->op_in_flight = false;
                if (r == -ENOENT) return CompactRename();  // nothing to persist
                if (r < 0) {
                  opts_.log(SyscallError(absl::StrCat("open(", queue_dir_, ")"), r));
                  return AbortCompaction(
                      absl::UnavailableError("queue state log compaction failed"));
                }
                int dirfd = r;
                compaction_->op_in_flight = true;
                io_->Fsync(dirfd, /*datasync=*/false, Guard([this, dirfd](int r) {
                             io_->Close(dirfd, Guard([](int) {}));
                             compaction_->op_in_flight = false;
                             if (r < 0) {
                               opts_.log(SyscallError(
                                   absl::StrCat("fsync(", queue_dir_, ")"), r));
                               return AbortCompaction(absl::UnavailableError(
                                   "queue state log compaction failed"));
                             }
                             CompactRename();
                           }));
              }));
}

void StateLog::CompactRename() {
  compaction_->op_in_flight = true;
  io_->RenameAt(AT_FDCWD, new_path_, AT_FDCWD, path_,
                Guard([this](int r) { CompactRenamed(r); }));
}

void StateLog::CompactRenamed(int r) {
  Compaction& c = *compaction_;
  c.op_in_flight = false;
  if (r < 0) {
    // rename(2) is atomic: the old log is still state.log and complete.
    opts_.log(SyscallError(absl::StrCat("rename(", new_path_, ", ", path_, ")"), r));
    return AbortCompaction(absl::UnavailableError("queue state log compaction failed"));
  }
  // From here on state.log is the new file. Only the old fd is left to the
  // old inode, so appends must go to the new one; and the rename must be
  // durable before any record written to the new file is reported durable
  // (otherwise a crash could bring back the old file without them).
  int old = fd_;
  fd_ = c.fd;
  c.fd = -1;
  end_ = c.size;
  io_->Close(old, Guard([this](int r) {
               if (r < 0) opts_.log(SyscallError("close(old state log)", r));
             }));
  c.op_in_flight = true;
  io_->OpenAt(AT_FDCWD, dir_, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
              Guard([this](int r) { CompactDirOpened(r); }));
}

void StateLog::CompactDirOpened(int r) {
  compaction_->op_in_flight = false;
  if (r < 0) {
    Break(r, absl::StrCat("open(", dir_, ")"));
    return;
  }
  compaction_->op_in_flight = true;
  int dirfd = r;
  io_->Fsync(dirfd, /*datasync=*/false,
             Guard([this, dirfd](int r) { CompactDirSynced(dirfd, r); }));
}

void StateLog::CompactDirSynced(int dirfd, int r) {
  io_->Close(dirfd, Guard([](int) {}));
  compaction_->op_in_flight = false;
  if (r < 0) {
    Break(r, absl::StrCat("fsync(", dir_, ")"));
    return;
  }
  compacted_bytes_ = end_;
  ++compactions_;
  StatusCallback done = std::move(compaction_->done);
  compaction_.reset();
  std::weak_ptr<bool> alive = alive_;
  done(absl::OkStatus());
  if (alive.expired()) return;
  StartBatch();
}

void StateLog::AbortCompaction(absl::Status status) {
  assert(compaction_ != nullptr && !compaction_->op_in_flight);
  std::unique_ptr<Compaction> c = std::move(compaction_);
  if (c->fd >= 0) {
    io_->Close(c->fd, Guard([](int) {}));
    // Best effort: a leftover state.log.new is never read, and the loader
    // removes it.
    io_->UnlinkAt(AT_FDCWD, new_path_, 0, Guard([](int) {}));
  }
  if (status.code() == absl::StatusCode::kResourceExhausted) {
    opts_.log(absl::StrCat(path_, ": ", status.message()));
  }
  std::weak_ptr<bool> alive = alive_;
  c->done(std::move(status));
  if (alive.expired()) return;
  StartBatch();  // batches paused while switching resume on the old log
}

}  // namespace ringmail::storage::queue
