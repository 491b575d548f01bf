// FolderView: one selected session's numbering of an open folder and the
// changes it has not reported yet (declared in folder_state.h).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "protocols/imap/sequence_set.h"
#include "server/imap/flags.h"
#include "server/imap/folder_state.h"

namespace ringmail::server::imap {

FolderView::FolderView(FolderState* folder, bool read_only, bool live)
    : folder_(folder), read_only_(read_only), live_(live) {
  storage::FolderIndex& idx = folder->index();
  uids_ = idx.uids();
  for (size_t i = 0; idx.CountRecent() > 0 && i < idx.size(); ++i) {
    if (!idx.recent(i)) continue;
    // RFC 3501 §2.3.2: a read-write session claims the unclaimed \Recent
    // messages; EXAMINE sees them as recent but must not take the flag
    // from later sessions (§6.3.2).
    if (ClaimsRecent()) {
      if (idx.ClaimRecent(i)) recent_.insert(idx.uid(i));
    } else if (live_) {
      recent_.insert(idx.uid(i));
    }
  }
  folder->AddView(this);
}

FolderView::~FolderView() { folder_->RemoveView(this); }

void FolderView::AnnouncedUidsIn(uint64_t lo, uint64_t hi, std::vector<uint32_t>* out) const {
  const auto end = uids_.begin() + exists();
  auto from = std::lower_bound(uids_.begin(), end, lo,
                               [](uint32_t u, uint64_t v) { return u < v; });
  auto to = std::upper_bound(from, end, hi, [](uint64_t v, uint32_t u) { return v < u; });
  out->insert(out->end(), from, to);
}

uint32_t FolderView::SeqOfUid(uint32_t uid) const {
  auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (it == uids_.end() || *it != uid) return 0;
  return static_cast<uint32_t>(it - uids_.begin()) + 1;
}

void FolderView::OnNew(uint32_t uid, bool recent) {
  if (!uids_.empty() && uid <= uids_.back()) return;  // already known
  uids_.push_back(uid);
  if (recent) recent_.insert(uid);
  ++new_count_;
  Notify();
}

void FolderView::OnExpunge(uint32_t uid) {
  if (SeqOfUid(uid) == 0) return;
  if (std::find(pending_expunge_.begin(), pending_expunge_.end(), uid) ==
      pending_expunge_.end()) {
    pending_expunge_.push_back(uid);
  }
  pending_flags_.erase(uid);
  Notify();
}

void FolderView::OnFlags(uint32_t uid) {
  if (SeqOfUid(uid) == 0) return;
  pending_flags_.insert(uid);
  Notify();
}

uint32_t FolderView::RemoveOwn(uint32_t uid) {
  uint32_t seq = SeqOfUid(uid);
  if (seq == 0) return 0;
  // The last new_count_ UIDs have not been announced by EXISTS yet.
  const bool announced = seq <= uids_.size() - new_count_;
  uids_.erase(uids_.begin() + (seq - 1));
  recent_.erase(uid);
  pending_flags_.erase(uid);
  pending_expunge_.erase(
      std::remove(pending_expunge_.begin(), pending_expunge_.end(), uid),
      pending_expunge_.end());
  if (!announced) {
    --new_count_;
    return 0;  // the client never had a number for it: nothing to report
  }
  return seq;
}

void FolderView::Flush(std::string* out, bool allow_expunge) {
  if (allow_expunge && !pending_expunge_.empty()) {
    // Highest sequence number first, so earlier numbers stay valid.
    std::vector<uint32_t> uids = std::move(pending_expunge_);
    pending_expunge_.clear();
    std::sort(uids.begin(), uids.end(), std::greater<>());
    std::vector<uint32_t> vanished;
    for (uint32_t uid : uids) {
      uint32_t seq = RemoveOwn(uid);
      if (seq == 0) continue;
      if (qresync_) {
        vanished.push_back(uid);
      } else {
        absl::StrAppend(out, "* ", seq, " EXPUNGE\r\n");
      }
    }
    if (!vanished.empty()) {
      std::reverse(vanished.begin(), vanished.end());
      absl::StrAppend(out, "* VANISHED ", ringmail::imap::FormatNumberSet(vanished),
                      "\r\n");
    }
  }
  if (new_count_ > 0) {
    absl::StrAppend(out, "* ", uids_.size(), " EXISTS\r\n* ", recent_.size(),
                    " RECENT\r\n");
    new_count_ = 0;
  }
  if (!pending_flags_.empty()) {
    std::vector<uint32_t> uids(pending_flags_.begin(), pending_flags_.end());
    pending_flags_.clear();
    std::sort(uids.begin(), uids.end());
    const storage::FolderIndex& idx = folder_->index();
    for (uint32_t uid : uids) {
      uint32_t seq = SeqOfUid(uid);
      auto pos = idx.PositionOfUid(uid);
      if (seq == 0 || !pos) continue;
      absl::StrAppend(out, "* ", seq, " FETCH (UID ", uid, " FLAGS ");
      AppendFlagList(out, ImapFlagsFromStorage(idx.flags(*pos), IsRecent(uid)),
                     KeywordNames(idx.keywords(*pos), folder_->keywords()));
      if (condstore_) {
        absl::StrAppend(out, " MODSEQ (", idx.modseq(*pos), ")");
        modseq_sent_ = std::max(modseq_sent_, idx.modseq(*pos));
      }
      out->append(")\r\n");
    }
  }
}

void FolderView::Notify() {
  if (listener_) listener_();
}

}  // namespace ringmail::server::imap
