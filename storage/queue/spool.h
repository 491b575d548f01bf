// Start-up handling of the outbound spool (docs/queue.md): preparing the
// per-core directories (including moving queue files when the number of
// cores shrank) and loading one core's queue into memory.
//
// BLOCKING: opendir, open, pread, rename, fsync through an
// engine::BlockingFs (the real file system unless the options name
// another, e.g. the storage simulation). Run only before the core loops
// start, or in the `ringctl` CLI while ringmaild is stopped. Nothing else
// may use the spool meanwhile.
//
// Start-up order: journal recovery (RecoverJournals, which may replay queue
// files into c<N>/new/), then PrepareSpool, then LoadCoreSpool for every
// core, then OpenStateLogFile + StateLog per core.
#ifndef RINGMAIL_STORAGE_QUEUE_SPOOL_H_
#define RINGMAIL_STORAGE_QUEUE_SPOOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/blocking_fs.h"
#include "storage/maildir/errors.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::queue {

// One queue file of a core, with its state replayed from the state log.
struct LoadedMessage {
  std::string file;  // name in c<N>/new/
  QueueEnvelope envelope;
  size_t content_offset = 0;  // where the Received field starts
  uint64_t file_bytes = 0;    // prefix + content
  uint64_t size = 0;          // from a `size` record, else 0 (unknown)
  std::vector<RecipientStatus> recipients;  // parallel to envelope.recipients
  bool held = false;
  bool delay_warned = false;
};

struct LoadStats {
  size_t messages = 0;          // returned
  size_t tmp_removed = 0;       // stale files removed from tmp/
  size_t removed_unlinked = 0;  // finished (`removed`) files still present
  size_t corrupt = 0;           // moved to corrupt/ (or, read-only, skipped)
  size_t unreadable = 0;        // I/O error reading: left in place, state kept
  size_t records = 0;           // valid state records replayed
  size_t bad_records = 0;       // lines failing checksum or grammar: skipped
  size_t orphan_records = 0;    // records for files not in new/: dropped
  bool torn_tail = false;       // the log ended without LF (crash mid-append)
};

struct LoadOptions {
  // ringctl while the daemon is stopped: change nothing on disk (no tmp/
  // cleanup, no unlink, no moving aside, no compaction).
  bool read_only = false;
  LogFn log = StderrLog();
  // More queue files than this in one core is an error (memory bound).
  size_t max_messages = 10'000'000;
  LoadStats* stats = nullptr;  // optional; filled in
  engine::BlockingFs* fs = nullptr;  // null: the real file system
  // Keep the `removed` records of finished files (unlinked now or before)
  // in the compacted log. Set when a journal was not recovered at this
  // start (left in place or set aside): replaying it later may write
  // finished queue files back, and their records must unlink them again
  // rather than send them twice. Also every other record of a file absent
  // now (or moved to corrupt/, as one a power cut truncated): the replay
  // may write it back, and a recipient already delivered must not be sent
  // again. Otherwise they are dropped (journal recovery already ran and
  // reset the journals).
  bool keep_removed_records = false;
};

// Loads `<root>/c<core>/` (a missing directory is an empty queue):
//   1. (not read_only) removes every file in tmp/ — only ringmaild writes
//      there and it is not running, so each one is an unacknowledged
//      delivery — and a leftover state.log.new;
//   2. reads the prefix of every file in new/ (one 4 KiB pread; a second
//      one only for a larger prefix); a file that is not a valid queue file
//      is moved to corrupt/ (not read_only) and logged, never deleted;
//   3. replays state.log in order, later records winning; records for files
//      not in new/ are dropped, a torn last line and lines failing their
//      checksum are logged and skipped; a `removed` file still present is
//      unlinked (not read_only) and not returned;
//   4. (not read_only) fsyncs new/ (and corrupt/) and rewrites state.log
//      compacted (AppendFileStateRecords for every live file, and with
//      keep_removed_records the `removed` records of finished files and
//      every record of absent ones).
// Messages come back sorted by (arrival, file). Errors: an unreadable
// directory or state log, a failed compaction, more than max_messages.
absl::StatusOr<std::vector<LoadedMessage>> LoadCoreSpool(
    const std::string& root, int core, const LoadOptions& options);

// The core numbers N of the `c<N>` directories under `root`, ascending
// (ringctl offline lists all of them, including ones PrepareSpool would
// merge). A missing root is an empty list.
absl::StatusOr<std::vector<int>> ListSpoolCores(
    const std::string& root,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

struct PrepareOptions {
  LogFn log = StderrLog();
  // Tests: called at every step boundary named below ("after-..."); a
  // non-OK result stops PrepareSpool right there, like a crash would.
  std::function<absl::Status(std::string_view point)> fault_point;
  engine::BlockingFs* fs = nullptr;  // null: the real file system
  bool keep_removed_records = false;  // for the merge's loads (LoadOptions)
};

// Before the loops start: creates `root` and c0..c<cores-1> with tmp/ new/
// cur/ (fsyncing each parent that gained an entry), then merges every
// c<k> with k >= cores into c<k % cores>. See spool_prepare.cc for the
// steps and why a crash at any point loses nothing. Errors leave the spool
// consistent; the next start resumes the merge.
absl::Status PrepareSpool(const std::string& root, int cores,
                          const PrepareOptions& options);
absl::Status PrepareSpool(const std::string& root, int cores);

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_SPOOL_H_
