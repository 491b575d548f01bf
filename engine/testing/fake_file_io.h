// FakeFileIo: an engine::FileIo for tests.
//
// Every operation performs the real POSIX syscall synchronously (so tests
// can inspect the files on disk afterwards), but its callback is queued and
// runs only from RunUntilIdle()/RunQueued(). Callbacks therefore never run
// re-entrantly from inside the call, exactly like the io_uring
// implementation.
//
// Fault injection: a fault makes a matching operation skip the syscall and
// complete with -errno instead (Close still closes the fd, because close(2)
// releases the fd even when it fails). Short writes cap the bytes per Write.
//
// Every operation is recorded (kind, fd, resolved path(s), result) in issue
// order, so tests can assert orderings such as "fdatasync before rename".
//
// O_TMPFILE: the open really creates the unnamed inode; its record and the
// fd's path are "<dir>/(O_TMPFILE)" (see kTmpfileSuffix), so faults and
// counts can single such files out. LinkAt of "/proc/self/fd/<fd>" with
// AT_SYMLINK_FOLLOW (how the inode gets a name) records `fd` and, on
// success, makes the link target the fd's path from then on. /proc must be
// mounted for the real linkat; tests simulate its absence with faults on
// paths containing "/proc/self/fd".
//
// Single-threaded, like the real FileIo. Not for production use.
#ifndef RINGMAIL_ENGINE_TESTING_FAKE_FILE_IO_H_
#define RINGMAIL_ENGINE_TESTING_FAKE_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/file_io.h"

namespace ringmail::engine::testing {

class FakeFileIo final : public FileIo {
 public:
  enum class Op {
    kOpen,
    kWrite,
    kRead,
    kFsync,      // Fsync(fd, datasync=false)
    kFdatasync,  // Fsync(fd, datasync=true)
    kRename,
    kLink,
    kUnlink,
    kMkdir,
    kClose,
  };
  static std::string_view OpName(Op op);
  // Appended to the directory path of an O_TMPFILE open (and its fd).
  static constexpr std::string_view kTmpfileSuffix = "/(O_TMPFILE)";

  // One issued operation. `path` is the resolved path (for fd operations,
  // the path the fd was opened with; "" if unknown). `path2` is the target
  // of a rename/link. For a link from "/proc/self/fd/<n>", `fd` is n.
  // `result` is what the callback receives.
  struct Record {
    Op op;
    int fd = -1;
    std::string path;
    std::string path2;
    uint64_t offset = 0;
    size_t len = 0;
    int result = 0;
  };

  FakeFileIo() = default;
  // Closes fds the code under test leaked (see open_fds()) so a failing
  // test does not leak into the next one. Pending callbacks are dropped.
  ~FakeFileIo() override;
  FakeFileIo(const FakeFileIo&) = delete;
  FakeFileIo& operator=(const FakeFileIo&) = delete;

  // engine::FileIo.
  void OpenAt(int dirfd, std::string_view path, int flags, mode_t mode,
              IoCallback done) override;
  void Write(int fd, const void* data, size_t len, uint64_t offset,
             IoCallback done) override;
  // Recorded (and faulted) as a kWrite of the parts' total length.
  void WriteV(int fd, absl::Span<const iovec> parts, uint64_t offset,
              IoCallback done) override;
  void Read(int fd, void* data, size_t len, uint64_t offset,
            IoCallback done) override;
  void Fsync(int fd, bool datasync, IoCallback done) override;
  void RenameAt(int old_dirfd, std::string_view old_path, int new_dirfd,
                std::string_view new_path, IoCallback done) override;
  void LinkAt(int old_dirfd, std::string_view old_path, int new_dirfd,
              std::string_view new_path, int flags,
              IoCallback done) override;
  void UnlinkAt(int dirfd, std::string_view path, int flags,
                IoCallback done) override;
  void MkdirAt(int dirfd, std::string_view path, mode_t mode,
               IoCallback done) override;
  void Close(int fd, IoCallback done) override;

  // Runs queued callbacks (FIFO), including ones queued by those callbacks,
  // until none is left. Returns how many ran. Aborts after `max_steps` to
  // turn an accidental infinite I/O loop into a test failure.
  size_t RunUntilIdle(size_t max_steps = 1'000'000);
  // Runs only the callbacks queued before this call. Returns how many ran.
  size_t RunQueued();
  // Runs the oldest queued callback, if any. Returns false if none.
  bool RunOne();
  size_t pending() const { return queue_.size(); }

  // Fault injection. The fault applies to the `skip`+1-th future operation
  // of kind `op` whose path (or fd's path) contains `path_substring` ("" =
  // any path), then to the following `times`-1 matching ones.
  void Fail(Op op, int err, std::string_view path_substring = "",
            int skip = 0, int times = 1);
  void FailNext(Op op, int err) { Fail(op, err); }
  // n = 1 is the next operation of that kind.
  void FailNth(Op op, int n, int err) { Fail(op, err, "", n - 1); }
  void ClearFaults() { faults_.clear(); }
  // Every Write (and WriteV) transfers at most `max_bytes` (0 = unlimited), so callers
  // must handle short writes.
  void SetMaxWriteBytes(size_t max_bytes) { max_write_bytes_ = max_bytes; }

  // The operation log.
  const std::vector<Record>& records() const { return records_; }
  void ClearRecords() { records_.clear(); }
  std::vector<Record> RecordsOf(Op op) const;
  // Index in records() of the first record at or after `start` of kind `op`
  // whose path or path2 contains `substring`; -1 if none.
  int IndexOf(Op op, std::string_view substring, size_t start = 0) const;
  size_t Count(Op op, std::string_view substring = "") const;

  // Number of fds opened through this FileIo and not yet closed.
  size_t open_fds() const { return fd_paths_.size(); }
  std::string PathOf(int fd) const;

 private:
  struct Fault {
    Op op;
    int err;
    std::string path_substring;
    int skip;
    int times;
  };

  std::string Resolve(int dirfd, std::string_view path) const;
  // Returns -err if a fault fires for this operation, else 0.
  int TakeFault(Op op, std::string_view path, std::string_view path2);
  void Complete(Record record, IoCallback done);

  std::deque<std::pair<IoCallback, int>> queue_;
  std::vector<Fault> faults_;
  std::vector<Record> records_;
  absl::flat_hash_map<int, std::string> fd_paths_;
  size_t max_write_bytes_ = 0;
};

}  // namespace ringmail::engine::testing

#endif  // RINGMAIL_ENGINE_TESTING_FAKE_FILE_IO_H_
