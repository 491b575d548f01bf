// The in-memory index of one open folder (core-owned, single-threaded) and
// the data types exchanged with the helper-thread sync steps.
//
// Sync (see folder_sync.h for the blocking helpers):
//   1. helper: ScanFolder -> FolderScan: new/ and cur/ are stat'ed and only
//      listed when their stamp (dir_stamp.h) does not prove them
//      unchanged; dovecot-uidlist's header is read when its stamp moved
//   2. core:   index.ApplyScan(scan) -> expunges, flag changes by other
//              processes, and the names the index does not know yet, for
//              the listed directories only
//   3. helper: ResolveNewMessagesBlocking(pending) -> stat + UIDs (under
//              the dovecot-uidlist dotlock when some have no UID yet)
//   4. core:   index.ApplyResolved(result) -> new messages appended
//   5. core:   index.CommitStamps(scan result) once everything applied
// A name whose file name is unchanged since the last sync is matched by a
// hash lookup only; names are parsed only when new or renamed
// (parse_count() counts parses, for tests).
//
// Memory (docs/mailbox-index.md, "Bytes per message"): the per-message
// fields every command touches (UID, flags, keywords, mod-sequence) are
// columns in memory, 21 bytes a message with the row number. The rest
// (internal date, sizes, file name) is read from the mapped ringmail-index
// the folder was loaded from (an IndexImage, index_file.h), so opening a
// folder copies four columns and parses nothing; messages added or renamed
// since that file was written keep those fields in `extras_` until the
// next save maps the new file (Rebase).
//
// Mod-sequences (RFC 7162): every change the index sees (a new message, a
// flag change by us or by another program, an expunge) takes the next
// value of the folder's counter; a message's `modseq` is its last change
// and expunges go to a bounded ExpungeLog. The counter never goes down,
// also not when the UIDVALIDITY changes.
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/mailbox/dir_stamp.h"
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
inline constexpr uint8_t kAllMessageFlags = 0x3f;
inline constexpr uint64_t kUnknownSize = UINT64_MAX;
inline constexpr std::string_view kIndexFileName = "ringmail-index";
// Row numbers at or above this name an element of the in-memory extras
// (ColdRecord), below it a row of the mapped file.
inline constexpr uint32_t kIndexExtraRow = 0x80000000u;

class IndexImage;  // index_file.h

// One message, copied out of the index (FolderIndex::Entry).
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

// dovecot-uidlist as a sync saw it.
enum class UidlistState : uint8_t {
  kUnchanged,  // its stamp matched the index's: not read
  kMissing,
  kRead,       // read (header only): see FolderScan::uid_validity/next_uid
};

// Result of the blocking scan (ScanFolder).
struct FolderScan {
  // Names in the directories that were listed, and only those.
  std::vector<ScannedFile> files;
  bool listed_new = false;
  bool listed_cur = false;
  // Stamps taken before the listings (and of the uidlist), to record once
  // the sync is applied (FolderIndex::CommitStamps).
  DirStamp new_stamp, cur_stamp, uidlist_stamp;
  UidlistState uidlist = UidlistState::kMissing;
  uint32_t uid_validity = 0;  // from the uidlist header when kRead
  uint32_t next_uid = 0;      // from the uidlist header when kRead

  bool uidlist_exists() const { return uidlist != UidlistState::kMissing; }
};

// What the index recorded, for ScanFolder.
struct ScanHints {
  DirStamp new_dir, cur_dir, uidlist;
  uint32_t uid_validity = 0;  // 0: none yet
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
  // The uidlist as read or written under its lock (unrecorded when the
  // lock was not needed): its UIDs are in the index once this is applied.
  DirStamp uidlist_stamp;
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

// Cold fields of a message that is not in the mapped file (or changed
// since it was written).
struct ColdRecord {
  int64_t internal_date = 0;
  uint64_t size = 0;
  uint64_t vsize = kUnknownSize;
  std::string filename;
};

// Everything a helper needs to write the index file, detached from the
// core's FolderIndex (FolderIndex::SaveImage); written by
// WriteIndexImageBlocking (index_file.h).
struct IndexSave {
  uint32_t uid_validity = 0;
  uint32_t next_uid = 1;
  uint64_t highest_modseq = 1;
  ExpungeLog expunges;
  DirStamp new_stamp, cur_stamp, uidlist_stamp;
  std::vector<uint32_t> uids;
  std::vector<uint8_t> bits;
  std::vector<uint32_t> keywords;
  std::vector<uint64_t> modseqs;
  std::vector<uint32_t> rows;
  bool rows_identity = false;  // `rows` empty: message i is row i of `base`
  std::shared_ptr<const IndexImage> base;
  std::shared_ptr<const std::vector<ColdRecord>> extras;
  uint64_t generation = 0;  // of the FolderIndex when taken (Rebase)
};

class FolderIndex {
 public:
  FolderIndex() = default;
  FolderIndex(FolderIndex&&) = default;
  FolderIndex& operator=(FolderIndex&&) = default;
  FolderIndex(const FolderIndex&) = delete;
  FolderIndex& operator=(const FolderIndex&) = delete;
  ~FolderIndex();

  uint32_t uid_validity() const { return uid_validity_; }
  uint32_t next_uid() const { return next_uid_; }
  size_t size() const { return uids_.size(); }

  // ---- Per message, by 0-based position (sequence number = position + 1).
  uint32_t uid(size_t pos) const { return uids_[pos]; }
  uint8_t flags(size_t pos) const { return bits_[pos] & kAllMessageFlags; }
  uint32_t keywords(size_t pos) const { return keywords_[pos]; }
  uint64_t modseq(size_t pos) const { return modseqs_[pos]; }
  bool recent(size_t pos) const { return bits_[pos] & kRecentBit; }
  bool in_cur(size_t pos) const { return bits_[pos] & kInCurBit; }
  // The cold fields: from the mapped file or `extras_`.
  int64_t internal_date(size_t pos) const;
  uint64_t message_size(size_t pos) const;
  uint64_t vsize(size_t pos) const;
  std::string_view filename(size_t pos) const;
  std::string_view key(size_t pos) const { return MaildirKey(filename(pos)); }
  // "cur/<filename>" or "new/<filename>".
  std::string RelativePath(size_t pos) const;
  // A copy of every field (allocates the file name: not for loops over a
  // whole folder).
  MessageEntry Entry(size_t pos) const;
  // The UIDs in position order.
  const std::vector<uint32_t>& uids() const { return uids_; }
  // Messages whose \Recent is still unclaimed (see ClaimRecent).
  uint32_t CountRecent() const { return recent_count_; }

  std::optional<size_t> PositionOfUid(uint32_t uid) const;
  // Newest message first: the message an APPEND or COPY just added is
  // found at once; a key that is not there costs a pass over the folder.
  std::optional<size_t> PositionOfKey(std::string_view key) const;
  // The same for several keys in one pass (newest first, stopping once all
  // are found): result[i] is the position of keys[i].
  std::vector<std::optional<size_t>> PositionsOfKeys(
      const std::vector<std::string_view>& keys) const;
  // Counts and the first message without \Seen, from the flag column.
  uint32_t CountUnseen() const;
  std::optional<size_t> FirstUnseen() const;

  uint64_t parse_count() const { return parse_count_; }
  // True when changed since construction/load/MarkClean.
  bool dirty() const { return dirty_; }
  void MarkClean() { dirty_ = false; }
  // Bumped by every change; a saved image whose generation still matches
  // describes exactly this index (Rebase).
  uint64_t generation() const { return generation_; }

  // ---- Directory stamps (dir_stamp.h) the index content reflects.
  ScanHints hints() const;
  const DirStamp& new_stamp() const { return new_stamp_; }
  const DirStamp& cur_stamp() const { return cur_stamp_; }
  const DirStamp& uidlist_stamp() const { return uidlist_stamp_; }
  // Records what a sync saw, once ApplyScan (and ApplyResolved for its
  // pending names) succeeded: the stamps of the listed directories and of
  // the uidlist. Recording them earlier would let a failed resolve hide
  // the names it did not add.
  // `resolved`: the resolve step that followed, if any; its uidlist stamp
  // (taken under the lock) replaces the scan's.
  void CommitStamps(const FolderScan& scan, const ResolveResult* resolved = nullptr);
  // Forgets the stamps: the next sync lists both directories.
  void ForgetStamps();

  // Moves the names of the files it returns as pending out of
  // `scan.files` (the rest of `scan` stays usable, e.g. for CommitStamps).
  ApplyScanResult ApplyScan(FolderScan& scan);
  // Adds resolved messages (skipping UIDs already known). Returns the UIDs
  // added, ascending. If the result's UIDVALIDITY differs from a non-zero
  // one of the index, nothing is added and FailedPrecondition is returned:
  // the uidlist was recreated meanwhile; resync from scratch.
  // Takes `result` by value: the names are moved into the index.
  absl::StatusOr<std::vector<uint32_t>> ApplyResolved(ResolveResult result);

  // Bookkeeping after our own FileIo mutations completed.
  // After a rename (flag change, new/ -> cur/): false if `uid` is unknown.
  bool ApplyRename(uint32_t uid, std::string new_filename, bool in_cur);
  // After an unlink: removes `uid` (an expunge); false if unknown.
  bool Remove(uint32_t uid);
  // Records a virtual size found by reading the file (POP3 sizes of names
  // without W=), so the next open does not read it again. Not a change
  // clients see: no mod-sequence.
  void SetVsize(size_t pos, uint64_t vsize);

  // \Recent (RFC 3501 §2.3.2) goes to exactly one session: the first that
  // sees the message read-write claims it, and no later session (nor
  // STATUS RECENT) sees it as recent. Returns whether the message at `pos`
  // was still unclaimed, and marks it claimed. Not persisted (as the bit
  // itself is not: a restart loses \Recent, which the RFC allows).
  bool ClaimRecent(size_t pos) {
    const bool was = bits_[pos] & kRecentBit;
    bits_[pos] &= static_cast<uint8_t>(~kRecentBit);
    recent_count_ -= was ? 1 : 0;
    return was;
  }

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

  // ---- The ringmail-index file (docs/mailbox-index.md, index_file.h).
  // A detached copy for WriteIndexImageBlocking: the columns are copied,
  // the mapped file and the extras are shared.
  IndexSave SaveImage() const;
  // The same, moving the columns out (the index is left empty): for the
  // final save of an index that goes away.
  IndexSave TakeSaveImage() &&;
  // After `image` (the file written from SaveImage() at generation
  // `generation`) was mapped: when nothing changed since, the cold fields
  // are read from it from now on and `extras_` is dropped. Returns whether
  // it did.
  bool Rebase(std::shared_ptr<const IndexImage> image, uint64_t generation);
  // The file's bytes with `close_token` as owner token (empty: none); for
  // tests and tools.
  std::string Serialize(std::string_view close_token = {}) const;
  // Loads a file's bytes (copied; the current binary format or the text
  // versions 1 and 2, migrated). DataLoss on any corruption (see
  // docs/mailbox-index.md); version 1 files (before mod-sequences) give
  // every message mod-sequence 1 and migrated() is true.
  static absl::StatusOr<FolderIndex> Deserialize(std::string_view data,
                                                 size_t max_messages);
  // An index reading its cold fields from `image` (index_file.h); copies
  // the hot columns (UIDs, flags, keywords, mod-sequences), checking their
  // checksums and values on the way (DataLoss).
  static absl::StatusOr<FolderIndex> FromImage(std::shared_ptr<const IndexImage> image);
  // The owner token the loaded file was closed with ("" if none).
  const std::string& close_token() const { return close_token_; }
  // Loaded from a version 1 file, written before ringmail had
  // mod-sequences (so no client can have seen one for this folder).
  bool migrated() const { return migrated_; }
  const std::shared_ptr<const IndexImage>& image() const { return base_; }
  // Messages whose cold fields live in memory (not in the mapped file).
  size_t extras_count() const { return live_extras_; }

  // For the text-format loader (index_file.cc): appends a message in UID
  // order, no mod-sequence taken.
  void AppendLoaded(const MessageEntry& e);
  void SetLoadedHeader(uint32_t validity, uint32_t next_uid, uint64_t highest,
                       std::string close_token, bool migrated);
  ExpungeLog& mutable_expunge_log() { return expunges_; }

 private:
  static constexpr uint8_t kInCurBit = 0x40;
  static constexpr uint8_t kRecentBit = 0x80;
  static constexpr uint32_t kExtraRow = kIndexExtraRow;

  void Reset();
  void Changed() {
    dirty_ = true;
    ++generation_;
  }
  // Inserts in UID order; the cold fields go to extras_. Returns the
  // position.
  size_t Insert(uint32_t uid, uint8_t bits, uint32_t keywords, uint64_t modseq,
              ColdRecord cold);
  // The extras slot of `pos`, moving the message's cold fields there first
  // if they are in the mapped file.
  ColdRecord& MutableCold(size_t pos);
  std::vector<ColdRecord>& MutableExtras();
  void EraseAt(size_t pos);
  void ParseNameInto(size_t pos, std::string_view filename);
  uint64_t NextModSeq();
  void LogExpunge(uint32_t uid);
  // True when no live message has a UID in [lo, hi].
  bool NoLiveUidIn(uint32_t lo, uint32_t hi) const;
  uint32_t row(size_t pos) const {
    return rows_identity_ ? static_cast<uint32_t>(pos) : rows_[pos];
  }
  const ColdRecord* ExtraAt(size_t pos) const {
    const uint32_t r = row(pos);
    return r >= kExtraRow ? &(*extras_)[r - kExtraRow] : nullptr;
  }
  // Gives every message an explicit row before a change moves one.
  void MaterializeRows();

  uint32_t uid_validity_ = 0;
  uint32_t next_uid_ = 1;
  uint64_t parse_count_ = 0;
  uint64_t generation_ = 0;
  bool dirty_ = false;
  bool migrated_ = false;
  uint64_t highest_modseq_ = 1;
  ExpungeLog expunges_;
  std::string close_token_;
  DirStamp new_stamp_, cur_stamp_, uidlist_stamp_;
  // Columns, one element per message, ascending UID.
  std::vector<uint32_t> uids_;
  std::vector<uint8_t> bits_;  // MessageFlag | kInCurBit | kRecentBit
  std::vector<uint32_t> keywords_;
  std::vector<uint64_t> modseqs_;
  // Row in base_, or kExtraRow + extras_ index. Empty while
  // rows_identity_: right after a load or a Rebase message i is row i, and
  // the column costs nothing until something changes.
  std::vector<uint32_t> rows_;
  bool rows_identity_ = false;
  uint32_t recent_count_ = 0;  // messages with kRecentBit
  std::shared_ptr<const IndexImage> base_;
  // Shared with a save in progress when extras_shared_ (copied before the
  // next change then, so the helper's copy never changes under it).
  std::shared_ptr<std::vector<ColdRecord>> extras_;
  mutable bool extras_shared_ = false;
  size_t live_extras_ = 0;
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_INDEX_H_
