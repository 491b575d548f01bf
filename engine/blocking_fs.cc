#include "engine/blocking_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ringmail::engine {
namespace {

int Ret(int r) { return r < 0 ? -errno : r; }
ssize_t RetS(ssize_t r) { return r < 0 ? -errno : r; }

}  // namespace

int PosixBlockingFs::Open(int dirfd, const char* path, int flags,
                          mode_t mode) {
  return Ret(::openat(dirfd, path, flags, mode));
}
int PosixBlockingFs::Close(int fd) { return Ret(::close(fd)); }
ssize_t PosixBlockingFs::Pread(int fd, void* buf, size_t len, off_t offset) {
  return RetS(::pread(fd, buf, len, offset));
}
ssize_t PosixBlockingFs::Pwrite(int fd, const void* buf, size_t len,
                                off_t offset) {
  return RetS(::pwrite(fd, buf, len, offset));
}
int PosixBlockingFs::Fsync(int fd) { return Ret(::fsync(fd)); }
int PosixBlockingFs::Fdatasync(int fd) { return Ret(::fdatasync(fd)); }
int PosixBlockingFs::Syncfs(int fd) { return Ret(::syncfs(fd)); }
int PosixBlockingFs::Ftruncate(int fd, off_t size) {
  return Ret(::ftruncate(fd, size));
}
int PosixBlockingFs::Fstat(int fd, struct stat* st) {
  return Ret(::fstat(fd, st));
}
int PosixBlockingFs::Stat(int dirfd, const char* path, struct stat* st,
                          int flags) {
  return Ret(::fstatat(dirfd, path, st, flags));
}
int PosixBlockingFs::Mkdir(int dirfd, const char* path, mode_t mode) {
  return Ret(::mkdirat(dirfd, path, mode));
}
int PosixBlockingFs::Rename(int old_dirfd, const char* old_path,
                            int new_dirfd, const char* new_path,
                            unsigned flags) {
  if (flags == 0) return Ret(::renameat(old_dirfd, old_path, new_dirfd, new_path));
  return Ret(::renameat2(old_dirfd, old_path, new_dirfd, new_path, flags));
}
int PosixBlockingFs::Link(int old_dirfd, const char* old_path, int new_dirfd,
                          const char* new_path, int flags) {
  return Ret(::linkat(old_dirfd, old_path, new_dirfd, new_path, flags));
}
int PosixBlockingFs::Unlink(int dirfd, const char* path, int flags) {
  return Ret(::unlinkat(dirfd, path, flags));
}

int PosixBlockingFs::ListDir(
    const char* path,
    absl::FunctionRef<bool(int dirfd, std::string_view name,
                           unsigned char d_type)>
        fn) {
  DIR* d = ::opendir(path);
  if (d == nullptr) return -errno;
  int result = 0;
  int dfd = ::dirfd(d);
  while (true) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) result = -errno;
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!fn(dfd, name, e->d_type)) break;
  }
  ::closedir(d);
  return result;
}

BlockingFs& DefaultBlockingFs() {
  static PosixBlockingFs* fs = new PosixBlockingFs();
  return *fs;
}

int PwriteAll(BlockingFs& fs, int fd, const void* buf, size_t len,
              off_t offset) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = fs.Pwrite(fd, p, len, offset);
    if (n == -EINTR) continue;
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return -EIO;
    p += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return 0;
}

}  // namespace ringmail::engine
