#include "storage/mailbox/folder_index.h"

#include <algorithm>
#include <cassert>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

constexpr std::string_view kSystemLetters = "DFPRST";  // bit order

std::optional<uint64_t> FieldValue(std::string_view head, std::string_view key) {
  size_t pos = head.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view v = head.substr(pos + key.size());
  v = v.substr(0, v.find(','));
  uint64_t out = 0;
  if (v.empty() || v.size() > 20 || !absl::SimpleAtoi(AbslView(v), &out)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string MessageEntry::RelativePath() const {
  return absl::StrCat(in_cur ? "cur/" : "new/", filename);
}

NameInfo ParseNameInfo(std::string_view filename) {
  NameInfo info;
  size_t colon = filename.find(':');
  std::string_view head = filename.substr(0, colon);
  info.size = FieldValue(head, ",S=");
  info.vsize = FieldValue(head, ",W=");
  if (colon != std::string_view::npos &&
      filename.substr(colon + 1, 2) == "2,") {
    for (char c : filename.substr(colon + 3)) {
      size_t bit = kSystemLetters.find(c);
      if (bit != std::string_view::npos) {
        info.flags |= static_cast<uint8_t>(1u << bit);
      } else if (c >= 'a' && c <= 'z') {
        info.keywords |= 1u << (c - 'a');
      }
    }
  }
  return info;
}

std::string FormatInfoFlags(uint8_t flags, uint32_t keywords) {
  std::string out;
  for (size_t i = 0; i < kSystemLetters.size(); ++i) {
    if (flags & (1u << i)) out += kSystemLetters[i];
  }
  for (int i = 0; i < 26; ++i) {
    if (keywords & (1u << i)) out += static_cast<char>('a' + i);
  }
  return out;
}

std::string WithInfoFlags(std::string_view filename, uint8_t flags,
                          uint32_t keywords) {
  return absl::StrCat(AbslView(MaildirKey(filename)), ":2,",
                      FormatInfoFlags(flags, keywords));
}

std::optional<size_t> FolderIndex::PositionOfUid(uint32_t uid) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), uid,
      [](const MessageEntry& e, uint32_t u) { return e.uid < u; });
  if (it == entries_.end() || it->uid != uid) return std::nullopt;
  return static_cast<size_t>(it - entries_.begin());
}

const MessageEntry* FolderIndex::FindByKey(std::string_view key) const {
  auto it = uid_by_key_.find(AbslView(key));
  if (it == uid_by_key_.end()) return nullptr;
  std::optional<size_t> pos = PositionOfUid(it->second);
  assert(pos.has_value());
  return &entries_[*pos];
}

void FolderIndex::Reset() {
  entries_.clear();
  uid_by_key_.clear();
  uid_validity_ = 0;
  next_uid_ = 1;
  dirty_ = true;
  // A new UIDVALIDITY starts a new history; the counter still never goes
  // down (RFC 7162 §3.1.1 only demands it per UIDVALIDITY, this is simpler).
  expunges_.ForgetThrough(highest_modseq_);
}

uint64_t FolderIndex::NextModSeq() {
  // 2^63 changes are out of reach; saturating keeps the value legal.
  if (highest_modseq_ < kMaxModSeq) ++highest_modseq_;
  dirty_ = true;
  return highest_modseq_;
}

bool FolderIndex::NoLiveUidIn(uint32_t lo, uint32_t hi) const {
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), lo,
      [](const MessageEntry& e, uint32_t u) { return e.uid < u; });
  return it == entries_.end() || it->uid > hi;
}

void FolderIndex::LogExpunge(uint32_t uid) {
  expunges_.Add(uid, NextModSeq(), [this](uint32_t lo, uint32_t hi) {
    return NoLiveUidIn(lo, hi);
  });
}

void FolderIndex::RaiseModSeqFloor(uint64_t floor) {
  if (floor > highest_modseq_) highest_modseq_ = floor;
  expunges_.ForgetThrough(highest_modseq_);
  dirty_ = true;
}

FolderIndex::Vanished FolderIndex::ExpungedSince(
    uint64_t since, const std::vector<UidRange>& filter) const {
  Vanished v;
  if (next_uid_ <= 1) return v;
  std::optional<std::vector<UidRange>> logged = expunges_.Since(since);
  std::vector<UidRange> candidates;
  if (logged) {
    candidates = *std::move(logged);
  } else {
    v.exact = false;
    candidates.push_back({1, next_uid_ - 1});
  }
  candidates = IntersectUidRanges(candidates, filter);
  // Take out the live UIDs (and anything at or above UIDNEXT).
  for (const UidRange& r : candidates) {
    uint64_t lo = r.first;
    const uint64_t hi = std::min<uint64_t>(r.last, next_uid_ - 1);
    auto it = std::lower_bound(
        entries_.begin(), entries_.end(), r.first,
        [](const MessageEntry& e, uint32_t u) { return e.uid < u; });
    for (; lo <= hi && it != entries_.end() && it->uid <= hi; ++it) {
      if (it->uid > lo) {
        v.uids.push_back({static_cast<uint32_t>(lo), it->uid - 1});
      }
      lo = uint64_t{it->uid} + 1;
    }
    if (lo <= hi) {
      v.uids.push_back({static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)});
    }
  }
  return v;
}

void FolderIndex::ApplyNameInfo(MessageEntry& e) {
  ++parse_count_;
  NameInfo info = ParseNameInfo(e.filename);
  e.flags = info.flags;
  e.keywords = info.keywords;
  if (info.size) e.size = *info.size;
  if (info.vsize) e.vsize = *info.vsize;
}

void FolderIndex::Insert(MessageEntry e) {
  uid_by_key_.emplace(std::string(e.key()), e.uid);
  if (e.uid >= next_uid_) next_uid_ = e.uid + 1;
  if (entries_.empty() || entries_.back().uid < e.uid) {
    entries_.push_back(std::move(e));
    return;
  }
  auto it = std::lower_bound(
      entries_.begin(), entries_.end(), e.uid,
      [](const MessageEntry& x, uint32_t u) { return x.uid < u; });
  entries_.insert(it, std::move(e));
}

ApplyScanResult FolderIndex::ApplyScan(const FolderScan& scan) {
  ApplyScanResult result;
  if (scan.uidlist) {
    if (uid_validity_ != 0 && scan.uidlist->uid_validity != uid_validity_) {
      Reset();
      result.uid_validity_changed = true;
    }
    if (uid_validity_ == 0) uid_validity_ = scan.uidlist->uid_validity;
    next_uid_ = std::max(next_uid_, scan.uidlist->next_uid);
  }
  std::vector<bool> seen(entries_.size(), false);
  absl::flat_hash_map<std::string, size_t> pending_by_key;
  for (const ScannedFile& f : scan.files) {
    std::string_view key = MaildirKey(f.name);
    auto it = uid_by_key_.find(AbslView(key));
    if (it == uid_by_key_.end()) {
      auto [p, inserted] =
          pending_by_key.emplace(std::string(key), result.pending.size());
      if (inserted) {
        result.pending.push_back({f.name, f.in_cur, 0});
      } else if (f.in_cur) {
        // Seen in new/ and cur/ mid-rename: the cur/ copy wins.
        result.pending[p->second] = {f.name, true, 0};
      }
      continue;
    }
    size_t pos = *PositionOfUid(it->second);
    MessageEntry& e = entries_[pos];
    if (seen[pos] && (e.in_cur || !f.in_cur)) continue;
    seen[pos] = true;
    if (e.in_cur == f.in_cur && e.filename == f.name) continue;
    e.filename = f.name;
    e.in_cur = f.in_cur;
    uint8_t old_flags = e.flags;
    uint32_t old_kw = e.keywords;
    ApplyNameInfo(e);
    if (e.flags != old_flags || e.keywords != old_kw) {
      result.flag_changed_uids.push_back(e.uid);
      e.modseq = NextModSeq();
    }
    dirty_ = true;
  }
  // Vanished files are expunges.
  size_t out = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!seen[i]) {
      result.expunged_uids.push_back(entries_[i].uid);
      result.expunged_seqs.push_back(static_cast<uint32_t>(i + 1));
      uid_by_key_.erase(AbslView(entries_[i].key()));
      continue;
    }
    if (out != i) entries_[out] = std::move(entries_[i]);
    ++out;
  }
  if (out != entries_.size()) dirty_ = true;
  entries_.resize(out);
  // Logged once the survivors are in place, so merging ranges sees which
  // UIDs are still live.
  for (uint32_t uid : result.expunged_uids) LogExpunge(uid);
  std::reverse(result.expunged_seqs.begin(), result.expunged_seqs.end());
  if (scan.uidlist && !result.pending.empty()) {
    absl::flat_hash_map<std::string_view, uint32_t> hints;
    hints.reserve(scan.uidlist->records.size());
    for (const UidlistRecord& r : scan.uidlist->records) {
      hints.emplace(MaildirKey(r.filename), r.uid);
    }
    for (PendingFile& p : result.pending) {
      auto h = hints.find(MaildirKey(p.name));
      if (h != hints.end()) p.uid_hint = h->second;
    }
  }
  return result;
}

absl::StatusOr<std::vector<uint32_t>> FolderIndex::ApplyResolved(
    const ResolveResult& result) {
  if (uid_validity_ != 0 && result.uid_validity != uid_validity_) {
    return absl::FailedPreconditionError("UIDVALIDITY changed during sync");
  }
  uid_validity_ = result.uid_validity;
  next_uid_ = std::max(next_uid_, result.next_uid);
  std::vector<uint32_t> added;
  for (const ResolvedFile& f : result.files) {
    if (uid_by_key_.contains(AbslView(MaildirKey(f.name))) ||
        PositionOfUid(f.uid)) {
      continue;
    }
    MessageEntry e;
    e.uid = f.uid;
    e.in_cur = f.in_cur;
    e.recent = f.newly_assigned;
    e.internal_date = f.mtime;
    e.size = f.size;
    e.vsize = f.vsize;
    e.filename = f.name;
    ApplyNameInfo(e);
    added.push_back(e.uid);
    Insert(std::move(e));
  }
  std::sort(added.begin(), added.end());
  // New messages take mod-sequences in UID order.
  for (uint32_t uid : added) entries_[*PositionOfUid(uid)].modseq = NextModSeq();
  if (!added.empty()) dirty_ = true;
  return added;
}

bool FolderIndex::ApplyRename(uint32_t uid, std::string new_filename,
                              bool in_cur) {
  std::optional<size_t> pos = PositionOfUid(uid);
  if (!pos) return false;
  MessageEntry& e = entries_[*pos];
  assert(MaildirKey(new_filename) == e.key());
  const uint8_t old_flags = e.flags;
  const uint32_t old_kw = e.keywords;
  e.filename = std::move(new_filename);
  e.in_cur = in_cur;
  ApplyNameInfo(e);
  if (e.flags != old_flags || e.keywords != old_kw) e.modseq = NextModSeq();
  dirty_ = true;
  return true;
}

bool FolderIndex::Remove(uint32_t uid) {
  std::optional<size_t> pos = PositionOfUid(uid);
  if (!pos) return false;
  uid_by_key_.erase(AbslView(entries_[*pos].key()));
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(*pos));
  LogExpunge(uid);
  dirty_ = true;
  return true;
}

}  // namespace ringmail::storage
