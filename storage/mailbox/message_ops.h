// Message mutations of an open folder. Each is one syscall (or a short
// fixed sequence for APPEND) through engine::FileIo, issued by the core
// that owns the folder; nothing here blocks.
//
// The Plan* functions are pure: they return the paths for the FileIo call
// the caller makes (RenameAt / UnlinkAt / LinkAt) and the name to record in
// the FolderIndex once the call succeeds (ApplyRename / Remove). A -ENOENT
// result means another process renamed or expunged the file: resync.
//
// UIDs for COPY/APPEND targets (COPYUID/APPENDUID, RFC 4315): after the
// link/rename succeeded, run ResolveNewMessagesBlocking(target, {{name,
// in_cur=true}}) on a helper; it assigns the UID under the uidlist lock at
// once, and its result is applied to the target's index if it is open.
#ifndef RINGMAIL_STORAGE_MAILBOX_MESSAGE_OPS_H_
#define RINGMAIL_STORAGE_MAILBOX_MESSAGE_OPS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/file_io.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::storage {

struct FileMove {
  std::string from;          // absolute path
  std::string to;            // absolute path
  std::string new_filename;  // for FolderIndex::ApplyRename (always cur/)
};

// STORE: rename to the new ":2,<flags>" info; a message in new/ moves to
// cur/ (Maildir spec: info only exists in cur/). nullopt when nothing
// changes.
std::optional<FileMove> PlanFlagChange(const std::string& folder,
                                       const MessageEntry& entry,
                                       uint8_t flags, uint32_t keywords);

// EXPUNGE: the path to unlink.
std::string ExpungePath(const std::string& folder, const MessageEntry& entry);

// COPY: hard link into <target>/cur/<new_base>[,S=..,W=..]:2,<flags>,
// keeping size fields and flags; the link shares the inode, so the mtime
// (internal date) is kept. `new_base` is a fresh unique name
// (FormatUniqueName). InvalidArgument if new_base contains ',' ':' '/'.
absl::StatusOr<FileMove> PlanCopy(const std::string& src_folder,
                                  const MessageEntry& entry,
                                  const std::string& target_folder,
                                  std::string_view new_base);

// Sets a file's mtime, given the path. utimensat has no io_uring opcode:
// production passes a function that runs SetMtimeBlocking on a helper and
// calls `done` back on the core. It is only invoked from a FileIo
// completion, so tests may run it inline. `done` gets 0 or -errno.
using SetMtimeFn = absl::AnyInvocable<void(
    std::string path, int64_t mtime, absl::AnyInvocable<void(int)> done)>;

// BLOCKING (helper): utimensat(path, {mtime, mtime}). 0 or -errno.
int SetMtimeBlocking(const std::string& path, int64_t mtime);

struct AppendRequest {
  std::string folder;     // absolute folder path
  std::string base;       // fresh unique base name (FormatUniqueName)
  std::shared_ptr<const std::string> data;  // LF line endings
  uint64_t vsize = 0;     // size with CRLF endings (for ,W=)
  uint8_t flags = 0;
  uint32_t keywords = 0;
  int64_t internal_date = 0;  // Unix seconds
};

// APPEND: open tmp/<name> (O_EXCL), write all data (short writes resumed),
// set the mtime to internal_date (via set_mtime), fsync, close, rename to
// cur/<base>,S=<size>,W=<vsize>:2,<flags>, fsync cur/. `done` runs
// exactly once, later, with the file name in cur/ or a generic I/O status
// (the tmp file is unlinked on failure). `io` and `set_mtime` must outlive
// the operation.
void AppendMessageAsync(engine::FileIo* io, SetMtimeFn* set_mtime,
                        AppendRequest req,
                        absl::AnyInvocable<void(absl::StatusOr<std::string>)> done);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_MESSAGE_OPS_H_
