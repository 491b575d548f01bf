// DeliveryQueue, group commit. Every message that became ready while the
// previous batch was flushing (or within batch_window) goes into the next
// batch, up to max_batch_messages. Batches complete in the order they
// started.
//
// fsync batch (runs alone):
//   per file:   fdatasync -> close            (all files at once)
//   per message (once all its files are synced): rename tmp/x -> new/x,S=,W=
//   barrier:    every message of the batch renamed (or failed)
//   per dir:    one fsync per distinct new/ directory
//   then:       done callbacks
// journal batch (pipelined: the next one starts once this one's journal
// flush ended, while its renames run):
//   journal:    one pwrite of all records + ONE fdatasync of the journal
//   per file:   close (in parallel with the journal flush); an O_TMPFILE
//               file stays open (its fd is its only name)
//   per message (once closed, and this and every earlier batch's journal
//               flush succeeded): rename tmp/x -> new/x,S=,W= (O_TMPFILE:
//               linkat /proc/self/fd/N -> new/x,S=,W=, then close)
//   then:       done callbacks; the journal may retire the records at its
//               next checkpoint (syncfs)
#include <errno.h>
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
  // Otherwise a batch completion (or journal flush) starts the next one.
  if (!CanStartBatch()) return;
  absl::Duration delay = absl::ZeroDuration();
  if (ready_.size() < opts_.max_batch_messages) {
    if (opts_.batch_window > absl::ZeroDuration()) {
      delay = opts_.batch_window;
    } else if (opts_.commit_delay > absl::ZeroDuration() &&
               OthersInProgress()) {
      // Each flush is a trip through a kernel worker and a device cache
      // flush; with many sessions per core, waiting briefly for the
      // messages already arriving means fewer, larger batches (a few per
      // cent in the SMTP ingest benchmark, docs/performance.md).
      delay = opts_.commit_delay;
    }
  }
  if (delay <= absl::ZeroDuration()) {
    // Deferred by one loop iteration so messages completing in the same
    // iteration share the batch. Supersedes a pending delayed start.
    ScheduleBatch(absl::ZeroDuration());
  } else if (!batch_scheduled_) {
    ScheduleBatch(delay);
  }
}

bool DeliveryQueue::OthersInProgress() const {
  // Cheap exit for the common idle case; otherwise one pass over this
  // core's messages in flight (bounded by its sessions).
  if (messages_.size() <= ready_.size()) return false;
  for (const auto& [id, m] : messages_) {
    if (m->phase == Phase::kWriting) return true;
  }
  return false;
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

bool DeliveryQueue::UsesJournal(const MessageState* m) const {
  return m->journal_eligible && journal_ != nullptr && !journal_->broken();
}

bool DeliveryQueue::CanStartBatch() const {
  if (ready_.empty()) return false;
  if (batches_.empty()) return true;
  const Batch& last = *batches_.back();
  return UsesJournal(ready_.front()) && last.journal && last.flushed &&
         batches_.size() < opts_.max_batches_in_flight && !waiting_for_space_;
}

void DeliveryQueue::StartBatch() {
  if (!CanStartBatch()) return;
  if (UsesJournal(ready_.front())) {
    StartJournalBatch();
  } else {
    StartFsyncBatch();
  }
}

void DeliveryQueue::StartFsyncBatch() {
  auto owned = std::make_unique<Batch>();
  Batch* b = owned.get();
  b->number = next_batch_number_++;
  batches_.push_back(std::move(owned));
  size_t n = 0;
  while (n < ready_.size() && n < opts_.max_batch_messages &&
         !UsesJournal(ready_[n])) {
    ++n;
  }
  std::vector<MessageState*> messages(ready_.begin(), ready_.begin() + n);
  ready_.erase(ready_.begin(), ready_.begin() + n);
  b->before_barrier = n;
  for (MessageState* m : messages) b->ids.push_back(m->id);
  // All fdatasyncs go out together: the ring runs them in parallel.
  for (MessageState* m : messages) {
    assert(m->phase == Phase::kReady);
    m->phase = Phase::kSyncing;
    m->in_batch = true;
    m->batch = b;
    m->journal_body = std::string();
    m->step_pending = static_cast<int>(m->targets.size());
    for (size_t t = 0; t < m->targets.size(); ++t) SyncAndClose(m, t);
  }
}

bool DeliveryQueue::StartJournalBatch() {
  std::vector<uint64_t> sizes;
  std::vector<JournalRecordRef> records;
  uint64_t total = 0;
  size_t n = 0;
  while (n < ready_.size() && n < opts_.max_batch_messages &&
         UsesJournal(ready_[n])) {
    MessageState* m = ready_[n];
    size_t first = sizes.size();
    uint64_t bytes = 0;
    for (const TargetState& ts : m->targets) {
      JournalRecordRef r{ts.target.maildir, ts.new_name,
                         ts.target.header_prefix, m->journal_body};
      sizes.push_back(JournalRecordSize(r));
      bytes += sizes.back();
      records.push_back(r);
    }
    if ((n > 0 && total + bytes > journal_->max_batch_bytes()) ||
        !journal_->Fits(sizes)) {
      sizes.resize(first);
      records.resize(first);
      break;
    }
    total += bytes;
    ++n;
  }
  if (n == 0) {
    // Ring full: wait for the checkpoint to retire records (back-pressure;
    // the messages stay in ready_, their sessions wait for the reply).
    waiting_for_space_ = true;
    std::weak_ptr<bool> alive = alive_;
    journal_->WaitForSpace([this, alive] {
      if (alive.expired()) return;
      waiting_for_space_ = false;
      StartBatch();
    });
    return false;
  }
  auto owned = std::make_unique<Batch>();
  Batch* b = owned.get();
  b->number = next_batch_number_++;
  b->journal = true;
  batches_.push_back(std::move(owned));
  std::vector<MessageState*> messages(ready_.begin(), ready_.begin() + n);
  ready_.erase(ready_.begin(), ready_.begin() + n);
  b->before_barrier = n;
  for (MessageState* m : messages) {
    assert(m->phase == Phase::kReady);
    b->ids.push_back(m->id);
    m->phase = Phase::kSyncing;
    m->in_batch = true;
    m->batch = b;
  }
  // Append copies the records; the body copies can go.
  b->end = journal_->Append(records, [this, b](int r) { JournalFlushed(b, r); });
  for (MessageState* m : messages) {
    m->journal_body = std::string();
    m->step_pending = static_cast<int>(std::count_if(
        m->targets.begin(), m->targets.end(),
        [](const TargetState& ts) { return !ts.tmpfile; }));
    // Only unnamed files: nothing to close before their links, which
    // JournalFlushed issues (always later, from the flush's completion).
    if (m->step_pending == 0) m->closed = true;
    for (size_t t = 0; t < m->targets.size(); ++t) {
      if (!m->targets[t].tmpfile) CloseOnly(m, t);
    }
  }
  return true;
}

// Journal batch: no fdatasync of the file, the journal record covers it.
void DeliveryQueue::CloseOnly(MessageState* m, size_t t) {
  ++m->ops_in_flight;
  int fd = m->targets[t].fd;
  m->targets[t].fd = -1;
  io_->Close(fd, [this, m, t](int r) {
    --m->ops_in_flight;
    if (r < 0) {
      opts_.log(SyscallError(
          absl::StrCat("close(", m->targets[t].tmp_path, ")"), r));
      FailMessage(m, GenericIoStatus(r));
    }
    if (--m->step_pending > 0) return;
    m->closed = true;
    MaybeRenameJournaled(m);
  });
}

void DeliveryQueue::JournalFlushed(Batch* b, int r) {
  b->flushed = true;
  b->flush_result = r;
  if (r < 0) {
    opts_.log(absl::StrCat("journal write failed; batch ", b->number,
                           " and later journal batches fail, new messages use "
                           "fsync mode"));
    journal_fail_batch_ = std::min(journal_fail_batch_, b->number);
  }
  // Renames are released in batch order, only once every earlier flush
  // ended: a file may appear in new/ only if recovery can reach its record.
  // A failing message completes synchronously, so batches are only marked
  // complete here and drained once at the end (no deque change meanwhile).
  std::vector<Batch*> released;
  for (auto& owned : batches_) {
    Batch* x = owned.get();
    if (!x->journal || !x->flushed) break;
    if (x->renames_released) continue;
    x->renames_released = true;
    released.push_back(x);
  }
  defer_drain_ = true;
  for (Batch* x : released) {
    for (uint64_t id : x->ids) {
      auto it = messages_.find(id);
      if (it == messages_.end()) continue;
      MessageState* m = it->second.get();
      if (m->batch == x && m->phase == Phase::kSyncing && m->closed) {
        MaybeRenameJournaled(m);
      }
    }
    MaybeCompleteJournalBatch(x);
  }
  defer_drain_ = false;
  DrainBatches();  // also starts the next batch
}

void DeliveryQueue::MaybeRenameJournaled(MessageState* m) {
  Batch* b = m->batch;
  if (!m->closed || !b->renames_released) return;
  if (m->error.ok() && b->number >= journal_fail_batch_) {
    FailMessage(m, GenericIoStatus(b->flush_result < 0 ? b->flush_result : -EIO));
  }
  if (!m->error.ok()) {
    MessageReachedBarrier(m);
    return Cleanup(m);
  }
  RenameAll(m);
}

void DeliveryQueue::MaybeCompleteJournalBatch(Batch* b) {
  if (b->before_barrier > 0 || !b->flushed || b->complete) return;
  b->complete = true;
  if (!defer_drain_) DrainBatches();
}

// fsync batch, one file: (an O_TMPFILE file is first linked into tmp/,
// delivery_tmpfile.cc) fdatasync -> close. Renames once all files of the
// message are through.
void DeliveryQueue::SyncAndClose(MessageState* m, size_t t) {
  if (m->targets[t].tmpfile) return LinkIntoTmp(m, t);
  SyncFile(m, t);
}

void DeliveryQueue::SyncFile(MessageState* m, size_t t) {
  TargetState& ts = m->targets[t];
  ++m->ops_in_flight;
  io_->Fsync(ts.fd, !ts.full_fsync, [this, m, t](int r) {
    --m->ops_in_flight;
    TargetState& ts = m->targets[t];
    if (r < 0) {
      const char* call = ts.full_fsync ? "fsync(" : "fdatasync(";
      opts_.log(SyscallError(absl::StrCat(call, ts.tmp_path, ")"), r));
      FailMessage(m, GenericIoStatus(r));
    }
    CloseSynced(m, t);
  });
}

// Closes target `t`'s fd (gone either way, so it no longer counts as an
// unnamed O_TMPFILE file). close() can report delayed write errors (e.g.
// NFS): an error fails the message, logged with `label`. Then runs `then`.
void DeliveryQueue::CloseTargetFd(MessageState* m, size_t t,
                                  std::string label,
                                  absl::AnyInvocable<void()> then) {
  TargetState& ts = m->targets[t];
  int fd = ts.fd;
  ts.fd = -1;
  ts.tmpfile = false;
  ++m->ops_in_flight;
  io_->Close(fd, [this, m, label = std::move(label),
                  then = std::move(then)](int r) mutable {
    --m->ops_in_flight;
    if (r < 0) {
      opts_.log(SyscallError(absl::StrCat("close(", label, ")"), r));
      FailMessage(m, GenericIoStatus(r));
    }
    then();
  });
}

void DeliveryQueue::CloseSynced(MessageState* m, size_t t) {
  CloseTargetFd(m, t, internal::FileLabel(m->targets[t]), [this, m] {
    if (--m->step_pending > 0) return;
    if (!m->error.ok()) {
      MessageReachedBarrier(m);
      return Cleanup(m);
    }
    RenameAll(m);
  });
}

void DeliveryQueue::ComputeNewNames(MessageState* m) {
  for (TargetState& ts : m->targets) {
    const std::string& prefix = ts.target.header_prefix;
    uint64_t size = prefix.size() + m->body_bytes;
    uint64_t vsize = size + m->body_lf +
                     std::count(prefix.begin(), prefix.end(), '\n');
    ts.new_name = FormatNewName(ts.base, size, vsize);
  }
}

// Renames only after every file of the message is durable, so a failure of
// one target never leaves another target's copy behind in new/ for long.
// An O_TMPFILE file (journal batch only) is linked into new/ instead.
void DeliveryQueue::RenameAll(MessageState* m) {
  m->phase = Phase::kRenaming;
  m->step_pending = static_cast<int>(m->targets.size());
  for (size_t t = 0; t < m->targets.size(); ++t) {
    TargetState& ts = m->targets[t];
    std::string new_path = absl::StrCat(ts.new_dir, "/", ts.new_name);
    if (ts.tmpfile) {
      assert(m->batch != nullptr && m->batch->journal);
      LinkIntoNew(m, t, std::move(new_path));
      continue;
    }
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
                    RenamedOne(m);
                  });
  }
}

// One target's rename (or link + close) ended.
void DeliveryQueue::RenamedOne(MessageState* m) {
  if (--m->step_pending > 0) return;
  if (!m->error.ok()) {
    MessageReachedBarrier(m);
    return Cleanup(m);  // unlinks the renamed (linked) copies too
  }
  m->phase = Phase::kBarrier;
  MessageReachedBarrier(m);
}

void DeliveryQueue::MessageReachedBarrier(MessageState* m) {
  Batch* b = m->batch;
  assert(b != nullptr && m->in_batch);
  if (m->phase != Phase::kBarrier) {  // failed: out
    m->in_batch = false;
    m->batch = nullptr;
  }
  assert(b->before_barrier > 0);
  if (--b->before_barrier > 0) return;
  if (b->journal) {
    MaybeCompleteJournalBatch(b);
  } else {
    SyncDirs(b);
  }
}

void DeliveryQueue::SyncDirs(Batch* b) {
  for (uint64_t id : b->ids) {
    auto it = messages_.find(id);
    if (it == messages_.end() || it->second->phase != Phase::kBarrier) continue;
    for (const TargetState& ts : it->second->targets) {
      b->dirs.try_emplace(ts.new_dir);
    }
  }
  auto finished = [this, b] {
    b->complete = true;
    DrainBatches();
  };
  if (b->dirs.empty()) return finished();
  b->dirs_pending = b->dirs.size();
  auto synced = [this, b, finished](const std::string& dir, int r) {
    Batch::Dir& d = b->dirs[dir];
    if (r < 0) {
      opts_.log(SyscallError(absl::StrCat("fsync(", dir, ")"), r));
      d.result = r;
    }
    if (--b->dirs_pending == 0) finished();
  };
  for (auto& [dir, d] : b->dirs) {
    d.fd = dir_fds_.Lookup(dir);
    if (d.fd >= 0) {
      d.cached = true;
      io_->Fsync(d.fd, false, [synced, dir = dir](int r) { synced(dir, r); });
      continue;
    }
    io_->OpenAt(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
                [this, b, synced, finished, dir = dir](int fd) {
                  if (fd < 0) {
                    opts_.log(SyscallError(absl::StrCat("open(", dir, ")"), fd));
                    b->dirs[dir].result = fd;
                    if (--b->dirs_pending == 0) finished();
                    return;
                  }
                  b->dirs[dir].fd = fd;
                  io_->Fsync(fd, false, [synced, dir](int r) { synced(dir, r); });
                });
  }
}

// Completes finished batches in the order they started.
void DeliveryQueue::DrainBatches() {
  while (!batches_.empty() && batches_.front()->complete) {
    std::unique_ptr<Batch> b = std::move(batches_.front());
    batches_.pop_front();
    FinishBatch(*b);
  }
  StartBatch();  // messages that became ready meanwhile
  MaybeDrained();
}

void DeliveryQueue::FinishBatch(Batch& batch) {
  ++batches_committed_;
  // Cache the new directory fds only now: no fsync uses them any more, so
  // evicting (closing) one cannot race an operation of this batch (fsync
  // batches never overlap another batch).
  for (auto& [dir, d] : batch.dirs) {
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
  std::vector<std::string> applied_dirs;
  for (uint64_t id : batch.ids) {
    auto it = messages_.find(id);
    if (it == messages_.end()) continue;
    MessageState* m = it->second.get();
    if (!m->in_batch || m->batch != &batch || m->phase != Phase::kBarrier) {
      continue;
    }
    m->in_batch = false;
    m->batch = nullptr;
    int error = 0;
    if (batch.journal) {
      for (const TargetState& ts : m->targets) applied_dirs.push_back(ts.new_dir);
    } else {
      for (const TargetState& ts : m->targets) {
        int r = batch.dirs[ts.new_dir].result;
        if (r < 0 && error == 0) error = r;
      }
    }
    if (error < 0) {
      // Not durable: report failure so the client retries, and remove our
      // copies (best effort) to avoid a duplicate if they survive.
      FailMessage(m, GenericIoStatus(error));
      Cleanup(m);
    } else {
      Complete(m);
    }
  }
  if (batch.journal) journal_->MarkApplied(batch.end, applied_dirs);
}

}  // namespace ringmail::storage
