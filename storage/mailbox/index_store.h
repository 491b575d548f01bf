// Who may write a folder's ringmail-index, and whether a loaded index can
// be trusted for mod-sequences (docs/mailbox-index.md, "Owners").
//
// The index is a cache written without fsync, and the process (or the
// machine) can die between handing a client a mod-sequence and saving it.
// RFC 7162 §3.1.1 forbids mod-sequences from going down, so a load must
// know whether the file holds the final state of the last lifetime that
// changed the folder:
//
//   <folder>/ringmail-index.owner holds a token. An index whose close token
//   (K) equals it is *clean*: it was written by the last lifetime that
//   claimed the folder, after its last change. Opening reads both and
//   writes nothing, so opening a folder (SELECT, STATUS) costs no disk
//   write. Before its first change (the first mod-sequence above what it
//   loaded), a lifetime *claims* the folder: it writes a fresh token and
//   makes it durable (fdatasync). From then on a crash leaves a token no
//   saved index carries, and the next open is unclean: the caller raises
//   the counter to ModSeqTimeFloor() and forgets the expunge history. A
//   lifetime that changed nothing never claims, and its saves carry the
//   token it found (the state it writes is the clean one plus what it
//   found on disk).
//
// Every write checks, under the owner file's lock, that the writer's token
// is still the owner file's, so a late write from a lifetime that lost the
// folder never overwrites a newer owner's state, whatever order the helper
// threads run in.
//
// BLOCKING: every function here does file I/O; run on a helper thread.
#ifndef RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_
#define RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/index_file.h"

namespace ringmail::storage {

inline constexpr std::string_view kIndexOwnerFileName = "ringmail-index.owner";

struct OpenedIndex {
  // The saved index; nullopt when missing, corrupt or unreadable (the
  // caller rebuilds it from the directory).
  std::optional<FolderIndex> index;
  // `index` is the final state of the last lifetime that claimed the
  // folder (or a version 1 file, from before mod-sequences): its counter
  // and expunge log can be trusted. False also when `index` is nullopt.
  bool clean = false;
  // The owner file could be opened for writing: the folder can offer
  // persistent mod-sequences. False: a crash could not be detected, so the
  // folder must not (RFC 7162 NOMODSEQ), and writes ignore ownership.
  bool persistent = false;
  // The owner file's content at this open: the token this lifetime writes
  // with until it claims (ClaimIndexBlocking).
  std::string token;
  // A description of what went wrong, for the log; empty if nothing.
  std::string warning;
};

// BLOCKING. See the file comment. Never fails: problems degrade to an
// unclean or non-persistent result, described in `warning`. Creates an
// empty owner file when there is none (nothing durable).
OpenedIndex OpenIndexBlocking(const std::string& folder,
                              const SyncLimits& limits);

enum class ClaimResult {
  kClaimed,   // the owner file now durably holds `new_token`
  kLost,      // it held neither token: another lifetime claimed the folder
  kFailed,    // it could not be written (see the status text in the log)
};
// BLOCKING. Replaces `token` (what OpenIndexBlocking returned) by
// `new_token` in the owner file and fdatasyncs it; kClaimed also when it
// already holds `new_token`. On kLost the caller's loaded state may be
// older than what the new owner handed out: raise the mod-sequence floor.
ClaimResult ClaimIndexBlocking(const std::string& folder, std::string_view token,
                               std::string_view new_token, std::string* error);

// BLOCKING. Writes `save` as the index, with `close_token` in it (empty:
// none), if `owner_token` still owns the folder (`persistent`; otherwise
// it writes regardless and without a token). Returns the written file
// mapped, or nullptr when it did not write (another owner took over, or
// the folder is gone). The close token makes the file clean for the next
// open: a lifetime that claimed the folder writes it only on its final
// save (a save while it may still change the folder would let a crash go
// unnoticed); one that never claimed writes the token it found every time
// (its mod-sequences are those it loaded).
absl::StatusOr<std::shared_ptr<const IndexImage>> WriteOwnedIndexBlocking(
    const std::string& folder, bool persistent, std::string_view owner_token,
    std::string_view close_token, const IndexSave& save);

// BLOCKING. Writes `save` as <folder>/ringmail-index atomically (temp
// file + rename, no fsync: the file is a cache), ignoring ownership, and
// returns it mapped: for tools, tests and the functions above.
absl::StatusOr<std::shared_ptr<const IndexImage>> WriteIndexFileBlocking(
    const std::string& folder, const IndexSave& save, std::string_view close_token);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_INDEX_STORE_H_
