// Blocking sync steps for one folder, run on a helper thread.
//
// BLOCKING: every function here calls readdir/stat/open directly. Run on a
// helper thread, never on a core. Each takes immutable inputs and returns
// a value; none touches a FolderIndex (core-owned) except
// SyncFolderBlocking, a convenience for tools/tests/benchmarks whose
// single thread owns the index.
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/mailbox/dotlock.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/index_file.h"
#include "storage/mailbox/uidlist.h"

namespace ringmail::storage {

struct SyncLimits {
  size_t max_messages = 10'000'000;  // per folder (scan, index file)
  size_t max_index_file_bytes = size_t{2} << 30;
  UidlistLimits uidlist;
  DotlockOptions lock;
};

// BLOCKING. Brings what the index recorded (`hints`) up to date with the
// folder. dovecot-uidlist is stat'ed; when its stamp moved, its header is
// read (UIDVALIDITY, next UID). Then new/ and cur/ are stat'ed and each is
// listed (names only, no stat; dot files skipped) unless its stamp proves
// it unchanged (dir_stamp.h: the recorded stamp is settled and matches);
// both are listed when the uidlist's UIDVALIDITY differs from the hint's.
// `now` is the coarse wall clock (CoarseNow(); a fake clock in tests), the
// stamps' checked_at. NotFound if the folder or its new/cur is missing;
// DataLoss for a corrupted uidlist header; ResourceExhausted beyond
// limits.max_messages.
absl::StatusOr<FolderScan> ScanFolder(const std::string& folder, const ScanHints& hints,
                                      absl::Time now, const SyncLimits& limits);

// BLOCKING. Reads the first line of dovecot-uidlist: (UIDVALIDITY, next
// UID). NotFound when missing, DataLoss when malformed.
absl::StatusOr<std::pair<uint32_t, uint32_t>> ReadUidlistHeaderBlocking(
    const std::string& folder);

// BLOCKING. Stats each pending file (mtime = internal date, size; on two
// threads for a first open's hundreds of thousands) and gives it a UID. Files with a uid_hint keep it. Many files without one
// (the first open of a folder another program indexed) are first looked
// up in an unlocked read of the uidlist, so a folder we may not write
// needs no lock when all of them have UIDs; a few (new deliveries, which
// have none) go straight to the lock. If some still have none, takes
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

// BLOCKING. Maps <folder>/ringmail-index (version 3) and copies its hot
// columns (index_file.h); a text file of version 1 or 2 is parsed whole
// (migration). NotFound when missing, DataLoss when corrupt (the caller
// then starts from an empty index: the next sync rebuilds it from the
// directory and the uidlist). The cold columns of a mapped file are not
// checked here: VerifyColdBlocking on the returned index's image().
absl::StatusOr<FolderIndex> LoadIndexFileBlocking(const std::string& folder,
                                                  const SyncLimits& limits);

// BLOCKING. Writes <folder>/ringmail-index atomically (temp file + rename,
// no fsync: the file is a cache that is rebuilt when lost), without an
// owner token, and returns the new file mapped (for FolderIndex::Rebase).
// For tools and tests; the server writes through index_store.h.
absl::StatusOr<std::shared_ptr<const IndexImage>> SaveIndexFileBlocking(
    const std::string& folder, const FolderIndex& index);

// BLOCKING convenience: ScanFolder + ApplyScan + ResolveNewMessagesBlocking
// + ApplyResolved + CommitStamps on an index owned by the calling thread.
// `now` is both the scan's clock and the UIDVALIDITY of a new uidlist.
absl::StatusOr<ApplyScanResult> SyncFolderBlocking(const std::string& folder,
                                                   FolderIndex& index,
                                                   absl::Time now,
                                                   const SyncLimits& limits);

// Orders Maildir names by their time prefix like Dovecot's
// maildir_filename_sort_cmp (secs, then .M<usecs>, then bytes).
bool MaildirTimeLess(std::string_view a, std::string_view b);
// The (seconds, .M microseconds) MaildirTimeLess compares first.
std::pair<uint64_t, uint64_t> MaildirTimeOf(std::string_view name);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_SYNC_H_
