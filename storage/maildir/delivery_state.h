// Internal state of one message in a DeliveryQueue. Not part of the API.
#ifndef RINGMAIL_STORAGE_MAILDIR_DELIVERY_STATE_H_
#define RINGMAIL_STORAGE_MAILDIR_DELIVERY_STATE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "storage/maildir/delivery_queue.h"

namespace ringmail::storage::internal {

// One body buffer, written once per target, freed when all are done.
struct Chunk {
  std::unique_ptr<char[]> data;
  size_t capacity = 0;
  size_t size = 0;
  uint64_t body_offset = 0;  // where the chunk starts in the body
  size_t targets_pending = 0;  // targets that have not fully written it
  int writes_in_flight = 0;
};

// Where a target's file is. Classic: created in tmp/, renamed into new/.
// O_TMPFILE (journal mode, see delivery_tmpfile.cc): an unnamed inode in
// new/'s file system, linked into new/ (journal batch) or, if the message
// ends up on the fsync path, into tmp/ and then handled as classic.
struct TargetState {
  DeliveryTarget target;
  std::string base;      // unique name
  std::string tmp_path;  // <maildir>/tmp/<base>
  std::string new_dir;   // <maildir>/new
  std::string new_name;  // <base>,S=..,W=..
  int fd = -1;
  // fd is an O_TMPFILE inode without any name: closing it frees the file.
  // Cleared once it is linked (into tmp/: `created`; into new/: `renamed`).
  bool tmpfile = false;
  // Was an O_TMPFILE inode, now linked into tmp/: make it durable with
  // fsync, not fdatasync (the link count must reach the disk; see
  // SyncAndClose in delivery_tmpfile.cc).
  bool full_fsync = false;
  bool created = false;  // tmp file exists (ours to unlink)
  bool renamed = false;  // now lives at new_dir/new_name
  bool prefix_issued = false;
  bool prefix_done = false;
  int open_attempts = 0;
  uint64_t next_chunk = 0;  // seq of the next chunk to issue
};

// For log lines: the file's current name, or what an unnamed one is.
inline std::string FileLabel(const TargetState& ts) {
  if (ts.tmpfile) return ts.new_dir + " (O_TMPFILE for " + ts.base + ")";
  return ts.tmp_path;
}

enum class Phase {
  kWriting,   // open + writes; Finish not yet complete
  kReady,     // all data written, waiting in ready_
  kSyncing,   // in a batch: fdatasync + close (journal: close, then wait
              // for the batch's journal flush)
  kRenaming,  // in a batch: tmp/ -> new/
  kBarrier,   // renamed, waiting for the batch's directory fsyncs
  kCleaning,  // failed: closing and unlinking files
  kDone,      // result known; waiting for Finish/Abort to be called
};

struct MessageState {
  uint64_t id = 0;
  Phase phase = Phase::kWriting;
  std::vector<TargetState> targets;
  size_t max_prefix = 0;  // longest header_prefix, for max_message_bytes
  // Committed chunks not yet released, by sequence number.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Chunk>> chunks;
  std::unique_ptr<Chunk> filling;  // being filled by Reserve/Commit
  uint64_t next_seq = 0;
  uint64_t body_bytes = 0;
  uint64_t body_lf = 0;
  int ops_in_flight = 0;  // I/O whose callback references this state
  int step_pending = 0;   // outstanding ops of the current batch step
  absl::Status error;     // first failure (generic, for the caller)
  bool finished = false;  // Finish() called
  bool attached = true;   // the IncomingMessage handle still refers to us
  bool pause_reported = false;
  absl::AnyInvocable<void()> resume;
  DeliveryDone done;
  bool in_batch = false;
  DeliveryQueue::Batch* batch = nullptr;  // while in_batch
  // Journal mode: the body is kept in memory (bounded by journal_limit_)
  // until the batch's records are written; false once it grew too big.
  bool journal_eligible = false;
  std::string journal_body;
  bool closed = false;  // journal batch: every classic tmp fd closed
};

}  // namespace ringmail::storage::internal

namespace ringmail::storage {

// The batch being group-committed (see delivery_commit.cc).
struct DeliveryQueue::Batch {
  struct Dir {
    int fd = -1;
    bool cached = false;  // fd belongs to dir_fds_
    int result = 0;       // 0 or the first -errno
  };
  uint64_t number = 0;
  bool journal = false;
  std::vector<uint64_t> ids;     // message ids (failed ones disappear)
  size_t before_barrier = 0;     // messages not yet renamed or failed
  // fsync batch. Ordered, so that the directory fds are cached in the same
  // order on every run (the storage simulation replays a seed exactly; a
  // hash map's iteration order depends on heap addresses).
  std::map<std::string, Dir> dirs;
  size_t dirs_pending = 0;
  // Journal batch.
  bool flushed = false;           // its journal write + fdatasync ended
  int flush_result = 0;
  bool renames_released = false;  // it and every earlier batch flushed
  JournalWriter::Position end;    // journal position after its records
  bool complete = false;          // ready for in-order completion
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_DELIVERY_STATE_H_
