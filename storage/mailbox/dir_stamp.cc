#include "storage/mailbox/dir_stamp.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

absl::Time CoarseNow() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return absl::TimeFromTimespec(ts);
}

DirStamp StampOf(const struct stat& st, absl::Time now) {
  DirStamp s;
  s.ino = static_cast<uint64_t>(st.st_ino);
  // An inode number of 0 does not occur on Linux file systems; keep the
  // stamp distinguishable from "missing" regardless.
  if (s.ino == 0) s.ino = UINT64_MAX;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_sec = st.st_mtim.tv_sec;
  s.mtime_nsec = st.st_mtim.tv_nsec;
  s.checked_at = absl::ToUnixSeconds(now);
  return s;
}

absl::StatusOr<DirStamp> StatStampBlocking(const std::string& path, absl::Time now) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return DirStamp();
    return absl::InternalError(absl::StrCat("stat(", path, ") failed: ", ErrnoText(errno)));
  }
  return StampOf(st, now);
}

}  // namespace ringmail::storage
