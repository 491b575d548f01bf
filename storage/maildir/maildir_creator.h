// Creates a Maildir (root, tmp/, new/, cur/) on first delivery, durably.
//
// mkdir -p through engine::FileIo: first the three leaves are tried; only
// if the root is missing is the whole path created top-down. Every
// directory we create has its parent fsync'ed afterwards, so a message
// later made durable in new/ cannot be lost because new/ itself (or a
// parent) was never persisted.
//
// Directories known to exist are cached (bounded: the set is cleared when
// full; a miss just costs a few EEXIST mkdirs). Concurrent Ensure() calls
// for the same root share one creation. Single-threaded (one per core).
#ifndef RINGMAIL_STORAGE_MAILDIR_MAILDIR_CREATOR_H_
#define RINGMAIL_STORAGE_MAILDIR_MAILDIR_CREATOR_H_

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "engine/file_io.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

class MaildirCreator {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;

  // `io` must outlive this object. `max_known` bounds the cache of
  // directories known to exist.
  MaildirCreator(engine::FileIo* io, size_t max_known, LogFn log);

  // True if `root`'s tmp/, new/ and cur/ are known to exist and be durable.
  bool IsKnown(std::string_view root) const;

  // Makes sure `root` (absolute, no trailing '/') and its tmp/, new/, cur/
  // exist durably, then calls `done` (always later, from an I/O
  // completion; never from inside this call). Errors are logged in detail;
  // `done` gets a generic status. Call only when !IsKnown(root).
  void Ensure(const std::string& root, Done done);

  // Drops `root` from the cache, e.g. after an open in it got ENOENT.
  void Forget(std::string_view root);

  // Number of creations in progress (for Shutdown / tests).
  size_t in_progress() const { return jobs_.size(); }

 private:
  struct Job {
    std::vector<Done> waiters;
    std::vector<std::string> chain;      // directories, top-down
    size_t next = 0;                     // next index in `chain` to mkdir
    absl::flat_hash_set<std::string> parents_to_sync;
    absl::flat_hash_set<std::string> inherited;  // from unsynced_parents_
    int pending = 0;                     // outstanding I/O
    int error = 0;                       // first -errno
  };

  void TryLeaves(const std::string& root);
  void MkdirChain(const std::string& root);
  void SyncParents(const std::string& root);
  void Finish(const std::string& root);
  void Remember(const std::string& dir);

  engine::FileIo* io_;
  size_t max_known_;
  LogFn log_;
  absl::flat_hash_set<std::string> known_;  // dirs known to exist
  // Parents that gained an entry in a job that then failed (before or in
  // its parent fsyncs); the next job's SyncParents syncs them too.
  std::set<std::string> unsynced_parents_;
  absl::flat_hash_map<std::string, Job> jobs_;  // by root
};

// Parent directory of an absolute path ("/a/b" -> "/a", "/a" -> "/").
std::string ParentDir(std::string_view path);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_MAILDIR_CREATOR_H_
