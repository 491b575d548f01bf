// Deterministic storage simulation (the TigerBeetle/FoundationDB way): an
// in-memory file system that distinguishes what is durable from what is
// only in the page cache, behind both engine::FileIo (SimFileIo: runtime
// code, completions in an order drawn from a seed) and engine::BlockingFs
// (SimBlockingFs: start-up recovery), with error injection and simulated
// power cuts. One seed drives everything; the same seed replays exactly.
//
// THE MODEL (docs/durability.md, "Deterministic simulation"):
//
//   Namespace. Every directory has its current entries (what lookups see)
//   and its durable entries. Every namespace change (create, O_TMPFILE
//   link, link, mkdir, rename, unlink, rmdir) is applied to the current
//   entries at once and appended to one global log of pending metadata
//   operations, in the order they completed.
//     fsync(dir D): makes durable every pending operation that touches D,
//       plus (transitively) every earlier pending operation that touches a
//       directory one of those touches, in log order; nothing else. A
//       cross-directory rename is atomic: it becomes durable in both
//       directories at once or not at all.
//     fsync/fdatasync(file): persist the file's data and size, NOT its
//       directory entry (a new file needs an fsync of its directory, as
//       POSIX says; ext4 would also commit the entry, we do not).
//     syncfs: everything.
//   File data. Every write and truncate is applied to the file's current
//   content at once and appended to the file's list of pending data
//   operations. fsync/fdatasync apply the list to the durable content.
//   A failed fsync (injected EIO) applies a random subset of the list and
//   then forgets it: the pages are clean but were lost (Linux after a
//   writeback error, "fsyncgate"); a later fsync does not bring them back.
//   As in Linux (errseq_t), such a writeback error — also one during a
//   failed syncfs — is reported by the next fsync/fdatasync of every fd
//   that was open before it, once per fd.
//   Power cut (PowerCut): every fd is closed; then, depending on the mode
//   drawn for the cut,
//     kDropVolatile  only what was made durable survives;
//     kPrefix        in addition a random prefix of the pending metadata
//                    log survives (a journalling file system commits its
//                    metadata in order), and per file a random prefix of its
//                    pending data operations, the last one torn at a random
//                    byte;
//     kScatter       a random prefix of the metadata log, and per file each
//                    512-byte sector of each pending write (and each
//                    pending truncate) independently (writeback in any
//                    order, sector-atomic).
//   Files and directories no longer reachable from the root are freed (an
//   unlinked or never-linked O_TMPFILE inode included). The surviving
//   state becomes the new current and durable state.
//
// Why this is at least as strict as ext4 data=ordered: every state ext4
// can show after a crash is one the model can produce. ext4 commits
// metadata in order (a prefix of the log; fsync of anything commits the
// whole running transaction, i.e. a longer prefix than the model's fsync
// guarantees), writes data back in any order at page or sector granularity
// (kScatter), and may show a size update before the data of an append
// reached the disk (zeros or an old tail: the model fills unwritten
// ranges with zeros). The model additionally allows states ext4 cannot
// produce (a file's fsync not persisting its new entry, metadata durable
// per directory rather than per transaction), so code that is correct here
// does not rely on ext4's stronger behaviour.
//
// Not modelled: link counts as separate metadata (an entry that is durable
// makes its inode reachable with whatever data is durable), permissions,
// symlinks, hard links to directories, renaming a directory below itself,
// atime/ctime, "." and ".." in paths, several file systems (st_dev is
// always 1).
//
// Single-threaded, like the code it runs. Not for production use.
#ifndef RINGMAIL_ENGINE_TESTING_SIM_FS_H_
#define RINGMAIL_ENGINE_TESTING_SIM_FS_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "engine/blocking_fs.h"
#include "engine/file_io.h"

namespace ringmail::engine::testing {

// xoshiro256** seeded by SplitMix64: the same sequence on every platform
// and standard library (std::uniform_int_distribution is not).
class SimRng {
 public:
  explicit SimRng(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); 0 if n == 0.
  uint64_t Below(uint64_t n);
  // Uniform in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  // True with probability p.
  bool Chance(double p);
  double Unit();  // [0, 1)

 private:
  uint64_t s_[4];
};

// Per-operation probabilities of an injected failure. The kind of failure
// is drawn too (EIO or ENOSPC for writes and creating operations).
struct SimFaults {
  double write_error = 0;  // -EIO or -ENOSPC, nothing written
  double short_write = 0;  // a random prefix is written
  double fsync_error = 0;  // -EIO, pending data lost (see the model)
  double read_error = 0;   // -EIO
  double meta_error = 0;   // open/mkdir/rename/link/unlink: -EIO or -ENOSPC
  double close_error = 0;  // -EIO, the fd is closed anyway
  double syncfs_error = 0;
  bool any() const {
    return write_error > 0 || short_write > 0 || fsync_error > 0 ||
           read_error > 0 || meta_error > 0 || close_error > 0 ||
           syncfs_error > 0;
  }
};

enum class SimCutMode { kDropVolatile, kPrefix, kScatter };
std::string_view SimCutModeName(SimCutMode mode);

// The in-memory file system. All operations are synchronous and return
// >= 0 or -errno like the syscalls; no faults are injected here (the
// front ends, SimFileIo and SimBlockingFs, decide them with Fault*()).
class SimFs {
 public:
  explicit SimFs(SimRng* rng);
  SimFs(const SimFs&) = delete;
  SimFs& operator=(const SimFs&) = delete;

  SimRng& rng() { return *rng_; }
  // The time stamped as mtime on writes and creations.
  void set_now(absl::Time now) { now_ = now; }
  absl::Time now() const { return now_; }

  // ---- POSIX operations. `dirfd` may be AT_FDCWD (the root: paths are
  // absolute in practice) or a directory fd. "/proc/self/fd" opens as an
  // empty directory; "/proc/self/fd/<n>" with AT_SYMLINK_FOLLOW names fd
  // n's inode in Link.
  int Open(int dirfd, std::string_view path, int flags, mode_t mode);
  int Close(int fd);
  ssize_t Pread(int fd, void* buf, size_t len, uint64_t offset);
  ssize_t Pwrite(int fd, const void* buf, size_t len, uint64_t offset);
  int Fsync(int fd, bool datasync);
  int Syncfs();
  int Ftruncate(int fd, uint64_t size);
  int Fstat(int fd, struct stat* st);
  int Stat(int dirfd, std::string_view path, struct stat* st);
  int Mkdir(int dirfd, std::string_view path, mode_t mode);
  int Rename(int old_dirfd, std::string_view old_path, int new_dirfd,
             std::string_view new_path, unsigned flags);
  int Link(int old_dirfd, std::string_view old_path, int new_dirfd,
           std::string_view new_path, int flags);
  int Unlink(int dirfd, std::string_view path, int flags);
  // The names and d_types (DT_DIR/DT_REG) of a directory, sorted by name.
  int ReadDir(int dirfd, std::string_view path,
              std::vector<std::pair<std::string, unsigned char>>* out);

  // ---- Failures (called by the front ends instead of the operation).
  // fsync failed: a random subset of the file's pending data reaches the
  // disk, the rest is lost for good (its pages are clean now).
  void FsyncFailed(int fd);
  // syncfs failed: each file either synced or as FsyncFailed; a random
  // prefix of the metadata log becomes durable.
  void SyncfsFailed();

  // ---- Power cut: see the model above. Closes every fd.
  void PowerCut(SimCutMode mode);
  // The process exits (the machine keeps running): every fd is closed,
  // nothing else changes.
  void CloseAll() { fds_.clear(); }

  // ---- Inspection of the current state (checkers; no side effects).
  bool ReadFile(std::string_view path, std::string* out) const;
  bool IsDir(std::string_view path) const;
  bool Exists(std::string_view path) const;
  // Entry names of a directory (sorted), empty if missing.
  std::vector<std::string> List(std::string_view path) const;
  size_t open_fds() const { return fds_.size(); }
  size_t pending_meta_ops() const { return meta_log_.size(); }
  // Bytes of file data not yet durable, over all files.
  uint64_t pending_data_bytes() const;
  // The path an fd was opened with (O_TMPFILE: "<dir>/(tmpfile)").
  std::string FdPath(int fd) const;
  // A one-line summary for logs.
  std::string Summary() const;

 private:
  struct DataOp {
    bool truncate = false;
    uint64_t offset = 0;  // write offset, or the truncated size
    std::string bytes;
  };
  struct Inode {
    bool dir = false;
    std::string data;                // what reads see
    std::string disk;                // durable content
    std::vector<DataOp> pending;     // not yet applied to `disk`
    std::map<std::string, uint64_t> entries;  // directories: current
    uint32_t nlink = 0;              // current directory entries naming it
    bool tmpfile = false;            // O_TMPFILE, never linked
    int64_t mtime_ns = 0;
    // Writeback errors so far (Linux's errseq_t in the mapping): an fsync
    // reports EIO once per fd for every error after the fd's open or its
    // last reported one.
    uint64_t wb_err = 0;
  };
  struct MetaOp {
    enum Kind { kLink, kUnlink, kRename } kind;
    uint64_t dir1 = 0;
    std::string name1;
    uint64_t dir2 = 0;  // rename target directory
    std::string name2;
    uint64_t ino = 0;
  };
  enum class FdKind { kFile, kDir, kProc };
  struct Fd {
    FdKind kind = FdKind::kFile;
    uint64_t ino = 0;
    int flags = 0;
    std::string path;
    uint64_t wb_err_seen = 0;  // the inode's wb_err at open / last report
  };
  // A resolved "parent directory + last component".
  struct Where {
    int err = 0;  // -errno
    uint64_t parent = 0;
    std::string name;
    uint64_t ino = 0;  // 0 if the last component does not exist
  };

  static constexpr uint64_t kRoot = 1;

  Where Resolve(int dirfd, std::string_view path) const;
  int Lookup(int dirfd, std::string_view path, uint64_t* ino) const;
  uint64_t NewInode(bool dir);
  void AddEntry(uint64_t dir, const std::string& name, uint64_t ino);
  void RemoveEntry(uint64_t dir, const std::string& name);
  void LogMeta(MetaOp op);
  void ApplyDurable(const MetaOp& op);
  void TouchData(Inode& in);
  static void ApplyData(std::string* content, const DataOp& op);
  // Applies a random subset of `in.pending` (kScatter rules) to `disk`.
  void ScatterPending(Inode& in, double keep);
  const Fd* GetFd(int fd) const;
  Inode* FileOf(int fd, bool for_write, int* err);

  SimRng* rng_;
  absl::Time now_ = absl::UnixEpoch();
  uint64_t next_ino_ = kRoot + 1;
  std::map<uint64_t, Inode> inodes_;
  // Durable entries of every directory whose creation is durable.
  std::map<uint64_t, std::map<std::string, uint64_t>> durable_dirs_;
  std::deque<MetaOp> meta_log_;
  std::map<int, Fd> fds_;
  int next_fd_ = 1000;
};

// The event loop of a simulation: virtual time, timers, and the pending
// SimFileIo operations. Step() advances the clock by a random amount and
// then runs ONE event drawn from the seed: the completion of any pending
// I/O operation (its effect on SimFs happens at completion, so operations
// in flight together complete in any order, as on io_uring) or the
// earliest due timer. Pending operations are kept in a canonical order
// (by kind, path, offset, ...; ties in issue order), so the draw does not
// depend on the order in which code happened to issue them (e.g. from
// hash-map iteration).
class SimLoop {
 public:
  explicit SimLoop(SimRng* rng, absl::Time start = absl::FromUnixSeconds(1'700'000'000));
  SimLoop(const SimLoop&) = delete;
  SimLoop& operator=(const SimLoop&) = delete;

  absl::Time now() const { return now_; }
  // Runs `fn` once the clock reached now + delay (ZeroDuration: at a later
  // step). Never from inside this call.
  void RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn);
  // Queues an I/O operation: `run` applies it and returns its result,
  // `done` receives it.
  void AddIo(std::string key, absl::AnyInvocable<int()> run, IoCallback done);

  // One event. False if nothing is pending at all (no I/O, no timer).
  bool Step();
  // Steps until nothing but timers later than `until` are left, at most
  // `max_steps`. Returns the steps run.
  uint64_t RunUntilIdle(absl::Time until, uint64_t max_steps);

  // Power cut / end of a run: drops every pending operation and timer
  // (their callbacks never run).
  void Clear();

  size_t pending_io() const { return io_.size(); }
  size_t pending_timers() const { return timers_.size(); }
  uint64_t steps() const { return steps_; }
  // Hash of every event run so far (kind, key, result): two runs of the
  // same seed must end with the same value.
  uint64_t trace_hash() const { return trace_; }
  // Upper bound of the random clock advance per step.
  void set_max_advance(absl::Duration d) { max_advance_ = d; }
  // Called with every event's description (debug tracing); may be empty.
  void set_trace(absl::AnyInvocable<void(std::string_view)> fn) {
    trace_fn_ = std::move(fn);
  }

 private:
  struct Io {
    std::string key;
    uint64_t seq;
    absl::AnyInvocable<int()> run;
    IoCallback done;
  };
  void Mix(std::string_view s, int64_t v);

  SimRng* rng_;
  absl::Time now_;
  absl::Duration max_advance_ = absl::Microseconds(40);
  std::vector<Io> io_;  // sorted by (key, seq)
  std::multimap<std::pair<absl::Time, uint64_t>, absl::AnyInvocable<void()>>
      timers_;
  uint64_t seq_ = 0;
  uint64_t steps_ = 0;
  uint64_t trace_ = 0xcbf29ce484222325ull;
  absl::AnyInvocable<void(std::string_view)> trace_fn_;
};

// engine::FileIo over SimFs: every call becomes a SimLoop operation whose
// effect and callback happen at a step drawn from the seed; failures are
// injected from `faults` at that moment.
class SimFileIo final : public FileIo {
 public:
  SimFileIo(SimFs* fs, SimLoop* loop);
  void set_faults(const SimFaults& f) { faults_ = f; }
  const SimFaults& faults() const { return faults_; }

  void OpenAt(int dirfd, std::string_view path, int flags, mode_t mode,
              IoCallback done) override;
  void Write(int fd, const void* data, size_t len, uint64_t offset,
             IoCallback done) override;
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
  // Not part of FileIo: syncfs(2) of the (only) file system, as the
  // journal checkpoint's FsSyncer does it (DeliveryOptions::sync_fs).
  void SyncFs(IoCallback done);

  uint64_t faults_injected() const { return faults_injected_; }

 private:
  std::string FdKey(int fd) const;
  int WriteBytes(int fd, std::string bytes, uint64_t offset);
  int MetaFault(bool creates);

  SimFs* fs_;
  SimLoop* loop_;
  SimFaults faults_;
  uint64_t faults_injected_ = 0;
};

// engine::BlockingFs over SimFs (start-up recovery). Failures are injected
// from `faults` (none by default).
class SimBlockingFs final : public BlockingFs {
 public:
  explicit SimBlockingFs(SimFs* fs) : fs_(fs) {}
  void set_faults(const SimFaults& f) { faults_ = f; }
  const SimFaults& faults() const { return faults_; }
  // Calls `fn` before every operation with a running count; the simulation
  // uses it to cut the power in the middle of recovery (fn returns true:
  // the operation and everything after it fail with -EIO, as in a dead
  // machine, until set_dead(false)).
  void set_op_hook(absl::AnyInvocable<bool(uint64_t op)> fn) {
    hook_ = std::move(fn);
  }
  // The next `op` ("open", "pwrite", "fsync" — also fdatasync —, "mkdir",
  // "rename", "unlink") on exactly `path` (an fd's open path for fd
  // operations) fails with -err instead, once.
  void FailOnce(std::string op, std::string path, int err) {
    fail_once_.push_back({std::move(op), std::move(path), err});
  }
  bool dead() const { return dead_; }
  void set_dead(bool dead) { dead_ = dead; }
  uint64_t ops() const { return ops_; }

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

 private:
  // -EIO if the machine is dead (or dies now), else 0.
  int Enter();
  // -err of a matching FailOnce rule (consumed), else 0.
  int Planned(std::string_view op, std::string_view path);
  struct Planned_ {
    std::string op;
    std::string path;
    int err;
  };
  std::vector<Planned_> fail_once_;
  bool Fault(double p) { return p > 0 && fs_->rng().Chance(p); }

  SimFs* fs_;
  SimFaults faults_;
  absl::AnyInvocable<bool(uint64_t)> hook_;
  uint64_t ops_ = 0;
  bool dead_ = false;
};

}  // namespace ringmail::engine::testing

#endif  // RINGMAIL_ENGINE_TESTING_SIM_FS_H_
