// The in-memory index of one open folder (core-owned, single-threaded) and
// the data types exchanged with the helper-thread sync steps.
//
// Sync (see folder_sync.h for the blocking helpers):
//   1. helper: ScanFolder -> FolderScan (new/ + cur/ names, uidlist read)
//   2. core:   index.ApplyScan(scan) -> expunges, flag changes by other
//              processes, and the names the index does not know yet
//   3. helper: ResolveNewMessagesBlocking(pending) -> stat + UIDs (under
//              the dovecot-uidlist dotlock when some have no UID yet)
//   4. core:   index.ApplyResolved(result) -> new messages appended
// A name whose file name is unchanged since the last sync is matched by a
// hash lookup only; names are parsed only when new or renamed
// (parse_count() counts parses, for tests).
//
// Mod-sequences (RFC 7162): every change the index sees (a new message, a
// flag change by us or by another program, an expunge) takes the next
// value of the folder's counter; a message's `modseq` is its last change
// and expunges go to a bounded ExpungeLog. The counter never goes down,
// also not when the UIDVALIDITY changes.
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "storage/mailbox/modseq.h"
#include "storage/mailbox/uidlist.h"

namespace ringmail::storage {

// System flags, one bit per Maildir info letter (Maildir spec).
enum MessageFlag : uint8_t {
  kFlagDraft = 1 << 0,     // D  \Draft
  kFlagFlagged = 1 << 1,   // F  \Flagged
  kFlagPassed = 1 << 2,    // P  (forwarded; no IMAP system flag)
  kFlagAnswered = 1 << 3,  // R  \Answered
  kFlagSeen = 1 << 4,      // S  \Seen
  kFlagDeleted = 1 << 5,   // T  \Deleted
};
inline constexpr uint64_t kUnknownSize = UINT64_MAX;
inline constexpr std::string_view kIndexFileName = "ringmail-index";

struct MessageEntry {
  uint32_t uid = 0;
  uint8_t flags = 0;        // MessageFlag bits
  bool in_cur = false;      // else in new/
  bool recent = false;      // \Recent, not yet claimed by a session
  uint32_t keywords = 0;    // bit i = keyword letter 'a'+i
  int64_t internal_date = 0;  // file mtime, Unix seconds (as Dovecot)
  uint64_t size = 0;          // S= or st_size
  uint64_t vsize = kUnknownSize;  // W= or uidlist W extension
  uint64_t modseq = 0;        // RFC 7162: mod-sequence of the last change
  std::string filename;       // without directory

  std::string_view key() const { return MaildirKey(filename); }
  // "cur/<filename>" or "new/<filename>".
  std::string RelativePath() const;
};

// Flags and sizes from a Maildir file name, tolerant of foreign software:
// unknown info letters are ignored rather than rejected.
struct NameInfo {
  uint8_t flags = 0;
  uint32_t keywords = 0;
  std::optional<uint64_t> size;   // ,S=
  std::optional<uint64_t> vsize;  // ,W=
};
NameInfo ParseNameInfo(std::string_view filename);
// "DFPRST" letters then keyword letters, ASCII order.
std::string FormatInfoFlags(uint8_t flags, uint32_t keywords);
// `filename` with its ":2,<flags>" info replaced.
std::string WithInfoFlags(std::string_view filename, uint8_t flags,
                          uint32_t keywords);

struct ScannedFile {
  std::string name;
  bool in_cur = false;
};

// Result of the blocking scan. `uidlist` is nullopt when the file is
// missing (a new folder).
struct FolderScan {
  std::vector<ScannedFile> files;
  std::optional<Uidlist> uidlist;
};

struct PendingFile {
  std::string name;
  bool in_cur = false;
  uint32_t uid_hint = 0;  // from an unlocked uidlist read; 0 = none
};

struct ResolvedFile {
  std::string name;
  bool in_cur = false;
  uint32_t uid = 0;
  bool newly_assigned = false;  // we assigned the UID: \Recent
  int64_t mtime = 0;
  uint64_t size = 0;                 // st_size
  uint64_t vsize = kUnknownSize;     // uidlist W extension, if any
};

struct ResolveResult {
  uint32_t uid_validity = 0;
  uint32_t next_uid = 1;
  std::vector<ResolvedFile> files;  // ascending UID
};

struct ApplyScanResult {
  bool uid_validity_changed = false;   // index was reset: clients reselect
  std::vector<uint32_t> expunged_uids;  // ascending
  // 1-based sequence numbers before the sync, DESCENDING: sending EXPUNGE
  // in this order is correct without renumbering (RFC 3501 §7.4.1).
  std::vector<uint32_t> expunged_seqs;
  std::vector<uint32_t> flag_changed_uids;  // renamed by another process
  std::vector<PendingFile> pending;  // unknown names: resolve on a helper
};

class FolderIndex {
 public:
  FolderIndex() = default;
  FolderIndex(FolderIndex&&) = default;
  FolderIndex& operator=(FolderIndex&&) = default;

  uint32_t uid_validity() const { return uid_validity_; }
  uint32_t next_uid() const { return next_uid_; }
  size_t size() const { return entries_.size(); }
  // 0-based position; sequence number = position + 1.
  const MessageEntry& at(size_t pos) const { return entries_[pos]; }
  std::optional<size_t> PositionOfUid(uint32_t uid) const;
  const MessageEntry* FindByKey(std::string_view key) const;
  uint64_t parse_count() const { return parse_count_; }
  // True when changed since construction/Deserialize/MarkClean.
  bool dirty() const { return dirty_; }
  void MarkClean() { dirty_ = false; }

  ApplyScanResult ApplyScan(const FolderScan& scan);
  // Adds resolved messages (skipping keys already known). Returns the UIDs
  // added, ascending. If the result's UIDVALIDITY differs from a non-zero
  // one of the index, nothing is added and FailedPrecondition is returned:
  // the uidlist was recreated meanwhile; resync from scratch.
  absl::StatusOr<std::vector<uint32_t>> ApplyResolved(
      const ResolveResult& result);

  // Bookkeeping after our own FileIo mutations completed.
  // After a rename (flag change, new/ -> cur/): false if `uid` is unknown.
  bool ApplyRename(uint32_t uid, std::string new_filename, bool in_cur);
  // After an unlink: removes `uid` (an expunge); false if unknown.
  bool Remove(uint32_t uid);

  // \Recent (RFC 3501 §2.3.2) goes to exactly one session: the first that
  // sees the message read-write claims it, and no later session (nor
  // STATUS RECENT) sees it as recent. Returns whether the message at `pos`
  // was still unclaimed, and marks it claimed. Not persisted (as the bit
  // itself is not: a restart loses \Recent, which the RFC allows).
  bool ClaimRecent(size_t pos) { return std::exchange(entries_[pos].recent, false); }

  // ---- Mod-sequences (RFC 7162).
  // HIGHESTMODSEQ: the last value handed out; 1 for a folder that never
  // changed.
  uint64_t highest_modseq() const { return highest_modseq_; }
  const ExpungeLog& expunge_log() const { return expunges_; }
  // After loading an index that may be older than what clients saw (a
  // crash, a lost file): the counter jumps to at least `floor`
  // (ModSeqTimeFloor) and expunges up to there count as unknown.
  void RaiseModSeqFloor(uint64_t floor);

  struct Vanished {
    std::vector<UidRange> uids;  // normalised; none of them is live
    // False: the expunge log did not reach back to the requested
    // mod-sequence, so `uids` is every UID < UIDNEXT that is not live
    // (RFC 7162 §3.2.5.2 allows the larger answer).
    bool exact = true;
  };
  // UIDs within `filter` (normalised) expunged after mod-sequence `since`.
  Vanished ExpungedSince(uint64_t since,
                         const std::vector<UidRange>& filter) const;

  // ---- The ringmail-index file (docs/mailbox-index.md).
  // `close_token` is written as the file's owner token (K); empty writes
  // "K-" (an intermediate save; see index_store.h).
  std::string Serialize(std::string_view close_token = {}) const;
  // DataLoss on any corruption (bad magic/version, checksum mismatch,
  // malformed line, UIDs not ascending, duplicate keys, count mismatch,
  // more than `max_messages`, mod-sequences above HIGHESTMODSEQ, a bad
  // expunge list). Version 1 files (before mod-sequences) are migrated:
  // every message gets mod-sequence 1 and migrated() is true.
  static absl::StatusOr<FolderIndex> Deserialize(std::string_view data,
                                                 size_t max_messages);
  // The owner token the loaded file was closed with ("" if none).
  const std::string& close_token() const { return close_token_; }
  // Loaded from a version 1 file, written before ringmail had
  // mod-sequences (so no client can have seen one for this folder).
  bool migrated() const { return migrated_; }

 private:
  void Reset();
  void Insert(MessageEntry e);
  void ApplyNameInfo(MessageEntry& e);
  uint64_t NextModSeq();
  void LogExpunge(uint32_t uid);
  // True when no live message has a UID in [lo, hi].
  bool NoLiveUidIn(uint32_t lo, uint32_t hi) const;

  uint32_t uid_validity_ = 0;
  uint32_t next_uid_ = 1;
  uint64_t parse_count_ = 0;
  bool dirty_ = false;
  uint64_t highest_modseq_ = 1;
  ExpungeLog expunges_;
  std::string close_token_;
  bool migrated_ = false;
  std::vector<MessageEntry> entries_;  // ascending UID
  absl::flat_hash_map<std::string, uint32_t> uid_by_key_;
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_
