// Start-up recovery for Maildirs: removes stale files from tmp/.
//
// A file in tmp/ is a delivery that never reached new/ (crash, power loss,
// failed cleanup). Its sender never got a success reply, so removing it
// loses nothing. The Maildir spec's 36 hours are kept rather than deleting
// everything, because another delivery agent (or another ringmail process)
// may be writing into the same tmp/ right now.
//
// BLOCKING: these functions call opendir/fstatat/unlinkat (through `fs`,
// engine/blocking_fs.h: the real file system unless a test passes the
// storage simulation). Run them only at start-up, before any core serves
// traffic (never on a core thread under load). Thread-compatible; pure
// apart from the file system.
#ifndef RINGMAIL_STORAGE_MAILDIR_RECOVERY_H_
#define RINGMAIL_STORAGE_MAILDIR_RECOVERY_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/blocking_fs.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

inline constexpr absl::Duration kStaleTmpAge = absl::Hours(36);

struct RecoveryLimits {
  absl::Duration max_age = kStaleTmpAge;  // older tmp/ files are removed
  size_t max_entries_per_dir = 1'000'000;  // stop scanning a dir after this
  int max_depth = 6;            // FindMaildirs: levels below the root
  size_t max_maildirs = 10'000'000;
};

struct RecoveryStats {
  size_t maildirs_scanned = 0;
  size_t files_removed = 0;
  size_t files_kept = 0;  // younger than max_age
  size_t errors = 0;      // logged individually
};

// Removes regular files in `<maildir>/tmp/` whose mtime is older than
// `now - limits.max_age`. A missing tmp/ is not an error. Per-file errors
// are logged and counted; NotFound/Internal only if tmp/ cannot be read.
absl::StatusOr<RecoveryStats> CleanStaleTmpFiles(
    const std::string& maildir, absl::Time now, const RecoveryLimits& limits,
    const LogFn& log, engine::BlockingFs& fs = engine::DefaultBlockingFs());

// Every directory under `root` (itself included) that has tmp/, new/ and
// cur/ subdirectories, down to limits.max_depth levels. Does not descend
// into a Maildir found, nor follow symlinks. Error if `root` is unreadable.
absl::StatusOr<std::vector<std::string>> FindMaildirs(
    const std::string& root, const RecoveryLimits& limits, const LogFn& log,
    engine::BlockingFs& fs = engine::DefaultBlockingFs());

// FindMaildirs + CleanStaleTmpFiles for each; stats summed.
absl::StatusOr<RecoveryStats> RecoverMailRoot(
    const std::string& root, absl::Time now, const RecoveryLimits& limits,
    const LogFn& log, engine::BlockingFs& fs = engine::DefaultBlockingFs());

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_RECOVERY_H_
