// DeliveryQueue, O_TMPFILE delivery (journal mode, DeliveryOptions::tmpfile).
//
// A journal-eligible target is opened as open(new/, O_WRONLY|O_TMPFILE):
// an inode with no directory entry, so neither the tmp/ directory lock of a
// create nor the cross-directory rename (s_vfs_rename_mutex, two directory
// locks, an entry removal) is paid. After the batch's journal flush, in
// batch order, where the classic path renames, the file gets its only name:
//   linkat(AT_FDCWD, "/proc/self/fd/<fd>", AT_FDCWD, new/<new_name>,
//          AT_SYMLINK_FOLLOW), then close.
// The link happens after every write, as the rename did, so readers of new/
// (IMAP/POP, Dovecot, mutt) only ever see complete files. A crash before it
// leaves nothing behind: the unnamed inode sits on the file system's orphan
// list and is freed at mount (or by fsck); the journal record, if durable,
// is replayed by recovery as for a classic file missing from new/.
//
// linkat needs the /proc/self/fd path: AT_EMPTY_PATH on the fd itself would
// need CAP_DAC_READ_SEARCH. /proc is probed through the FileIo (never a
// blocking syscall on the core thread) when the queue is built and again
// when a link fails with ENOENT, which is also what a vanished new/ gives.
//
// Fallbacks to the classic tmp/ path:
//   * open says EOPNOTSUPP (file system without O_TMPFILE) or EISDIR
//     (kernel without it: O_TMPFILE includes O_DIRECTORY): that target and
//     every later one of this queue.
//   * /proc/self/fd missing: every later message of this queue.
//   * the message leaves the journal path (body grew past the journal
//     limit, or the journal broke): at its fsync batch the file is linked
//     into tmp/<base> and then handled exactly as a classic tmp/ file.
#include <errno.h>
#include <fcntl.h>

#include <cassert>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/delivery_state.h"

namespace ringmail::storage {

using internal::MessageState;
using internal::TargetState;

namespace {

constexpr char kProcSelfFd[] = "/proc/self/fd";

std::string ProcFdPath(int fd) { return absl::StrCat(kProcSelfFd, "/", fd); }

}  // namespace

bool DeliveryQueue::tmpfile_active() const {
  return opts_.tmpfile && journal_active() && tmpfile_supported_ &&
         proc_fd_ == ProcFd::kPresent;
}

bool DeliveryQueue::WantsTmpfile(const MessageState* m) const {
  return tmpfile_active() && UsesJournal(m);
}

bool DeliveryQueue::TmpfileUnsupported(int open_result) {
  if (open_result != -EOPNOTSUPP && open_result != -EISDIR) return false;
  if (tmpfile_supported_) {
    tmpfile_supported_ = false;
    opts_.log(SyscallError("open(O_TMPFILE)", open_result) +
              "; delivering through tmp/ from now on");
  }
  return true;
}

void DeliveryQueue::ProbeProcFd() {
  if (probe_in_flight_ || proc_fd_ == ProcFd::kMissing) return;
  probe_in_flight_ = true;
  std::weak_ptr<bool> alive = alive_;
  io_->OpenAt(AT_FDCWD, kProcSelfFd, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
              [this, alive, io = io_](int fd) {
                if (fd >= 0) io->Close(fd, [](int) {});
                if (alive.expired()) return;
                probe_in_flight_ = false;
                if (fd >= 0) {
                  proc_fd_ = ProcFd::kPresent;
                } else {
                  proc_fd_ = ProcFd::kMissing;
                  std::string what = absl::StrCat("open(", kProcSelfFd, ")");
                  opts_.log(SyscallError(what, fd) +
                            "; O_TMPFILE delivery off, using tmp/");
                }
                MaybeDrained();
              });
}

// fsync batch: the message left the journal path after its O_TMPFILE file
// was opened. Naming it tmp/<base> turns it into a classic tmp/ file
// (`created`: Cleanup unlinks it), which SyncFile then makes durable.
//
// With fsync, not fdatasync: the inode was created with a link count of 0
// and the linkat just raised it to 1. fdatasync promises only the metadata
// needed to read the data back (size, block map), and the link count is not
// part of it. On a file system without a journal (ext2, ext4 without one)
// the inode could reach the disk with the new size but a link count of 0;
// after a crash the new/ entry that the later directory fsync persisted
// would point at an inode fsck considers free. fsync writes the whole inode.
void DeliveryQueue::LinkIntoTmp(MessageState* m, size_t t) {
  TargetState& ts = m->targets[t];
  assert(ts.tmpfile && ts.fd >= 0);
  // Failed already: closing frees the unnamed file, no need for a name.
  if (!m->error.ok()) return CloseSynced(m, t);
  ++m->ops_in_flight;
  io_->LinkAt(AT_FDCWD, ProcFdPath(ts.fd), AT_FDCWD, ts.tmp_path,
              AT_SYMLINK_FOLLOW, [this, m, t](int r) {
                --m->ops_in_flight;
                TargetState& ts = m->targets[t];
                if (r < 0) {
                  LinkFailed(m, ts, ts.tmp_path, r);
                  return CloseSynced(m, t);  // counts the step, cleans up
                }
                ts.tmpfile = false;
                ts.created = true;
                ts.full_fsync = true;
                SyncFile(m, t);
              });
}

// Journal batch, after the flush: the link replaces the rename. The fd is
// closed only after the link (closing first would free the inode); a close
// error fails the message like a failed rename, and Cleanup unlinks the
// linked copy (`renamed`).
void DeliveryQueue::LinkIntoNew(MessageState* m, size_t t,
                                std::string new_path) {
  TargetState& ts = m->targets[t];
  assert(ts.tmpfile && ts.fd >= 0);
  ++m->ops_in_flight;
  io_->LinkAt(
      AT_FDCWD, ProcFdPath(ts.fd), AT_FDCWD, new_path, AT_SYMLINK_FOLLOW,
      [this, m, t, new_path](int r) {
        --m->ops_in_flight;
        TargetState& ts = m->targets[t];
        if (r == 0) {
          ts.renamed = true;
        } else {
          LinkFailed(m, ts, new_path, r);
        }
        CloseTargetFd(m, t, ts.renamed ? new_path : internal::FileLabel(ts),
                      [this, m] { RenamedOne(m); });
      });
}

// A failed link fails the message. ENOENT means new/ (or tmp/) vanished or
// /proc is gone: probe /proc again, and keep new messages on tmp/ until the
// probe says it is there (a vanished Maildir is recreated by the next open,
// which fails with ENOENT too).
void DeliveryQueue::LinkFailed(MessageState* m, const TargetState& ts,
                               const std::string& to, int r) {
  opts_.log(SyscallError(absl::StrCat("linkat(", ProcFdPath(ts.fd), " [",
                                      internal::FileLabel(ts), "], ", to, ")"),
                         r));
  FailMessage(m, GenericIoStatus(r));
  if (r == -ENOENT && proc_fd_ == ProcFd::kPresent) {
    proc_fd_ = ProcFd::kUnknown;
    ProbeProcFd();
  }
}

}  // namespace ringmail::storage
