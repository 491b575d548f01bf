// Asynchronous file I/O as seen by storage/.
//
// storage/ never issues a syscall on a core thread itself: it asks a FileIo
// for each operation and is called back with the result. The production
// implementation (engine/ring_file_io.h) submits io_uring SQEs on the owning
// core's ring; tests use FakeFileIo-style implementations to inject faults.
//
// Conventions for every call:
//   * `done` is invoked exactly once, on the calling core's thread, never
//     re-entrantly from inside the call itself (it is always deferred to a
//     later completion), so callers may issue several calls and then return.
//   * The result is >= 0 on success (an fd for OpenAt, a byte count for
//     Write, 0 otherwise) or -errno on failure, exactly as io_uring reports.
//   * Buffers passed to Write/WriteV must stay valid and unmodified until `done`
//     runs. Path strings are copied by the implementation.
//   * A FileIo is owned by one core and used only from that core's thread.
#ifndef RINGMAIL_ENGINE_FILE_IO_H_
#define RINGMAIL_ENGINE_FILE_IO_H_

#include <fcntl.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/types/span.h"

namespace ringmail::engine {

using IoCallback = absl::AnyInvocable<void(int result)>;

class FileIo {
 public:
  virtual ~FileIo() = default;

  // openat(2). `dirfd` may be AT_FDCWD. Result: the new fd or -errno.
  virtual void OpenAt(int dirfd, std::string_view path, int flags, mode_t mode,
                      IoCallback done) = 0;

  // pwrite(2) of [data, data+len) at `offset`. May complete short; the
  // caller resubmits the rest. Result: bytes written or -errno.
  virtual void Write(int fd, const void* data, size_t len, uint64_t offset,
                     IoCallback done) = 0;

  // pwritev(2) of `parts` (at most kMaxWriteParts, laid end to end) at
  // `offset`: one operation where separate Writes would each be one trip
  // through the kernel's worker pool. The iovec array is copied; the buffers
  // it points to follow the Write rule above. May complete short (anywhere,
  // also inside a part); the caller resubmits the rest. Result: bytes
  // written or -errno.
  static constexpr size_t kMaxWriteParts = 8;
  virtual void WriteV(int fd, absl::Span<const iovec> parts, uint64_t offset,
                      IoCallback done) = 0;

  // pread(2) into [data, data+len) at `offset`. Result: bytes read or -errno.
  // The kernel writes into the buffer until `done` runs, whatever happens
  // to the caller meanwhile: the buffer must be owned by (or outlive) the
  // callback, never by an object that may be freed or reused before it.
  virtual void Read(int fd, void* data, size_t len, uint64_t offset,
                    IoCallback done) = 0;

  // fsync(2), or fdatasync(2) when `datasync`. Result: 0 or -errno.
  virtual void Fsync(int fd, bool datasync, IoCallback done) = 0;

  // renameat(2) within or across directories. Result: 0 or -errno.
  virtual void RenameAt(int old_dirfd, std::string_view old_path,
                        int new_dirfd, std::string_view new_path,
                        IoCallback done) = 0;

  // linkat(2). `flags` is 0 or AT_SYMLINK_FOLLOW; the latter is how an
  // O_TMPFILE inode gets its name: old_path "/proc/self/fd/<fd>" with
  // old_dirfd AT_FDCWD (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
  // Fails like linkat(2): -EEXIST if new_path exists, -ENOENT if a
  // directory (or /proc) is missing. Result: 0 or -errno.
  virtual void LinkAt(int old_dirfd, std::string_view old_path, int new_dirfd,
                      std::string_view new_path, int flags,
                      IoCallback done) = 0;

  // unlinkat(2); `flags` may be AT_REMOVEDIR. Result: 0 or -errno.
  virtual void UnlinkAt(int dirfd, std::string_view path, int flags,
                        IoCallback done) = 0;

  // mkdirat(2). Result: 0 or -errno (-EEXIST when it already exists).
  virtual void MkdirAt(int dirfd, std::string_view path, mode_t mode,
                       IoCallback done) = 0;

  // close(2). Result: 0 or -errno. The fd is gone either way.
  virtual void Close(int fd, IoCallback done) = 0;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_FILE_IO_H_
