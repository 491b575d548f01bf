// Mod-sequences of a folder (RFC 7162 §3.1.1): the time floor used when a
// folder's saved state cannot be trusted, UID range helpers, and the
// bounded log of expunged UIDs that QRESYNC's VANISHED (EARLIER) answers
// come from (RFC 7162 §3.2.5.2). Pure; the FolderIndex owns one log.
#ifndef RINGMAIL_STORAGE_MAILBOX_MODSEQ_H_
#define RINGMAIL_STORAGE_MAILBOX_MODSEQ_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace ringmail::storage {

// RFC 7162 §7: a mod-sequence-value is a positive 63-bit integer.
inline constexpr uint64_t kMaxModSeq = (uint64_t{1} << 63) - 1;

// Mod-sequence values per second of ModSeqTimeFloor. A folder's counter
// overtakes the floor only after more than 2^24 (16.7 million) changes per
// second sustained since the floor was last applied; one rename per change
// keeps a core far below that. 2^63 >> 24 seconds is ~17,000 years.
inline constexpr int kModSeqTimeShift = 24;

// unix_seconds(now) << kModSeqTimeShift, clamped to [1, kMaxModSeq]: a
// value above every mod-sequence this folder handed out before `now` (as
// long as the clock has not gone back past the previous floor). Used when
// the saved index may be older than what clients have seen
// (docs/mailbox-index.md, "Mod-sequences after a crash").
uint64_t ModSeqTimeFloor(absl::Time now);

// A closed range of UIDs, first <= last.
struct UidRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool operator==(const UidRange&) const = default;
};

// Sorts and merges overlapping and adjacent ranges in place.
void NormaliseUidRanges(std::vector<UidRange>* ranges);
// The UIDs in both normalised lists, normalised.
std::vector<UidRange> IntersectUidRanges(const std::vector<UidRange>& a,
                                         const std::vector<UidRange>& b);
// Number of UIDs in a normalised list.
uint64_t CountUids(const std::vector<UidRange>& ranges);

// Expunged UIDs with the mod-sequence of their expunge, oldest first.
//
// Each entry says: every UID in `uids` that is not in the folder now was
// expunged at a mod-sequence <= `modseq`. An expunge is merged into the
// newest entry when no live message lies between them (typically one
// EXPUNGE command), so a range may also cover UIDs expunged earlier, which
// the answer then repeats: RFC 7162 §3.2.5.2 lets the server report more.
// Callers subtract the live UIDs (a UID that came back, e.g. a file moved
// out and in again, keeps its uidlist UID).
//
// Bounded: past max_entries the oldest quarter is dropped and
// complete_from() rises to the newest dropped mod-sequence; older requests
// then get the full answer (every UID < UIDNEXT not in the folder).
class ExpungeLog {
 public:
  struct Entry {
    UidRange uids;
    uint64_t modseq = 0;
    bool operator==(const Entry&) const = default;
  };
  static constexpr size_t kDefaultMaxEntries = 4096;

  explicit ExpungeLog(size_t max_entries = kDefaultMaxEntries);

  // Records `uid` as expunged at `modseq`, which must not be lower than any
  // recorded one (asserted). `gap_is_free(lo, hi)` tells whether no live
  // message has a UID in [lo, hi]; it is asked before widening the newest
  // entry over the UIDs between it and `uid`.
  void Add(uint32_t uid, uint64_t modseq,
           absl::FunctionRef<bool(uint32_t lo, uint32_t hi)> gap_is_free);

  // Every expunge with a mod-sequence > complete_from() is in the log.
  uint64_t complete_from() const { return complete_from_; }

  // Forgets everything up to `modseq`: entries at or below it are dropped
  // and complete_from() becomes at least `modseq`. Used when the history
  // before `modseq` is unknown (a new UIDVALIDITY, an index that may be
  // stale).
  void ForgetThrough(uint64_t modseq);

  // The UIDs expunged after `since` (normalised, live UIDs not removed);
  // nullopt when since < complete_from(): the log cannot tell, and the
  // caller answers with every UID that is not in the folder.
  std::optional<std::vector<UidRange>> Since(uint64_t since) const;

  const std::vector<Entry>& entries() const { return entries_; }
  size_t max_entries() const { return max_entries_; }

  // For the index loader: appends an entry as saved. False (nothing
  // changed) if the range is inverted or starts at 0, the mod-sequence is
  // 0 or lower than the previous entry's, or the log is full.
  bool Restore(const Entry& e);
  // For the index loader: the saved complete_from().
  void RestoreCompleteFrom(uint64_t modseq) { complete_from_ = modseq; }

 private:
  void Trim();

  size_t max_entries_;
  uint64_t complete_from_ = 0;
  std::vector<Entry> entries_;  // non-decreasing modseq
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_MODSEQ_H_
