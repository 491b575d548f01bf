// What a stat of a folder's new/, cur/ or dovecot-uidlist recorded, and the
// rule that decides whether an unchanged stamp proves an unchanged
// directory (docs/mailbox-index.md, "Skipping the directory listing").
//
// A directory's mtime changes with every file created, renamed in or out,
// or deleted in it, but only to the granularity of the clock the kernel
// stamps files with: two changes within one tick leave the same mtime. So a
// listing taken in the same tick as a change cannot prove that no second
// change followed it. The rule (Dovecot's maildir sync uses the same, one
// second): a stamp is *settled* when its mtime lies in a second before the
// second in which it was taken (`checked_at`, read from the coarse wall
// clock, the one file timestamps come from, just before the stat). Only a
// settled stamp that matches the directory's current one lets a sync skip
// the listing; an unsettled one makes every sync list the directory again,
// until a listing taken a second later records a settled stamp. A change
// made after `checked_at` gets an mtime at or after it, and so differs from
// a settled stamp's mtime.
#ifndef RINGMAIL_STORAGE_MAILBOX_DIR_STAMP_H_
#define RINGMAIL_STORAGE_MAILBOX_DIR_STAMP_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringmail::storage {

struct DirStamp {
  uint64_t ino = 0;  // 0: nothing recorded (or the file is missing)
  uint64_t size = 0;
  int64_t mtime_sec = 0;
  int64_t mtime_nsec = 0;  // 0 on file systems without sub-second times
  // Unix second at which the stat ran (see the file comment); 0 = unknown.
  int64_t checked_at = 0;

  bool recorded() const { return ino != 0; }
  // Same inode, size and mtime (nanoseconds included): `checked_at` is not
  // compared.
  bool SameAs(const DirStamp& o) const {
    return ino == o.ino && size == o.size && mtime_sec == o.mtime_sec &&
           mtime_nsec == o.mtime_nsec;
  }
  // The mtime lies in a second before the one the stat ran in.
  bool Settled() const { return recorded() && checked_at != 0 && mtime_sec < checked_at; }
  bool operator==(const DirStamp&) const = default;
};

// True when `recorded` proves that the directory it was taken of still has
// the content seen then: it is settled and `current` matches it.
inline bool UnchangedSince(const DirStamp& recorded, const DirStamp& current) {
  return recorded.Settled() && recorded.SameAs(current);
}

// The wall clock at the kernel's file-timestamp granularity
// (CLOCK_REALTIME_COARSE): never later than any timestamp a file change
// made after this call can get.
absl::Time CoarseNow();

// The stamp of a stat result, with checked_at = `now`.
DirStamp StampOf(const struct stat& st, absl::Time now);

// BLOCKING: stat(2). The stamp of `path` with checked_at = `now` (seconds);
// a missing file gives an unrecorded stamp (ino 0), other errors fail.
absl::StatusOr<DirStamp> StatStampBlocking(const std::string& path, absl::Time now);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_DIR_STAMP_H_
