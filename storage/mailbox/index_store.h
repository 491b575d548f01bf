// Who may write a folder's ringmail-index, and whether a loaded index can
// be trusted for mod-sequences (docs/mailbox-index.md, "Owners").
//
// The index is a cache written without fsync, and the process can die
// between handing a client a mod-sequence and saving it. RFC 7162 §3.1.1
// forbids mod-sequences from going down, so a load must know whether the
// file holds the final state of the previous "owner" (one FolderState
// lifetime, from load to close):
//
//   <folder>/ringmail-index.owner holds the token of the current owner.
//   Opening takes the file's lock, reads the token T and the index, and
//   writes a fresh token. The index is clean when its close token (K) is T:
//   the previous owner wrote it when it closed, after its last change.
//   Otherwise (a crash, a lost or corrupt file) the caller raises the
//   counter to ModSeqTimeFloor() and forgets the expunge history.
//
// Every write checks, under the same lock, that the writer still owns the
// folder, so a late write from an owner that has closed never overwrites a
// newer owner's state, whatever order the helper threads run in.
//
// BLOCKING: every function here does file I/O; run on a helper thread.
#ifndef RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_
#define RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/folder_sync.h"

namespace ringmail::storage {

inline constexpr std::string_view kIndexOwnerFileName = "ringmail-index.owner";

struct OpenedIndex {
  // The saved index; nullopt when missing, corrupt or unreadable (the
  // caller rebuilds it from the directory).
  std::optional<FolderIndex> index;
  // `index` is the final state of the previous owner (or a version 1 file,
  // from before mod-sequences): its counter and expunge log can be
  // trusted. False also when `index` is nullopt.
  bool clean = false;
  // This owner's token: pass it to WriteOwnedIndexBlocking and
  // CloseIndexBlocking, and to FolderIndex::Serialize when closing. Empty
  // when ownership could not be recorded (the owner file cannot be
  // written): a crash could then not be detected, so the folder must not
  // offer persistent mod-sequences (RFC 7162 NOMODSEQ).
  std::string token;
  // The owner file's content before this open, for CloseIndexBlocking.
  std::string previous_token;
  // A description of what went wrong, for the log; empty if nothing.
  std::string warning;
};

// BLOCKING. See the file comment. Never fails: problems degrade to an
// unclean or token-less result, described in `warning`. The owner file's
// new content is made durable (fdatasync) before returning, so no
// mod-sequence handed out afterwards can be followed by a load that
// wrongly trusts an older index.
OpenedIndex OpenIndexBlocking(const std::string& folder,
                              const SyncLimits& limits);

// BLOCKING. Writes `bytes` (FolderIndex::Serialize output) as the index if
// `token` still owns the folder. OK without writing when another owner
// took over (its state wins) or the folder is gone.
absl::Status WriteOwnedIndexBlocking(const std::string& folder,
                                     std::string_view token,
                                     std::string_view bytes);

// BLOCKING. Ends `token`'s ownership, if it still owns the folder:
// non-empty `bytes` (serialised with `token` as close token) are written
// as the index, which makes the next open clean; empty `bytes` restore the
// owner file to `previous_token`, which is right only when the index on
// disk is still exactly the clean one this owner opened (nothing changed,
// nothing written since).
absl::Status CloseIndexBlocking(const std::string& folder,
                                std::string_view token, std::string_view bytes,
                                std::string_view previous_token);

// BLOCKING. Writes <folder>/ringmail-index atomically (temp file + rename,
// no fsync: the file is a cache), ignoring ownership: for tools and
// single-threaded tests, or folders without an owner token.
absl::Status WriteIndexFileBlocking(const std::string& folder,
                                    std::string_view bytes);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_
