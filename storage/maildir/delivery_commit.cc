// DeliveryQueue, group commit. One batch at a time: every message that
// became ready while the previous batch was flushing (or within
// batch_window) goes into the next one, up to max_batch_messages.
//
//   per file:   fdatasync -> close            (all files at once)
//   per message (once all its files are synced): rename tmp/x -> new/x,S=,W=
//   barrier:    every message of the batch renamed (or failed)
//   per dir:    one fsync per distinct new/ directory
//   then:       done callbacks
#include <fcntl.h>

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/delivery_state.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::storage {

using internal::MessageState;
using internal::Phase;
using internal::TargetState;

void DeliveryQueue::Enqueue(MessageState* m) {
  ready_.push_back(m);
  if (batch_ != nullptr) return;  // FinishBatch() starts the next one.
  if (opts_.batch_window <= absl::ZeroDuration() ||
      ready_.size() >= opts_.max_batch_messages) {
    // Deferred by one loop iteration so messages completing in the same
    // iteration share the batch.
    ScheduleBatch(absl::ZeroDuration());
  } else if (!batch_scheduled_) {
    ScheduleBatch(opts_.batch_window);
  }
}

void DeliveryQueue::ScheduleBatch(absl::Duration delay) {
  if (batch_scheduled_ && delay > absl::ZeroDuration()) return;
  batch_scheduled_ = true;
  // A newer schedule supersedes an older (longer) timer.
  uint64_t generation = ++batch_timer_generation_;
  std::weak_ptr<bool> alive = alive_;
  run_after_(delay, [this, alive, generation] {
    if (alive.expired() || generation != batch_timer_generation_) return;
    batch_scheduled_ = false;
    StartBatch();
  });
}

void DeliveryQueue::StartBatch() {
  if (batch_ != nullptr || ready_.empty()) return;
  batch_ = std::make_unique<Batch>();
  size_t n = std::min(ready_.size(), opts_.max_batch_messages);
  std::vector<MessageState*> messages(ready_.begin(), ready_.begin() + n);
  ready_.erase(ready_.begin(), ready_.begin() + n);
  batch_->before_barrier = n;
  for (MessageState* m : messages) batch_->ids.push_back(m->id);
  // All fdatasyncs go out together: the ring runs them in parallel.
  for (MessageState* m : messages) {
    assert(m->phase == Phase::kReady);
    m->phase = Phase::kSyncing;
    m->in_batch = true;
    m->step_pending = static_cast<int>(m->targets.size());
    for (size_t t = 0; t < m->targets.size(); ++t) SyncAndClose(m, t);
  }
}

void DeliveryQueue::SyncAndClose(MessageState* m, size_t t) {
  ++m->ops_in_flight;
  io_->Fsync(m->targets[t].fd, true, [this, m, t](int r) {
    TargetState& ts = m->targets[t];
    if (r < 0) {
      opts_.log(SyscallError(absl::StrCat("fdatasync(", ts.tmp_path, ")"), r));
      FailMessage(m, GenericIoStatus(r));
    }
    int fd = ts.fd;
    ts.fd = -1;
    io_->Close(fd, [this, m, t](int r) {
      --m->ops_in_flight;
      TargetState& ts = m->targets[t];
      if (r < 0) {
        // close() can report delayed write errors (e.g. NFS): not durable.
        opts_.log(SyscallError(absl::StrCat("close(", ts.tmp_path, ")"), r));
        FailMessage(m, GenericIoStatus(r));
      }
      if (--m->step_pending > 0) return;
      if (!m->error.ok()) {
        MessageReachedBarrier(m);
        return Cleanup(m);
      }
      RenameAll(m);
    });
  });
}

// Renames only after every file of the message is durable, so a failure of
// one target never leaves another target's copy behind in new/ for long.
void DeliveryQueue::RenameAll(MessageState* m) {
  m->phase = Phase::kRenaming;
  m->step_pending = static_cast<int>(m->targets.size());
  for (size_t t = 0; t < m->targets.size(); ++t) {
    TargetState& ts = m->targets[t];
    const std::string& prefix = ts.target.header_prefix;
    uint64_t size = prefix.size() + m->body_bytes;
    uint64_t vsize = size + m->body_lf +
                     std::count(prefix.begin(), prefix.end(), '\n');
    ts.new_name = FormatNewName(ts.base, size, vsize);
    std::string new_path = absl::StrCat(ts.new_dir, "/", ts.new_name);
    ++m->ops_in_flight;
    io_->RenameAt(AT_FDCWD, ts.tmp_path, AT_FDCWD, new_path,
                  [this, m, t, new_path](int r) {
                    --m->ops_in_flight;
                    TargetState& ts = m->targets[t];
                    if (r == 0) {
                      ts.renamed = true;
                      ts.created = false;
                    } else {
                      opts_.log(SyscallError(
                          absl::StrCat("rename(", ts.tmp_path, ", ", new_path,
                                       ")"),
                          r));
                      FailMessage(m, GenericIoStatus(r));
                    }
                    if (--m->step_pending > 0) return;
                    if (!m->error.ok()) {
                      MessageReachedBarrier(m);
                      return Cleanup(m);  // unlinks the renamed copies too
                    }
                    m->phase = Phase::kBarrier;
                    MessageReachedBarrier(m);
                  });
  }
}

void DeliveryQueue::MessageReachedBarrier(MessageState* m) {
  assert(batch_ != nullptr && m->in_batch);
  if (m->phase != Phase::kBarrier) m->in_batch = false;  // failed: out
  assert(batch_->before_barrier > 0);
  if (--batch_->before_barrier == 0) SyncDirs();
}

void DeliveryQueue::SyncDirs() {
  for (uint64_t id : batch_->ids) {
    auto it = messages_.find(id);
    if (it == messages_.end() || it->second->phase != Phase::kBarrier) continue;
    for (const TargetState& ts : it->second->targets) {
      batch_->dirs.try_emplace(ts.new_dir);
    }
  }
  if (batch_->dirs.empty()) return FinishBatch();
  batch_->dirs_pending = batch_->dirs.size();
  auto synced = [this](const std::string& dir, int r) {
    Batch::Dir& d = batch_->dirs[dir];
    if (r < 0) {
      opts_.log(SyscallError(absl::StrCat("fsync(", dir, ")"), r));
      d.result = r;
    }
    if (--batch_->dirs_pending == 0) FinishBatch();
  };
  for (auto& [dir, d] : batch_->dirs) {
    d.fd = dir_fds_.Lookup(dir);
    if (d.fd >= 0) {
      d.cached = true;
      io_->Fsync(d.fd, false, [synced, dir = dir](int r) { synced(dir, r); });
      continue;
    }
    io_->OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                [this, synced, dir = dir](int fd) {
                  if (fd < 0) {
                    opts_.log(SyscallError(absl::StrCat("open(", dir, ")"), fd));
                    batch_->dirs[dir].result = fd;
                    if (--batch_->dirs_pending == 0) FinishBatch();
                    return;
                  }
                  batch_->dirs[dir].fd = fd;
                  io_->Fsync(fd, false, [synced, dir](int r) { synced(dir, r); });
                });
  }
}

void DeliveryQueue::FinishBatch() {
  std::unique_ptr<Batch> batch = std::move(batch_);
  ++batches_committed_;
  // Cache the new directory fds only now: no fsync uses them any more, so
  // evicting (closing) one cannot race an operation of this batch.
  for (auto& [dir, d] : batch->dirs) {
    if (d.fd < 0) continue;
    int to_close = -1;
    if (d.result < 0) {
      // Do not trust a directory that failed fsync; reopen next time.
      if (d.cached) dir_fds_.Erase(dir);
      to_close = d.fd;
    } else if (!d.cached) {
      to_close = dir_fds_.Insert(dir, d.fd);
    }
    if (to_close >= 0) io_->Close(to_close, [](int) {});
  }
  for (uint64_t id : batch->ids) {
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    MessageState* m = it->second.get();
    if (!m->in_batch || m->phase != Phase::kBarrier) continue;
    m->in_batch = false;
    int dir_error = 0;
    for (const TargetState& ts : m->targets) {
      int r = batch->dirs[ts.new_dir].result;
      if (r < 0 && dir_error == 0) dir_error = r;
    }
    if (dir_error < 0) {
      // Not durable: report failure so the client retries, and remove our
      // copies (best effort) to avoid a duplicate if they survive.
      FailMessage(m, GenericIoStatus(dir_error));
      Cleanup(m);
    } else {
      Complete(m);
    }
  }
  StartBatch();  // messages that became ready meanwhile
  MaybeDrained();
}

}  // namespace ringmail::storage
