// Start-up recovery of the per-core delivery journals (journal_format.h):
// replay the records after each checkpoint into the Maildirs, reset each
// journal for this run, open a core's journal for its writer.
//
// BLOCKING: start-up only (never on a core thread serving). Every call
// reaches the file system through `fs` (engine/blocking_fs.h; the real one
// by default, the storage simulation in tests).
#ifndef RINGMAIL_STORAGE_MAILDIR_JOURNAL_RECOVERY_H_
#define RINGMAIL_STORAGE_MAILDIR_JOURNAL_RECOVERY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/blocking_fs.h"
#include "storage/maildir/errors.h"
#include "storage/maildir/journal_format.h"

namespace ringmail::storage {

// Reads the header of an existing journal file and opens it O_RDWR. Fails
// if the file is missing, of another size than `expected_size`, has no
// valid header, or still holds a valid record at its checkpoint
// (FailedPrecondition: recovery did not run or did not finish; the writer
// starts at the checkpoint and would overwrite records never replayed).
// Call RecoverJournal first. On success the caller owns the returned
// JournalFile's fd (JournalWriter takes it over).
absl::StatusOr<JournalFile> OpenJournalFile(
    const std::string& path, uint64_t expected_size,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

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

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_JOURNAL_RECOVERY_H_
