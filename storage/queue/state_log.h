// The per-core queue state log, `<spool>/c<N>/state.log` (docs/queue.md):
// an append-only file of StateRecord lines (state_record.h) with group
// commit, and its compaction.
//
// One StateLog per core, used only from that core's thread; all I/O goes
// through engine::FileIo (never a syscall on the core thread).
//
// Group commit: Append() queues the line; a batch starts on a later loop
// iteration (run_after with zero delay), so every record appended in the
// same iteration — and every record appended while the previous batch was
// being written — shares one pwrite and ONE fdatasync. At most one batch is
// in flight; a batch holds at most max_batch_bytes (at least one record).
// `durable` runs in append order, after the fdatasync that covers it.
//
// Failure: a failed write or fdatasync (or a torn rename during
// compaction) breaks the log for good — after a failed fdatasync the page
// cache may no longer match the disk (fsyncgate), so nothing written later
// could be trusted. Every pending and future Append then gets Unavailable;
// the caller stops accepting relay mail on this core. A full queue
// (max_queued_bytes) is not a failure: that Append alone gets
// ResourceExhausted.
//
// Compaction (Compact): see the comment there; appends go on meanwhile.
#ifndef RINGMAIL_STORAGE_QUEUE_STATE_LOG_H_
#define RINGMAIL_STORAGE_QUEUE_STATE_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/blocking_fs.h"
#include "engine/file_io.h"
#include "storage/maildir/errors.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::queue {

// An open state log, as handed from start-up to the StateLog.
struct StateLogFile {
  int fd = -1;        // O_RDWR; owned by whoever holds this
  uint64_t size = 0;  // current length; the file is empty or ends with LF
};

// BLOCKING (start-up only, after LoadCoreSpool): opens or creates
// `<core_dir>/state.log` O_RDWR|O_CLOEXEC. If the file does not end with LF
// (a torn append that was not compacted away), one LF is appended and
// fdatasynced, so the torn bytes stay a separate line (ignored at replay)
// instead of swallowing the next record. A created file gets its directory
// fsynced. Errors: InternalError naming the syscall (also logged).
absl::StatusOr<StateLogFile> OpenStateLogFile(
    const std::string& core_dir, const LogFn& log,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

// Runs `fn` on this core after `delay`, never from inside the call.
using StateLogRunAfterFn =
    absl::AnyInvocable<void(absl::Duration delay, absl::AnyInvocable<void()> fn)>;
using StatusCallback = absl::AnyInvocable<void(absl::Status)>;

struct StateLogOptions {
  size_t max_batch_bytes = 256 << 10;    // per pwrite + fdatasync
  // Bytes of records waiting for a batch; beyond it Append reports
  // ResourceExhausted. Also bounds the records copied aside while a
  // compaction runs (beyond it the compaction gives up, see Compact).
  size_t max_queued_bytes = 8 << 20;
  size_t compact_chunk_bytes = 1 << 20;  // snapshot bytes encoded per pwrite
  LogFn log = StderrLog();
};

class StateLog {
 public:
  // `io` must outlive the log. Takes ownership of `file.fd`, which must be
  // `<core_dir>/state.log` (OpenStateLogFile).
  StateLog(engine::FileIo* io, std::string core_dir, StateLogFile file,
           StateLogOptions opts, StateLogRunAfterFn run_after);
  // No I/O may be in flight (asserted): Shutdown() and wait for it first.
  ~StateLog();
  StateLog(const StateLog&) = delete;
  StateLog& operator=(const StateLog&) = delete;

  // Queues `record` (encoded now) for the next batch. `durable` runs
  // exactly once, later (never from inside this call): OK once the record
  // is on stable storage; ResourceExhausted if max_queued_bytes would be
  // exceeded (nothing written); Unavailable if the log is or becomes
  // broken, or after Shutdown().
  void Append(const StateRecord& record, StatusCallback durable);

  // Rewrites the log as `live`: records that reproduce the caller's whole
  // current state (AppendFileStateRecords for every live file, plus the
  // `removed` records that must survive — of files whose unlink has not
  // completed, and in journal mode see docs/queue.md), reflecting every
  // Append issued before this call. Steps:
  //   1. write state.log.new (chunks of compact_chunk_bytes), while
  //      batches go on to the old log; every batch started after this call
  //      is also kept aside (the "carry");
  //   2. stop starting batches; wait for the one in flight;
  //   3. append the carry to state.log.new, fdatasync it, fsync new/ (so
  //      every unlink done before this call is durable before the records
  //      explaining it disappear), rename it over state.log, fsync the
  //      directory;
  //   4. switch appends to the new file; waiting records follow.
  // So the new file is snapshot + every record appended since, in order,
  // and replay ("later records win") gives the same state as the old log.
  // `done` runs once, later: OK after step 3; FailedPrecondition if a
  // compaction is already running; Unavailable if a step before the rename
  // failed (the old log is kept and stays in use; the error is logged) or
  // the log is broken; ResourceExhausted if the carry outgrew
  // max_queued_bytes (the old log stays in use). A failure after the rename
  // (directory fsync) breaks the log.
  void Compact(std::vector<StateRecord> live, StatusCallback done);

  // Refuses new appends and compactions, lets queued records and a running
  // compaction finish, closes the file, then runs `done` (later).
  void Shutdown(absl::AnyInvocable<void()> done);

  // Size of the current log file including batches in flight; with
  // compacted_bytes() (size after the last compaction or at open) the
  // caller decides when to compact, e.g. bytes() > 2 * compacted + 4 MiB.
  uint64_t bytes() const { return end_; }
  uint64_t compacted_bytes() const { return compacted_bytes_; }
  bool broken() const { return !broken_.ok(); }
  bool compacting() const { return compaction_ != nullptr; }
  size_t queued_bytes() const { return queued_bytes_; }
  uint64_t batches_flushed() const { return batches_flushed_; }
  uint64_t compactions() const { return compactions_; }

 private:
  struct Entry {
    std::string line;
    StatusCallback durable;
  };
  struct Compaction;

  engine::IoCallback Guard(absl::AnyInvocable<void(int)> fn);
  void Defer(StatusCallback cb, absl::Status status);
  bool CanStartBatch() const;
  void MaybeScheduleBatch();
  void StartBatch();
  void WriteBatch(size_t done);
  void BatchDurable();
  void Break(int neg_errno, std::string_view what);
  void CompactOpened(int r);
  void CompactWriteNext();
  void CompactSwitch();
  void CompactWriteCarry(size_t done);
  void CompactSynced(int r);
  void CompactRename();
  void CompactRenamed(int r);
  void CompactDirOpened(int r);
  void CompactDirSynced(int dirfd, int r);
  void AbortCompaction(absl::Status status);
  void MaybeShutdownDone();

  engine::FileIo* io_;
  std::string dir_;       // <spool>/c<N>
  std::string path_;      // dir_/state.log
  std::string new_path_;  // dir_/state.log.new
  std::string queue_dir_;  // dir_/new
  StateLogOptions opts_;
  StateLogRunAfterFn run_after_;
  int fd_;
  uint64_t end_;  // offset of the next batch
  uint64_t compacted_bytes_;

  std::deque<Entry> pending_;
  size_t queued_bytes_ = 0;  // lines in pending_
  bool batch_scheduled_ = false;
  // The batch being written (flushing_) and its callbacks.
  bool flushing_ = false;
  std::string batch_;
  uint64_t batch_offset_ = 0;
  std::vector<StatusCallback> batch_callbacks_;

  std::unique_ptr<Compaction> compaction_;
  absl::Status broken_;  // OK until a write/fsync failed
  bool shutting_down_ = false;
  bool closing_ = false;
  absl::AnyInvocable<void()> shutdown_done_;
  int ops_in_flight_ = 0;
  uint64_t batches_flushed_ = 0;
  uint64_t compactions_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_STATE_LOG_H_
