// Blocking file-system calls as seen by start-up and offline code.
//
// The runtime path of storage/ goes through engine::FileIo (asynchronous,
// io_uring). Start-up recovery (journal replay, Maildir tmp/ cleanup, the
// outbound spool's loader and merge, opening the state log) and the offline
// `ringctl` are blocking by design and run before any core serves. They
// call the file system through this interface instead of POSIX directly, so
// that the deterministic storage simulation (engine/testing/sim_fs.h) can
// run them against the same in-memory file system as the FileIo code,
// including after a simulated power cut.
//
// Every method is the POSIX call of the same name with the same arguments,
// except that it returns the result (>= 0) or -errno instead of setting
// errno. PosixBlockingFs (DefaultBlockingFs()) makes exactly that one
// syscall, nothing more; EINTR is returned like any other error (the
// callers' loops retry it where POSIX needs that).
//
// Not for core threads under load: every call blocks.
#ifndef RINGMAIL_ENGINE_BLOCKING_FS_H_
#define RINGMAIL_ENGINE_BLOCKING_FS_H_

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <string_view>

#include "absl/functional/function_ref.h"

namespace ringmail::engine {

class BlockingFs {
 public:
  virtual ~BlockingFs() = default;

  // openat(2). Result: fd or -errno.
  virtual int Open(int dirfd, const char* path, int flags, mode_t mode) = 0;
  virtual int Close(int fd) = 0;
  // pread(2)/pwrite(2): bytes transferred (may be short) or -errno.
  virtual ssize_t Pread(int fd, void* buf, size_t len, off_t offset) = 0;
  virtual ssize_t Pwrite(int fd, const void* buf, size_t len,
                         off_t offset) = 0;
  virtual int Fsync(int fd) = 0;
  virtual int Fdatasync(int fd) = 0;
  virtual int Syncfs(int fd) = 0;
  virtual int Ftruncate(int fd, off_t size) = 0;
  virtual int Fstat(int fd, struct stat* st) = 0;
  // fstatat(2); `flags` may hold AT_SYMLINK_NOFOLLOW.
  virtual int Stat(int dirfd, const char* path, struct stat* st,
                   int flags) = 0;
  virtual int Mkdir(int dirfd, const char* path, mode_t mode) = 0;
  // renameat2(2); `flags` 0 or RENAME_NOREPLACE.
  virtual int Rename(int old_dirfd, const char* old_path, int new_dirfd,
                     const char* new_path, unsigned flags) = 0;
  // linkat(2).
  virtual int Link(int old_dirfd, const char* old_path, int new_dirfd,
                   const char* new_path, int flags) = 0;
  // unlinkat(2); `flags` 0 or AT_REMOVEDIR.
  virtual int Unlink(int dirfd, const char* path, int flags) = 0;

  // opendir(3) + readdir(3) + closedir(3) of `path` (relative to the
  // working directory): calls `fn(dirfd, name, d_type)` for every entry
  // except "." and ".." until it returns false. `dirfd` is the open
  // directory (valid during the call, for *at() calls on the entry);
  // `d_type` may be DT_UNKNOWN. The directory may be changed from inside
  // `fn` (entries removed or added meanwhile may or may not be listed, as
  // with readdir). Result: 0 or -errno (opendir's or readdir's).
  virtual int ListDir(
      const char* path,
      absl::FunctionRef<bool(int dirfd, std::string_view name,
                             unsigned char d_type)>
          fn) = 0;
};

// The real file system: one syscall per call.
class PosixBlockingFs final : public BlockingFs {
 public:
  int Open(int dirfd, const char* path, int flags, mode_t mode) override;
  int Close(int fd) override;
  ssize_t Pread(int fd, void* buf, size_t len, off_t offset) override;
  ssize_t Pwrite(int fd, const void* buf, size_t len, off_t offset) override;
  int Fsync(int fd) override;
  int Fdatasync(int fd) override;
  int Syncfs(int fd) override;
  int Ftruncate(int fd, off_t size) override;
  int Fstat(int fd, struct stat* st) override;
  int Stat(int dirfd, const char* path, struct stat* st, int flags) override;
  int Mkdir(int dirfd, const char* path, mode_t mode) override;
  int Rename(int old_dirfd, const char* old_path, int new_dirfd,
             const char* new_path, unsigned flags) override;
  int Link(int old_dirfd, const char* old_path, int new_dirfd,
           const char* new_path, int flags) override;
  int Unlink(int dirfd, const char* path, int flags) override;
  int ListDir(const char* path,
              absl::FunctionRef<bool(int dirfd, std::string_view name,
                                     unsigned char d_type)>
                  fn) override;
};

// A process-wide PosixBlockingFs (stateless, thread-safe).
BlockingFs& DefaultBlockingFs();

// Writes all of [buf, buf+len) at `offset` (retrying short writes and
// EINTR). Result: 0 or -errno (-EIO for a write of 0 bytes).
int PwriteAll(BlockingFs& fs, int fd, const void* buf, size_t len,
              off_t offset);

// Closes the fd through its BlockingFs on destruction.
class FsFd {
 public:
  FsFd() = default;
  FsFd(BlockingFs& fs, int fd) : fs_(&fs), fd_(fd) {}
  ~FsFd() { reset(); }
  FsFd(FsFd&& o) noexcept : fs_(o.fs_), fd_(o.fd_) { o.fd_ = -1; }
  FsFd& operator=(FsFd&& o) noexcept {
    if (this != &o) {
      reset();
      fs_ = o.fs_;
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  FsFd(const FsFd&) = delete;
  FsFd& operator=(const FsFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset() {
    if (fd_ >= 0 && fs_ != nullptr) fs_->Close(fd_);
    fd_ = -1;
  }

 private:
  BlockingFs* fs_ = nullptr;
  int fd_ = -1;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_BLOCKING_FS_H_
