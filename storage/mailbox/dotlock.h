// Dovecot-compatible dotlocks ("<file>.lock"), the lock protocol Dovecot,
// Courier and mutt honour for dovecot-uidlist, dovecot-keywords and
// subscriptions.
//
// The lock is created with O_CREAT|O_EXCL. The lock file doubles as the
// new version of the locked file: the holder writes the new contents into
// it and renames it over the target (Replace), which both publishes the
// file atomically and releases the lock. A lock whose mtime is older than
// `stale_after` is considered abandoned (its holder crashed) and removed,
// as Dovecot does (2 minutes for dovecot-uidlist).
//
// BLOCKING: open/stat/unlink/nanosleep/rename directly. Run on a helper
// thread, never on a core. Waiting for a foreign lock and the stale check
// need stat(2) and sleeping, neither of which the ring offers; holding a
// lock across core callbacks would also let a busy core stall Dovecot.
#ifndef RINGMAIL_STORAGE_MAILBOX_DOTLOCK_H_
#define RINGMAIL_STORAGE_MAILBOX_DOTLOCK_H_

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringmail::storage {

struct DotlockOptions {
  absl::Duration stale_after = absl::Minutes(2);  // Dovecot's uidlist value
  absl::Duration timeout = absl::Seconds(10);     // give up (Unavailable)
  absl::Duration retry_interval = absl::Milliseconds(20);
  mode_t mode = 0600;
};

class Dotlock {
 public:
  // Locks `target_path` by creating "<target_path>.lock". Unavailable after
  // `timeout` of a live foreign lock; Internal (logged text) on other
  // errors, NotFound if the directory is missing.
  static absl::StatusOr<Dotlock> Acquire(const std::string& target_path,
                                         const DotlockOptions& opts);

  Dotlock(Dotlock&& other) noexcept;
  Dotlock& operator=(Dotlock&&) = delete;
  Dotlock(const Dotlock&) = delete;
  // Releases (unlinks) the lock if neither Replace nor Release ran.
  ~Dotlock();

  // Writes `contents` into the lock file, fsyncs it and renames it over the
  // target. The lock is released whatever the outcome. `written`, if
  // given, receives the fstat of the file as written (what a later stat of
  // the target shows while nobody replaced it since).
  absl::Status Replace(std::string_view contents, struct stat* written = nullptr);
  // Removes the lock without touching the target.
  void Release();

  const std::string& lock_path() const { return lock_path_; }

 private:
  Dotlock(std::string target, std::string lock, int fd)
      : target_path_(std::move(target)), lock_path_(std::move(lock)), fd_(fd) {}
  std::string target_path_;
  std::string lock_path_;
  int fd_ = -1;  // -1 once released
};

// BLOCKING. Reads a whole small file; NotFound when missing,
// ResourceExhausted when larger than `max_bytes`.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          size_t max_bytes);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_DOTLOCK_H_
