#include "storage/mailbox/dotlock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

absl::Status Sys(std::string_view what, const std::string& path, int err) {
  std::string msg = absl::StrCat(AbslView(what), "(", path,
                                 ") failed: ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Sys("write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Dotlock> Dotlock::Acquire(const std::string& target_path,
                                         const DotlockOptions& opts) {
  std::string lock = target_path + ".lock";
  absl::Time deadline = absl::Now() + opts.timeout;
  while (true) {
    int fd = open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  opts.mode);
    if (fd >= 0) return Dotlock(target_path, std::move(lock), fd);
    if (errno != EEXIST) return Sys("open", lock, errno);
    struct stat st;
    if (stat(lock.c_str(), &st) == 0) {
      absl::Time mtime = absl::TimeFromTimespec(st.st_mtim);
      if (absl::Now() - mtime > opts.stale_after) {
        // Abandoned by a crashed holder. Another waiter may remove it first.
        if (unlink(lock.c_str()) != 0 && errno != ENOENT) {
          return Sys("unlink", lock, errno);
        }
        continue;
      }
    } else if (errno == ENOENT) {
      continue;  // released meanwhile
    } else {
      return Sys("stat", lock, errno);
    }
    if (absl::Now() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("timeout waiting for lock ", lock));
    }
    struct timespec ts = absl::ToTimespec(opts.retry_interval);
    nanosleep(&ts, nullptr);
  }
}

Dotlock::Dotlock(Dotlock&& o) noexcept
    : target_path_(std::move(o.target_path_)),
      lock_path_(std::move(o.lock_path_)),
      fd_(std::exchange(o.fd_, -1)) {}

Dotlock::~Dotlock() { Release(); }

void Dotlock::Release() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
  unlink(lock_path_.c_str());
}

absl::Status Dotlock::Replace(std::string_view contents, struct stat* written) {
  if (fd_ < 0) return absl::FailedPreconditionError("lock already released");
  absl::Status st = WriteAll(fd_, contents, lock_path_);
  if (st.ok() && fdatasync(fd_) != 0) st = Sys("fdatasync", lock_path_, errno);
  if (st.ok() && written != nullptr && fstat(fd_, written) != 0) {
    st = Sys("fstat", lock_path_, errno);
  }
  if (!st.ok()) {
    Release();
    return st;
  }
  close(fd_);
  fd_ = -1;
  if (rename(lock_path_.c_str(), target_path_.c_str()) != 0) {
    int err = errno;
    unlink(lock_path_.c_str());
    return Sys("rename", lock_path_, err);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path,
                                          size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Sys("open", path, errno);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return Sys("read", path, err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      close(fd);
      return absl::ResourceExhaustedError(absl::StrCat(path, " too large"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace ringmail::storage
