// Blocking file-system helpers for the spool's start-up code (LoadCoreSpool,
// PrepareSpool) and the ringctl CLI. Internal to storage/queue.
//
// BLOCKING: every call goes through an engine::BlockingFs (the real file
// system, or the storage simulation in tests). Only before the core loops
// start, or offline.
// Errors are InternalError (NotFound where stated) whose message names the
// syscall, the path and strerror: they go to an operator, not a client.
#ifndef RINGMAIL_STORAGE_QUEUE_SPOOL_FS_H_
#define RINGMAIL_STORAGE_QUEUE_SPOOL_FS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/blocking_fs.h"
#include "storage/maildir/errors.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage::queue::internal {

using engine::BlockingFs;
using engine::FsFd;

// "<what>(<path>): <strerror(err)>" as InternalError (NotFound for ENOENT).
absl::Status SysError(std::string_view what, std::string_view path, int err);

bool PathExists(BlockingFs& fs, const std::string& path);
bool IsDirectory(BlockingFs& fs, const std::string& path);  // lstat: symlinks are not
// Both paths exist and are the same inode.
bool SameFile(BlockingFs& fs, const std::string& a, const std::string& b);

// fsync(2) of a directory.
absl::Status FsyncDir(BlockingFs& fs, const std::string& dir);

// Creates `dir` if missing (its parent must exist) and then fsyncs the
// parent — also if it existed: an earlier start may have died before that
// fsync — so the entry survives a power loss. Returns whether it was
// created. Error if it exists but is not a directory.
absl::StatusOr<bool> EnsureDir(BlockingFs& fs, const std::string& dir);
// EnsureDir for every component of an absolute or relative path.
absl::Status EnsureDirs(BlockingFs& fs, const std::string& dir);

struct DirEntry {
  std::string name;
  bool is_dir = false;
  bool is_regular = false;
};
// Entries of `dir` except "." and "..", at most `max_entries` (more is
// ResourceExhausted). NotFound if `dir` is missing.
absl::StatusOr<std::vector<DirEntry>> ListDir(BlockingFs& fs,
                                              const std::string& dir,
                                              size_t max_entries);

// rename(2) that never replaces an existing `to` (renameat2 NOREPLACE;
// link + unlink where the file system lacks it). AlreadyExists if `to`
// exists.
absl::Status RenameNoReplace(BlockingFs& fs, const std::string& from,
                             const std::string& to);

// Writes `records` to <core_dir>/state.log.new, fdatasyncs it, renames it
// over <core_dir>/state.log and fsyncs <core_dir>.
absl::Status RewriteStateLog(BlockingFs& fs, const std::string& core_dir,
                             const std::vector<StateRecord>& records);

// Appends `records` to <core_dir>/state.log (created if missing; a torn
// last line is terminated first, see OpenStateLogFile) and fdatasyncs it.
absl::Status AppendStateLog(BlockingFs& fs, const std::string& core_dir,
                            const std::vector<StateRecord>& records,
                            const LogFn& log);

}  // namespace ringmail::storage::queue::internal

#endif  // RINGMAIL_STORAGE_QUEUE_SPOOL_FS_H_
