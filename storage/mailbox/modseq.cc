#include "storage/mailbox/modseq.h"

#include <algorithm>
#include <cassert>

namespace ringmail::storage {

uint64_t ModSeqTimeFloor(absl::Time now) {
  int64_t secs = absl::ToUnixSeconds(now);
  if (secs <= 0) return 1;
  const uint64_t s = static_cast<uint64_t>(secs);
  if (s > (kMaxModSeq >> kModSeqTimeShift)) return kMaxModSeq;
  return s << kModSeqTimeShift;
}

void NormaliseUidRanges(std::vector<UidRange>* ranges) {
  if (ranges->empty()) return;
  std::sort(ranges->begin(), ranges->end(),
            [](const UidRange& a, const UidRange& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 1; i < ranges->size(); ++i) {
    UidRange& cur = (*ranges)[out];
    const UidRange& next = (*ranges)[i];
    // Adjacent ranges merge too ("1:3,4" is "1:4"); 64-bit to avoid the
    // wrap at UINT32_MAX.
    if (uint64_t{next.first} <= uint64_t{cur.last} + 1) {
      cur.last = std::max(cur.last, next.last);
    } else {
      (*ranges)[++out] = next;
    }
  }
  ranges->resize(out + 1);
}

std::vector<UidRange> IntersectUidRanges(const std::vector<UidRange>& a,
                                         const std::vector<UidRange>& b) {
  std::vector<UidRange> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint32_t lo = std::max(a[i].first, b[j].first);
    const uint32_t hi = std::min(a[i].last, b[j].last);
    if (lo <= hi) out.push_back({lo, hi});
    if (a[i].last < b[j].last) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

uint64_t CountUids(const std::vector<UidRange>& ranges) {
  uint64_t n = 0;
  for (const UidRange& r : ranges) n += uint64_t{r.last} - r.first + 1;
  return n;
}

ExpungeLog::ExpungeLog(size_t max_entries)
    : max_entries_(std::max<size_t>(max_entries, 4)) {}

void ExpungeLog::Add(uint32_t uid, uint64_t modseq,
                     absl::FunctionRef<bool(uint32_t lo, uint32_t hi)> gap_is_free) {
  assert(uid != 0);
  assert(entries_.empty() || entries_.back().modseq <= modseq);
  if (!entries_.empty()) {
    Entry& newest = entries_.back();
    UidRange& r = newest.uids;
    bool merge = false;
    if (uid >= r.first && uid <= r.last) {
      merge = true;
    } else if (uid > r.last) {
      merge = uid == r.last + 1 || gap_is_free(r.last + 1, uid - 1);
      if (merge) r.last = uid;
    } else {
      merge = uid + 1 == r.first || gap_is_free(uid + 1, r.first - 1);
      if (merge) r.first = uid;
    }
    if (merge) {
      newest.modseq = modseq;
      return;
    }
  }
  entries_.push_back({{uid, uid}, modseq});
  if (entries_.size() > max_entries_) Trim();
}

void ExpungeLog::Trim() {
  // Drop the oldest quarter at once so a busy folder trims rarely.
  const size_t drop = entries_.size() - max_entries_ * 3 / 4;
  complete_from_ = std::max(complete_from_, entries_[drop - 1].modseq);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
}

void ExpungeLog::ForgetThrough(uint64_t modseq) {
  complete_from_ = std::max(complete_from_, modseq);
  auto keep = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.modseq > complete_from_; });
  entries_.erase(entries_.begin(), keep);
}

std::optional<std::vector<UidRange>> ExpungeLog::Since(uint64_t since) const {
  if (since < complete_from_) return std::nullopt;
  std::vector<UidRange> out;
  // Entries are in modseq order: the ones after `since` are a suffix.
  auto first = std::partition_point(entries_.begin(), entries_.end(),
                                    [&](const Entry& e) { return e.modseq <= since; });
  for (auto it = first; it != entries_.end(); ++it) out.push_back(it->uids);
  NormaliseUidRanges(&out);
  return out;
}

bool ExpungeLog::Restore(const Entry& e) {
  if (e.uids.first == 0 || e.uids.first > e.uids.last || e.modseq == 0 ||
      (!entries_.empty() && entries_.back().modseq > e.modseq) ||
      entries_.size() >= max_entries_) {
    return false;
  }
  entries_.push_back(e);
  return true;
}

}  // namespace ringmail::storage
