// Blocking sync steps for one folder, run on a helper thread.
//
// BLOCKING: every function here calls readdir/stat/open directly. Run on a
// helper thread, never on a core. Each takes immutable inputs and returns
// a value; none touches a FolderIndex (core-owned) except
// SyncFolderBlocking, a convenience for tools/tests/benchmarks whose
// single thread owns the index.
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/mailbox/dotlock.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/uidlist.h"

namespace ringmail::storage {

struct SyncLimits {
  size_t max_messages = 10'000'000;  // per folder (scan, index file)
  size_t max_index_file_bytes = size_t{2} << 30;
  UidlistLimits uidlist;
  DotlockOptions lock;
};

// BLOCKING. Lists <folder>/new and <folder>/cur (names only, no stat;
// dot files skipped) and reads dovecot-uidlist without locking (it is only
// ever replaced by rename, so a read sees one whole version). NotFound if
// the folder or its new/cur is missing; DataLoss for a corrupted uidlist;
// ResourceExhausted beyond limits.max_messages.
absl::StatusOr<FolderScan> ScanFolder(const std::string& folder,
                                      const SyncLimits& limits);

// BLOCKING. Stats each pending file (mtime = internal date, size) and
// gives it a UID. Files with a uid_hint keep it. If some have none, takes
// the dovecot-uidlist dotlock, re-reads the uidlist (another process may
// have assigned them meanwhile: its UIDs win), assigns the rest from
// N<nextuid> sorted by the Maildir time prefix (seconds, then .M
// microseconds, then name, as Dovecot sorts) and rewrites the uidlist via
// the lock file. A new uidlist gets UIDVALIDITY = `now` in seconds (as
// Dovecot) and a random GUID. Files that vanished before the stat are
// left out (the next sync sees the expunge or the new name).
// `known_validity`: the index's UIDVALIDITY (0 = none); used when no lock
// was needed. Errors: Unavailable (lock timeout), DataLoss (corrupted
// uidlist), Internal (I/O).
absl::StatusOr<ResolveResult> ResolveNewMessagesBlocking(
    const std::string& folder, std::vector<PendingFile> pending,
    uint32_t known_validity, absl::Time now, const SyncLimits& limits);

// BLOCKING. Reads <folder>/ringmail-index. NotFound when missing,
// DataLoss when corrupt (the caller then starts from an empty index: the
// next sync rebuilds it from the directory and the uidlist).
absl::StatusOr<FolderIndex> LoadIndexFileBlocking(const std::string& folder,
                                                  const SyncLimits& limits);

// BLOCKING. Writes <folder>/ringmail-index atomically (temp file + rename,
// no fsync: the file is a cache that is rebuilt when lost), without an
// owner token: the next OpenIndexBlocking (index_store.h) treats it as
// unclean. For tools and tests; the server writes through index_store.h.
absl::Status SaveIndexFileBlocking(const std::string& folder,
                                   const FolderIndex& index);

// BLOCKING convenience: ScanFolder + ApplyScan + ResolveNewMessagesBlocking
// + ApplyResolved on an index owned by the calling thread.
absl::StatusOr<ApplyScanResult> SyncFolderBlocking(const std::string& folder,
                                                   FolderIndex& index,
                                                   absl::Time now,
                                                   const SyncLimits& limits);

// Orders Maildir names by their time prefix like Dovecot's
// maildir_filename_sort_cmp (secs, then .M<usecs>, then bytes).
bool MaildirTimeLess(std::string_view a, std::string_view b);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_
