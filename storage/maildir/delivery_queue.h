// Durable, group-committed Maildir delivery. See docs/durability.md.
//
// One DeliveryQueue per core; it and its IncomingMessages are used only
// from that core's thread. All I/O goes through engine::FileIo.
//
// Life of a message:
//   Begin(targets)  -> opens tmp/<unique> in every target Maildir (creating
//                      the Maildir on first delivery) and writes each
//                      target's header_prefix. With `tmpfile` in journal
//                      mode: an unnamed O_TMPFILE file in new/ instead.
//   Reserve/Commit  -> body chunks; each full chunk is written to every
//                      target's tmp file (one buffer, N writes).
//   Finish(done)    -> last chunk, then group commit. Two modes:
//     fsync:   fdatasync all files of the batch, close, rename tmp/ -> new/,
//              one fsync per distinct new/ directory, then `done`.
//     journal: append one record per target (full content) to the core's
//              journal + ONE fdatasync of it (in parallel: close the tmp
//              files), then rename tmp/ -> new/ (O_TMPFILE: linkat into
//              new/ via /proc/self/fd, then close), then `done`. A periodic
//              checkpoint (syncfs) makes the files durable and retires the
//              records; start-up recovery replays them (journal_recovery.h).
//              Messages too big for the journal take the fsync path.
// `done` reports OK only when every target's file would survive a crash
// (durable in new/, or durable in the journal with the rename done);
// otherwise an error, and no file of that message is left in tmp/ or new/.
#ifndef RINGMAIL_STORAGE_MAILDIR_DELIVERY_QUEUE_H_
#define RINGMAIL_STORAGE_MAILDIR_DELIVERY_QUEUE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/file_io.h"
#include "storage/maildir/dir_fd_cache.h"
#include "storage/maildir/errors.h"
#include "storage/maildir/journal_format.h"
#include "storage/maildir/journal_sync.h"
#include "storage/maildir/journal_writer.h"
#include "storage/maildir/maildir_creator.h"

namespace ringmail::storage {

struct DeliveryTarget {
  // Absolute path of the Maildir root (INBOX), without trailing '/'.
  std::string maildir;
  // Written before the body, e.g. "Return-Path: <a@b>\nDelivered-To: c@d\n"
  // plus the Received line. LF line endings.
  std::string header_prefix;
};

// Runs `fn` on this core after `delay` (ZeroDuration: on a later loop
// iteration), never from inside the call itself.
using RunAfterFn =
    absl::AnyInvocable<void(absl::Duration delay, absl::AnyInvocable<void()> fn)>;

enum class Durability {
  kFsync,    // fdatasync every file + fsync its new/ directory per batch
  kJournal,  // one journal fdatasync per batch; checkpoint by syncfs
};

struct DeliveryOptions {
  std::string hostname;  // sanitised for names by the queue
  int core_id = 0;
  int64_t pid = 0;       // 0: getpid() at construction
  size_t chunk_size = 64 << 10;
  size_t max_chunks_in_flight = 8;     // per message; WantsPause() above it
  // Fixed wait before a batch starts on an idle queue (tests); 0: none.
  absl::Duration batch_window = absl::ZeroDuration();
  // Group-commit delay: when a batch could start while other messages of
  // this queue are still being received or written, wait up to this long so
  // they share its flush (PostgreSQL's commit_delay with commit_siblings =
  // 1). A lone message never waits. Starts early once nothing is left in
  // progress or max_batch_messages are ready. 0: off.
  absl::Duration commit_delay = absl::ZeroDuration();
  size_t max_batch_messages = 256;
  size_t max_targets_per_message = 1000;
  size_t max_header_prefix_bytes = 64 << 10;
  uint64_t max_message_bytes = uint64_t{1} << 30;  // prefix + body
  size_t max_open_dir_fds = 64;        // LRU of new/ directory fds
  size_t max_known_dirs = 4096;        // MaildirCreator cache
  LogFn log = StderrLog();
  // Journal mode (ignored unless durability == kJournal and journal.fd >= 0;
  // without a journal fd the queue runs in fsync mode). The queue takes
  // ownership of journal.fd; the file must have been prepared by
  // RecoverJournal and opened by OpenJournalFile.
  Durability durability = Durability::kFsync;
  JournalFile journal;
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Messages whose records (all targets) would exceed this (or an eighth
  // of the ring) take the fsync path; it also bounds the body copy kept in
  // memory per message until its batch is written.
  uint64_t journal_max_message_bytes = 512 << 10;
  // Journal batches in flight (only one of them flushing at a time).
  size_t max_batches_in_flight = 4;
  // Makes renamed files durable at a checkpoint; empty: syncfs(2) on a
  // helper thread (FsSyncer). Tests inject their own.
  SyncFsFn sync_fs;
  // Journal mode only: journal-eligible messages are written to unnamed
  // O_TMPFILE files in new/'s directory and linkat(2)ed into new/ through
  // /proc/self/fd after the journal flush, instead of tmp/ + rename (no
  // tmp/ directory lock, no cross-directory rename). Falls back to tmp/
  // for the rest of the queue's life when the file system lacks O_TMPFILE
  // (EOPNOTSUPP/EISDIR) or /proc/self/fd is missing (probed through the
  // FileIo at construction and after a link fails with ENOENT; tmp/ is used
  // until the first probe succeeds). docs/durability.md, "Journal mode".
  bool tmpfile = false;
};

// The outcome of one message. `new_names[i]` is the file name in
// `targets[i].maildir + "/new/"` (empty unless status is OK).
struct DeliveryResult {
  absl::Status status;
  std::vector<std::string> new_names;
};
using DeliveryDone = absl::AnyInvocable<void(DeliveryResult)>;

class DeliveryQueue;
namespace internal {
struct MessageState;
struct TargetState;
}  // namespace internal

// The body sink of one message being delivered to 1..N Maildirs. Owned by
// the caller; destroying it before Finish() is Abort(). Body bytes must use
// LF line endings.
class IncomingMessage {
 public:
  ~IncomingMessage();
  IncomingMessage(const IncomingMessage&) = delete;
  IncomingMessage& operator=(const IncomingMessage&) = delete;

  // Space for at least max(min_bytes, 1) body bytes in the current chunk
  // (min_bytes <= chunk_size). Valid until the next Commit/Reserve.
  absl::Span<char> Reserve(size_t min_bytes);
  // Appends the first `bytes` of the last Reserve() to the body. A full
  // chunk is written to every target. After a failure data is discarded.
  void Commit(size_t bytes);
  // True while too many chunks are in flight: stop reading the socket
  // until the resume callback runs. Never true once the message failed.
  bool WantsPause() const;
  // Called (from an I/O completion) when WantsPause() turns false again
  // after having returned true.
  void SetResumeCallback(absl::AnyInvocable<void()> resume);
  // Ends the body and commits. `done` runs exactly once, later, from an
  // I/O completion or scheduled task. No other call is allowed afterwards.
  void Finish(DeliveryDone done);
  // Discards the message; tmp files are unlinked once their writes finish.
  // No other call is allowed afterwards.
  void Abort();

 private:
  friend class DeliveryQueue;
  IncomingMessage(DeliveryQueue* queue, internal::MessageState* state)
      : queue_(queue), state_(state) {}
  DeliveryQueue* queue_;
  internal::MessageState* state_;  // owned by queue_; null once detached
};

class DeliveryQueue {
 public:
  // `io` must outlive the queue. `clock` gives the time for unique names.
  // `run_after` defers work (batch start, batch_window timer).
  DeliveryQueue(engine::FileIo* io, DeliveryOptions opts,
                absl::AnyInvocable<absl::Time()> clock, RunAfterFn run_after);
  // Requires Shutdown() to have drained (asserted).
  ~DeliveryQueue();
  DeliveryQueue(const DeliveryQueue&) = delete;
  DeliveryQueue& operator=(const DeliveryQueue&) = delete;

  // Starts a message to `targets`. InvalidArgument for no targets, too many
  // targets, a non-absolute maildir or an over-long prefix; Unavailable
  // after Shutdown(). Open/write errors surface later via Finish's `done`.
  absl::StatusOr<std::unique_ptr<IncomingMessage>> Begin(
      std::vector<DeliveryTarget> targets);

  // Refuses new messages, lets every started message finish (callers must
  // still Finish or Abort theirs), closes cached dir fds, then calls
  // `drained` (later, never from inside this call).
  void Shutdown(absl::AnyInvocable<void()> drained);

  // Observability / tests.
  size_t messages_in_flight() const { return messages_.size(); }
  uint64_t batches_committed() const { return batches_committed_; }
  // Null in fsync mode.
  const JournalWriter* journal() const { return journal_.get(); }
  bool journal_active() const { return journal_ != nullptr && !journal_->broken(); }
  // True when a new journal-eligible message would use O_TMPFILE.
  bool tmpfile_active() const;

 struct Batch;  // internal (delivery_state.h)

 private:
  friend class IncomingMessage;

  // Writing phase (delivery_write.cc).
  void StartOpen(internal::MessageState* m, size_t t);
  void OpenTmp(internal::MessageState* m, size_t t);
  void IssueWrites(internal::MessageState* m, size_t t);
  // Writes the target's header prefix and its first body chunk `seq` in one
  // WriteV (they are contiguous in the file).
  void WritePrefixWithChunk(internal::MessageState* m, size_t t, uint64_t seq);
  void WriteSome(internal::MessageState* m, size_t t, uint64_t chunk_seq,
                 size_t done_bytes);
  void DispatchChunk(internal::MessageState* m);
  void ReleaseChunk(internal::MessageState* m, uint64_t seq, bool written);
  void FailMessage(internal::MessageState* m, absl::Status status);
  void Advance(internal::MessageState* m);
  void MaybeResume(internal::MessageState* m);
  void Cleanup(internal::MessageState* m);
  void Complete(internal::MessageState* m);
  void Detach(internal::MessageState* m);
  // Commit phase (delivery_commit.cc).
  void Enqueue(internal::MessageState* m);
  void ScheduleBatch(absl::Duration delay);
  // True if a message other than the ready ones is still being received or
  // written (a candidate for the next batch).
  bool OthersInProgress() const;
  bool CanStartBatch() const;
  bool UsesJournal(const internal::MessageState* m) const;
  void StartBatch();
  void StartFsyncBatch();
  bool StartJournalBatch();
  void SyncAndClose(internal::MessageState* m, size_t t);
  void SyncFile(internal::MessageState* m, size_t t);
  void CloseSynced(internal::MessageState* m, size_t t);
  void CloseTargetFd(internal::MessageState* m, size_t t, std::string label,
                     absl::AnyInvocable<void()> then);
  void CloseOnly(internal::MessageState* m, size_t t);
  void JournalFlushed(Batch* b, int r);
  void MaybeRenameJournaled(internal::MessageState* m);
  void ComputeNewNames(internal::MessageState* m);
  void RenameAll(internal::MessageState* m);
  void RenamedOne(internal::MessageState* m);
  void MessageReachedBarrier(internal::MessageState* m);
  void MaybeCompleteJournalBatch(Batch* b);
  void SyncDirs(Batch* b);
  void DrainBatches();
  void FinishBatch(Batch& b);
  void CloseDirFdsThenDrained();
  void MaybeDrained();
  std::string NextUniqueName();
  // O_TMPFILE (delivery_tmpfile.cc).
  bool WantsTmpfile(const internal::MessageState* m) const;
  bool TmpfileUnsupported(int open_result);
  void ProbeProcFd();
  void LinkIntoTmp(internal::MessageState* m, size_t t);
  void LinkIntoNew(internal::MessageState* m, size_t t,
                   std::string new_path);
  void LinkFailed(internal::MessageState* m, const internal::TargetState& ts,
                  const std::string& to, int r);

  engine::FileIo* io_;
  DeliveryOptions opts_;
  absl::AnyInvocable<absl::Time()> clock_;
  RunAfterFn run_after_;
  std::string host_;
  int64_t pid_;
  uint64_t seq_ = 0;
  uint64_t next_message_id_ = 1;
  MaildirCreator creator_;
  DirFdCache dir_fds_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<internal::MessageState>>
      messages_;
  std::deque<internal::MessageState*> ready_;  // finished, awaiting a batch
  // Batches being committed, oldest first; they complete in this order.
  std::deque<std::unique_ptr<Batch>> batches_;
  uint64_t next_batch_number_ = 0;
  // Journal batches numbered >= this fail (an earlier flush failed).
  uint64_t journal_fail_batch_ = ~uint64_t{0};
  bool waiting_for_space_ = false;
  bool defer_drain_ = false;  // JournalFlushed is releasing renames
  uint64_t journal_limit_ = 0;  // per-message record bytes for the journal
  std::unique_ptr<FsSyncer> syncer_;
  std::unique_ptr<JournalWriter> journal_;
  bool journal_shutdown_ = false;
  bool journal_closed_ = false;
  bool batch_scheduled_ = false;
  uint64_t batch_timer_generation_ = 0;
  uint64_t batches_committed_ = 0;
  bool shutting_down_ = false;
  // O_TMPFILE state: whether /proc/self/fd was found (linkat needs it),
  // whether a probe is running (Shutdown waits for it), and whether the
  // file system accepted O_TMPFILE so far.
  enum class ProcFd { kUnknown, kPresent, kMissing };
  ProcFd proc_fd_ = ProcFd::kUnknown;
  bool probe_in_flight_ = false;
  bool tmpfile_supported_ = true;
  absl::AnyInvocable<void()> drained_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_DELIVERY_QUEUE_H_
