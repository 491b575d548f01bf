// The runtime writer of a per-core delivery journal (journal_format.h):
// appends batches of records with one fdatasync each, and retires them by
// checkpoints once their Maildir files are durable. One per core, used only
// from the core's thread, over engine::FileIo; the journal is opened by
// OpenJournalFile (journal_recovery.h) after recovery.
#ifndef RINGMAIL_STORAGE_MAILDIR_JOURNAL_WRITER_H_
#define RINGMAIL_STORAGE_MAILDIR_JOURNAL_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/file_io.h"
#include "storage/maildir/errors.h"
#include "storage/maildir/journal_format.h"

namespace ringmail::storage {

// Makes the Maildir files under `dirs` (new/ directories) durable, e.g. by
// syncfs(2) of each distinct file system; `done(0 or -errno)` later, on the
// core's thread.
using SyncFsFn = absl::AnyInvocable<void(std::vector<std::string> dirs,
                                         engine::IoCallback done)>;
// Runs `fn` once, `delay` from now, on the core's thread (the checkpoint
// timer).
using JournalRunAfterFn =
    absl::AnyInvocable<void(absl::Duration delay, absl::AnyInvocable<void()> fn)>;

// Single-threaded (the core's thread); every callback runs there, later.
class JournalWriter {
 public:
  struct Position {
    uint64_t logical = 0;  // bytes since start (padding included)
    uint64_t seq = 0;      // seq of the next record
  };

  // Takes ownership of `file.fd`. `sync` makes files durable (checkpoint).
  JournalWriter(engine::FileIo* io, JournalFile file,
                absl::Duration checkpoint_interval, LogFn log,
                JournalRunAfterFn run_after, SyncFsFn sync);
  ~JournalWriter();  // Shutdown() must have drained
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  uint64_t data_size() const { return data_size_; }
  // Largest batch (sum of JournalRecordSize) Append accepts: data_size / 4.
  uint64_t max_batch_bytes() const { return data_size_ / 4; }
  // Whether records of these sizes fit in the free space now.
  bool Fits(absl::Span<const uint64_t> sizes) const;
  // Appends (Fits() must be true): pwrite + one fdatasync; `done(0 or
  // -errno)`. Returns the position after the batch (for MarkApplied).
  Position Append(absl::Span<const JournalRecordRef> records,
                  engine::IoCallback done);
  // Every record before `end` has its file renamed into `dirs` (or failed):
  // the next checkpoint may retire them. Calls must be in order.
  void MarkApplied(Position end, absl::Span<const std::string> dirs);
  // Runs `fn` once after the next checkpoint completes (free space).
  void WaitForSpace(absl::AnyInvocable<void()> fn);
  // A write, fdatasync or checkpoint failed: do not use it any more.
  bool broken() const { return broken_; }
  // Final checkpoint (if anything is applied; after the one in progress,
  // if any, up to everything applied by then), then closes the fd and
  // calls `done` (later, never from inside this call).
  void Shutdown(absl::AnyInvocable<void()> done);

  // Observability / tests.
  uint64_t used_bytes() const { return head_.logical - tail_.logical; }
  uint64_t checkpoints() const { return checkpoints_; }
  bool checkpoint_in_progress() const { return checkpointing_; }

 private:
  uint64_t Phys(uint64_t logical) const {
    return kJournalHeaderBytes + logical % data_size_;
  }
  void WriteSegment(std::shared_ptr<std::string> buf, size_t from,
                    size_t len, uint64_t offset,
                    std::shared_ptr<int> pending, std::shared_ptr<int> err,
                    std::shared_ptr<engine::IoCallback> done);
  void SegmentDone(std::shared_ptr<int> pending, std::shared_ptr<int> err,
                   std::shared_ptr<engine::IoCallback> done);
  void ArmTimer();
  void StartCheckpoint();
  void CheckpointSynced(Position target, int r);
  void CheckpointDone();
  void MaybeShutdownDone();

  engine::FileIo* io_;
  JournalFile file_;
  uint64_t data_size_;
  absl::Duration interval_;
  LogFn log_;
  JournalRunAfterFn run_after_;
  SyncFsFn sync_;
  Position head_;     // next append
  Position applied_;  // every record before it is applied
  Position tail_;     // durable checkpoint
  absl::flat_hash_set<std::string> dirs_;  // applied since the last sync
  bool checkpointing_ = false;
  bool timer_armed_ = false;
  bool broken_ = false;
  int ops_in_flight_ = 0;
  uint64_t checkpoints_ = 0;
  std::vector<absl::AnyInvocable<void()>> space_waiters_;
  absl::AnyInvocable<void()> shutdown_done_;
  bool shutting_down_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_JOURNAL_WRITER_H_
