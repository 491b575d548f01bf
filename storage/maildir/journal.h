// Per-core delivery journal (write-ahead log). See docs/durability.md.
//
// One preallocated, zero-filled ring file per core:
// <data_dir>/journal/core-<N>.wal. In `durability = "journal"` mode a
// delivered message is made durable by appending one record per target
// (Maildir, final new/ name, full file content) to the ring and issuing ONE
// fdatasync per batch; the Maildir files themselves are written without
// fsync and made durable later, in bulk, by a checkpoint (syncfs), which
// then retires the records.
//
// File layout (all integers little-endian; x86-64/aarch64 hosts):
//   [0, 4096)       header block: two 48+4-byte header slots at 0 and 2048,
//                   written alternately (generation parity); the valid slot
//                   with the highest generation wins, so a torn header
//                   write never loses the previous checkpoint.
//   [4096, size)    the ring of records. A record never straddles the end:
//                   a "wrap" record (or, when fewer than 32 bytes are left,
//                   nothing) sends the reader back to offset 4096.
// Header slot: magic "RRMH", version, file_size, epoch, checkpoint offset
// (physical), checkpoint seq, generation, CRC32C.
// Record: magic "RRMJ", version, type (1 message, 2 wrap), length (8-aligned,
// whole record), CRC32C (over the record with the CRC field zeroed; for a
// wrap record over its 32-byte header only), epoch, seq, then for a message
// u32 maildir_len, u32 name_len, u64 content_len, maildir, name, content.
//
// The valid log is the chain of records that starts at the checkpoint
// (offset, seq), each with the header's epoch and seq = previous + 1, a
// good CRC and a sane length. The first record that breaks the chain ends
// the log (a torn tail after a crash is expected). Every start-up bumps the
// epoch and resets the checkpoint, so records of earlier runs can never be
// mistaken for new ones.
#ifndef RINGMAIL_STORAGE_MAILDIR_JOURNAL_H_
#define RINGMAIL_STORAGE_MAILDIR_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/blocking_fs.h"
#include "engine/file_io.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

inline constexpr uint64_t kJournalHeaderBytes = 4096;
inline constexpr uint64_t kJournalRecordHeaderBytes = 32;
inline constexpr uint64_t kJournalMinSize = 1 << 20;
inline constexpr uint64_t kJournalDefaultSize = 64 << 20;

// One record to append: the file `<maildir>/new/<name>` whose content is
// prefix + body.
struct JournalRecordRef {
  std::string_view maildir;
  std::string_view name;
  std::string_view prefix;
  std::string_view body;
};
// Bytes the record occupies in the ring (header + payload, 8-aligned).
uint64_t JournalRecordSize(const JournalRecordRef& r);

// A decoded record (recovery, tests).
struct JournalRecord {
  uint64_t seq = 0;
  uint64_t offset = 0;  // physical offset in the file
  std::string maildir;
  std::string name;
  std::string content;
};

// The durable state of a journal file, as read from its header.
struct JournalFile {
  int fd = -1;  // O_RDWR; owned by whoever holds this
  uint64_t file_size = 0;
  uint64_t epoch = 0;
  uint64_t checkpoint_offset = kJournalHeaderBytes;  // physical
  uint64_t checkpoint_seq = 0;
  uint64_t generation = 0;
};

// ---- Blocking helpers: start-up only (never on a core thread serving).
// They reach the file system through `fs` (engine/blocking_fs.h; the real
// one by default, the storage simulation in tests).

// "<data_dir>/journal/core-<N>.wal".
std::string JournalPath(std::string_view data_dir, int core);

// Encodes a header slot (52 bytes used of the slot) / decodes one.
std::string EncodeJournalHeader(const JournalFile& f);
bool DecodeJournalHeader(std::string_view slot, JournalFile* out);

// Reads the header of an existing journal file and opens it O_RDWR. Fails
// if the file is missing, of another size than `expected_size`, has no
// valid header, or still holds a valid record at its checkpoint
// (FailedPrecondition: recovery did not run or did not finish; the writer
// starts at the checkpoint and would overwrite records never replayed).
// Call RecoverJournal first.
absl::StatusOr<JournalFile> OpenJournalFile(
    const std::string& path, uint64_t expected_size,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

// Every valid record after the checkpoint of the journal image `file`
// (whole file content) whose header is `hdr`, in order.
std::vector<JournalRecord> ScanJournal(std::string_view file,
                                       const JournalFile& hdr,
                                       const LogFn& log);

struct JournalRecoveryStats {
  bool created = false;       // file was created / resized and zero-filled
  size_t records = 0;         // valid records after the checkpoint
  size_t replayed = 0;        // files written back
  size_t present = 0;         // already complete in new/ or cur/
  size_t errors = 0;          // logged individually
};

// Start-up recovery of one core's journal. If `path` holds a valid journal
// (of any size), every record after its checkpoint whose file is missing
// from new/ (and from cur/ as "<name>:2,<flags>"), shorter, or different is
// written back (tmp/ + rename), then every file system touched is synced
// (syncfs) so all of them are durable. Then the file is (re)created at
// `size` and zero-filled if needed, and a fresh header (epoch + 1, empty
// log) is written and fdatasync'ed. Errors writing back a record are logged
// and counted (and the old log is then kept, so the next start retries);
// an error creating the journal itself is returned.
absl::StatusOr<JournalRecoveryStats> RecoverJournal(
    const std::string& path, uint64_t size, const LogFn& log,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

// Start-up recovery of every journal in <data_dir>/journal: the cores'
// journals in journal mode (created if missing) and every other
// core-<N>.wal found there (replayed and reset at its own size: after
// switching to fsync mode or reducing the number of cores). A failed
// recovery is tried once more. A journal whose records still cannot be
// written back (DataLoss) is renamed to core-<N>.wal.unreplayed.<unix
// seconds of `now`>[.<n>] for the operator and the core gets a fresh one;
// after any other failure the log stays where it is (OpenJournalFile then
// refuses it, the core runs in fsync mode, the next start replays it).
// Blocking; before the cores start.
struct JournalDirOptions {
  std::string data_dir;
  bool journal_mode = true;
  int cores = 1;
  uint64_t journal_size = kJournalDefaultSize;
  absl::Time now;  // names the set-aside file
};
struct JournalDirResult {
  int core = 0;
  std::string path;
  // The final outcome for this core's file (after a set-aside, of the
  // fresh journal's recovery).
  absl::StatusOr<JournalRecoveryStats> stats;
  absl::Status first_error;  // of the first attempt, if it failed
  // (`stats` not ok: the log was neither replayed nor set aside.)
  std::string set_aside;     // the .unreplayed name, if the log was kept
};
std::vector<JournalDirResult> RecoverJournalDir(
    const JournalDirOptions& options, const LogFn& log,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

// ---- Runtime writer (one per core, used only from the core's thread).

// Makes the Maildir files under `dirs` (new/ directories) durable, e.g. by
// syncfs(2) of each distinct file system; `done(0 or -errno)` later, on the
// core's thread.
using SyncFsFn = absl::AnyInvocable<void(std::vector<std::string> dirs,
                                         engine::IoCallback done)>;
using JournalRunAfterFn =
    absl::AnyInvocable<void(absl::Duration delay, absl::AnyInvocable<void()> fn)>;

// Runs syncfs(2) on a helper thread; completion is reported by an eventfd
// that the core reads through its FileIo (so `done` runs on the core).
// One request at a time.
class FsSyncer {
 public:
  FsSyncer(engine::FileIo* io, LogFn log);
  ~FsSyncer();  // the last request must have completed
  FsSyncer(const FsSyncer&) = delete;
  FsSyncer& operator=(const FsSyncer&) = delete;
  void Sync(std::vector<std::string> dirs, engine::IoCallback done);

 private:
  struct Shared;
  engine::FileIo* io_;
  LogFn log_;
  std::shared_ptr<Shared> shared_;
  uint64_t buf_ = 0;
};

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

#endif  // RINGMAIL_STORAGE_MAILDIR_JOURNAL_H_
