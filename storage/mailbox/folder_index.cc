#include "storage/mailbox/folder_index.h"

#include <algorithm>
#include <cassert>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/mailbox/index_file.h"

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

FolderIndex::~FolderIndex() = default;

// ------------------------------------------------------------ cold fields

int64_t FolderIndex::internal_date(size_t pos) const {
  if (const ColdRecord* c = ExtraAt(pos)) return c->internal_date;
  return base_->date(row(pos));
}

uint64_t FolderIndex::message_size(size_t pos) const {
  if (const ColdRecord* c = ExtraAt(pos)) return c->size;
  return base_->size(row(pos));
}

uint64_t FolderIndex::vsize(size_t pos) const {
  if (const ColdRecord* c = ExtraAt(pos)) return c->vsize;
  return base_->vsize(row(pos));
}

std::string_view FolderIndex::filename(size_t pos) const {
  if (const ColdRecord* c = ExtraAt(pos)) return c->filename;
  return base_->name(row(pos));
}

std::string FolderIndex::RelativePath(size_t pos) const {
  return absl::StrCat(in_cur(pos) ? "cur/" : "new/", AbslView(filename(pos)));
}

MessageEntry FolderIndex::Entry(size_t pos) const {
  MessageEntry e;
  e.uid = uid(pos);
  e.flags = flags(pos);
  e.in_cur = in_cur(pos);
  e.recent = recent(pos);
  e.keywords = keywords(pos);
  e.internal_date = internal_date(pos);
  e.size = message_size(pos);
  e.vsize = vsize(pos);
  e.modseq = modseq(pos);
  e.filename = std::string(filename(pos));
  return e;
}

std::vector<ColdRecord>& FolderIndex::MutableExtras() {
  if (!extras_) {
    extras_ = std::make_shared<std::vector<ColdRecord>>();
  } else if (extras_shared_) {
    // A save in progress reads the old vector: change a copy.
    extras_ = std::make_shared<std::vector<ColdRecord>>(*extras_);
  }
  extras_shared_ = false;
  return *extras_;
}

void FolderIndex::MaterializeRows() {
  if (!rows_identity_) return;
  rows_.resize(uids_.size());
  std::iota(rows_.begin(), rows_.end(), 0u);
  rows_identity_ = false;
}

ColdRecord& FolderIndex::MutableCold(size_t pos) {
  MaterializeRows();
  std::vector<ColdRecord>& extras = MutableExtras();
  if (rows_[pos] >= kExtraRow) return extras[rows_[pos] - kExtraRow];
  const uint32_t row = rows_[pos];
  ColdRecord c;
  c.internal_date = base_->date(row);
  c.size = base_->size(row);
  c.vsize = base_->vsize(row);
  c.filename = std::string(base_->name(row));
  rows_[pos] = kExtraRow + static_cast<uint32_t>(extras.size());
  extras.push_back(std::move(c));
  ++live_extras_;
  return extras.back();
}

// ------------------------------------------------------------ lookups

std::optional<size_t> FolderIndex::PositionOfUid(uint32_t uid) const {
  auto it = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (it == uids_.end() || *it != uid) return std::nullopt;
  return static_cast<size_t>(it - uids_.begin());
}

std::optional<size_t> FolderIndex::PositionOfKey(std::string_view key) const {
  for (size_t pos = uids_.size(); pos-- > 0;) {
    if (this->key(pos) == key) return pos;
  }
  return std::nullopt;
}

std::vector<std::optional<size_t>> FolderIndex::PositionsOfKeys(
    const std::vector<std::string_view>& keys) const {
  std::vector<std::optional<size_t>> out(keys.size());
  absl::flat_hash_map<std::string_view, size_t> wanted;
  wanted.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) wanted.emplace(keys[i], i);
  size_t left = wanted.size();
  for (size_t pos = uids_.size(); pos-- > 0 && left > 0;) {
    auto it = wanted.find(key(pos));
    if (it == wanted.end() || out[it->second]) continue;
    out[it->second] = pos;
    --left;
  }
  // Duplicate keys in `keys` share the answer.
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!out[i]) out[i] = out[wanted.at(keys[i])];
  }
  return out;
}

uint32_t FolderIndex::CountUnseen() const {
  uint32_t n = 0;
  for (uint8_t b : bits_) n += (b & kFlagSeen) ? 0 : 1;
  return n;
}

std::optional<size_t> FolderIndex::FirstUnseen() const {
  for (size_t i = 0; i < bits_.size(); ++i) {
    if (!(bits_[i] & kFlagSeen)) return i;
  }
  return std::nullopt;
}

// ------------------------------------------------------------ stamps

ScanHints FolderIndex::hints() const {
  ScanHints h;
  h.new_dir = new_stamp_;
  h.cur_dir = cur_stamp_;
  h.uidlist = uidlist_stamp_;
  h.uid_validity = uid_validity_;
  return h;
}

void FolderIndex::CommitStamps(const FolderScan& scan, const ResolveResult* resolved) {
  // A stamp that only got a later `checked_at` is worth no write of its
  // own (the next save records it anyway): only a different file or a
  // stamp that became settled makes the index dirty.
  auto set = [this](DirStamp& s, const DirStamp& v) {
    if (s == v) return;
    if (!s.SameAs(v) || s.Settled() != v.Settled()) dirty_ = true;
    s = v;
  };
  if (scan.listed_new) set(new_stamp_, scan.new_stamp);
  if (scan.listed_cur) set(cur_stamp_, scan.cur_stamp);
  if (resolved != nullptr && resolved->uidlist_stamp.recorded()) {
    set(uidlist_stamp_, resolved->uidlist_stamp);
  } else {
    set(uidlist_stamp_, scan.uidlist_stamp);
  }
}

void FolderIndex::ForgetStamps() {
  new_stamp_ = cur_stamp_ = uidlist_stamp_ = DirStamp();
  dirty_ = true;
}

// ------------------------------------------------------------ changes

void FolderIndex::Reset() {
  uids_.clear();
  bits_.clear();
  keywords_.clear();
  modseqs_.clear();
  rows_.clear();
  rows_identity_ = false;
  recent_count_ = 0;
  base_.reset();
  extras_.reset();
  extras_shared_ = false;
  live_extras_ = 0;
  uid_validity_ = 0;
  next_uid_ = 1;
  new_stamp_ = cur_stamp_ = uidlist_stamp_ = DirStamp();
  Changed();
  // A new UIDVALIDITY starts a new history; the counter still never goes
  // down (RFC 7162 §3.1.1 only demands it per UIDVALIDITY, this is simpler).
  expunges_.ForgetThrough(highest_modseq_);
}

uint64_t FolderIndex::NextModSeq() {
  // 2^63 changes are out of reach; saturating keeps the value legal.
  if (highest_modseq_ < kMaxModSeq) ++highest_modseq_;
  Changed();
  return highest_modseq_;
}

bool FolderIndex::NoLiveUidIn(uint32_t lo, uint32_t hi) const {
  auto it = std::lower_bound(uids_.begin(), uids_.end(), lo);
  return it == uids_.end() || *it > hi;
}

void FolderIndex::LogExpunge(uint32_t uid) {
  expunges_.Add(uid, NextModSeq(), [this](uint32_t lo, uint32_t hi) {
    return NoLiveUidIn(lo, hi);
  });
}

void FolderIndex::RaiseModSeqFloor(uint64_t floor) {
  if (floor > highest_modseq_) highest_modseq_ = floor;
  expunges_.ForgetThrough(highest_modseq_);
  Changed();
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
    auto it = std::lower_bound(uids_.begin(), uids_.end(), r.first);
    for (; lo <= hi && it != uids_.end() && *it <= hi; ++it) {
      if (*it > lo) v.uids.push_back({static_cast<uint32_t>(lo), *it - 1});
      lo = uint64_t{*it} + 1;
    }
    if (lo <= hi) {
      v.uids.push_back({static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)});
    }
  }
  return v;
}

void FolderIndex::ParseNameInto(size_t pos, std::string_view filename) {
  ++parse_count_;
  NameInfo info = ParseNameInfo(filename);
  bits_[pos] = static_cast<uint8_t>((bits_[pos] & ~kAllMessageFlags) | info.flags);
  keywords_[pos] = info.keywords;
  if (info.size || info.vsize) {
    ColdRecord& c = MutableCold(pos);
    if (info.size) c.size = *info.size;
    if (info.vsize) c.vsize = *info.vsize;
  }
}

size_t FolderIndex::Insert(uint32_t uid, uint8_t bits, uint32_t keywords, uint64_t modseq,
                           ColdRecord cold) {
  MaterializeRows();
  recent_count_ += (bits & kRecentBit) ? 1 : 0;
  std::vector<ColdRecord>& extras = MutableExtras();
  const uint32_t row = kExtraRow + static_cast<uint32_t>(extras.size());
  extras.push_back(std::move(cold));
  ++live_extras_;
  if (uid >= next_uid_) next_uid_ = uid + 1;
  if (uids_.empty() || uids_.back() < uid) {
    uids_.push_back(uid);
    bits_.push_back(bits);
    keywords_.push_back(keywords);
    modseqs_.push_back(modseq);
    rows_.push_back(row);
    Changed();
    return uids_.size() - 1;
  }
  auto at = std::lower_bound(uids_.begin(), uids_.end(), uid);
  const auto pos = at - uids_.begin();
  uids_.insert(at, uid);
  bits_.insert(bits_.begin() + pos, bits);
  keywords_.insert(keywords_.begin() + pos, keywords);
  modseqs_.insert(modseqs_.begin() + pos, modseq);
  rows_.insert(rows_.begin() + pos, row);
  Changed();
  return static_cast<size_t>(pos);
}

void FolderIndex::EraseAt(size_t pos) {
  MaterializeRows();
  recent_count_ -= (bits_[pos] & kRecentBit) ? 1 : 0;
  const auto p = static_cast<std::ptrdiff_t>(pos);
  if (rows_[pos] >= kExtraRow) {
    // Its slot stays (indexes of later ones must not move); the name is
    // freed now and the slots go at the next Rebase.
    std::vector<ColdRecord>& extras = MutableExtras();
    std::string().swap(extras[rows_[pos] - kExtraRow].filename);
    --live_extras_;
  }
  uids_.erase(uids_.begin() + p);
  bits_.erase(bits_.begin() + p);
  keywords_.erase(keywords_.begin() + p);
  modseqs_.erase(modseqs_.begin() + p);
  rows_.erase(rows_.begin() + p);
  Changed();
}

ApplyScanResult FolderIndex::ApplyScan(FolderScan& scan) {
  ApplyScanResult result;
  if (scan.uidlist == UidlistState::kRead) {
    if (uid_validity_ != 0 && scan.uid_validity != uid_validity_) {
      // The scan listed both directories (ScanFolder does when the
      // validity it read differs from the hint), so the index is rebuilt
      // from complete listings.
      Reset();
      result.uid_validity_changed = true;
    }
    if (uid_validity_ == 0) uid_validity_ = scan.uid_validity;
    if (scan.next_uid > next_uid_) {
      next_uid_ = scan.next_uid;
      Changed();
    }
  }
  if (!scan.listed_new && !scan.listed_cur) return result;
  // Candidates: the messages the index has in a listed directory. A
  // directory that was not listed is unchanged since its recorded stamp,
  // so its messages are neither gone nor renamed.
  auto listed = [&scan](bool cur) { return cur ? scan.listed_cur : scan.listed_new; };
  size_t candidates = 0;
  for (size_t i = 0; i < uids_.size(); ++i) candidates += listed(in_cur(i)) ? 1 : 0;
  if (candidates == 0) {
    // Nothing to match (a first open): every file is pending, moved out of
    // the scan. A key listed twice (new/ and cur/ mid-rename) is left to
    // the resolver, which drops the duplicate (cur/ wins) without hashing
    // a million names.
    result.pending.reserve(scan.files.size());
    for (ScannedFile& f : scan.files) result.pending.push_back({std::move(f.name), f.in_cur, 0});
    return result;
  }
  absl::flat_hash_map<std::string_view, uint32_t> by_key;
  by_key.reserve(candidates);
  for (size_t i = 0; i < uids_.size(); ++i) {
    if (listed(in_cur(i))) by_key.emplace(key(i), static_cast<uint32_t>(i));
  }
  // Found in a listing: kSeen with its current name, kRenamed with another
  // (the file is in `renamed`); kInCur: the file chosen is in cur/.
  constexpr uint8_t kSeen = 1, kRenamed = 2, kInCur = 4;
  std::vector<uint8_t> seen(uids_.size(), 0);
  std::vector<std::pair<uint32_t, const ScannedFile*>> renamed;
  // Unknown keys -> the file in scan.files chosen for them.
  absl::flat_hash_map<std::string_view, size_t> pending_by_key;
  for (size_t fi = 0; fi < scan.files.size(); ++fi) {
    const ScannedFile& f = scan.files[fi];
    std::string_view k = MaildirKey(f.name);
    auto it = by_key.find(k);
    if (it == by_key.end()) {
      // Unknown here. A file whose key the index has in the other (not
      // listed) directory is a duplicate: the resolver finds its UID in
      // the uidlist and ApplyResolved skips a UID it already has.
      auto [p, inserted] = pending_by_key.emplace(k, fi);
      // Seen in new/ and cur/ mid-rename: the cur/ copy wins.
      if (!inserted && f.in_cur) p->second = fi;
      continue;
    }
    const uint32_t pos = it->second;
    // Seen in new/ and cur/ mid-rename: the cur/ copy wins.
    if (seen[pos] != 0 && ((seen[pos] & kInCur) || !f.in_cur)) continue;
    const uint8_t dir = f.in_cur ? kInCur : 0;
    if (in_cur(pos) == f.in_cur && filename(pos) == f.name) {
      seen[pos] = kSeen | dir;
      continue;
    }
    seen[pos] = kRenamed | dir;
    renamed.emplace_back(pos, &f);
  }
  // The unknown names leave the scan (moved, not copied: a first open
  // has a million of them), in listing order.
  std::vector<size_t> chosen;
  chosen.reserve(pending_by_key.size());
  for (const auto& [k, fi] : pending_by_key) chosen.push_back(fi);
  pending_by_key.clear();
  std::sort(chosen.begin(), chosen.end());
  result.pending.reserve(chosen.size());
  for (size_t fi : chosen) {
    ScannedFile& f = scan.files[fi];
    result.pending.push_back({std::move(f.name), f.in_cur, 0});
  }
  // Renames by other programs: new name, maybe new flags. Applied after
  // the matching, which points into the names MutableCold replaces; for a
  // position listed twice the last choice wins.
  by_key.clear();
  std::stable_sort(renamed.begin(), renamed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < renamed.size(); ++i) {
    const uint32_t pos = renamed[i].first;
    if (!(seen[pos] & kRenamed)) continue;
    if (i + 1 < renamed.size() && renamed[i + 1].first == pos) continue;
    const ScannedFile& f = *renamed[i].second;
    const uint8_t old_flags = flags(pos);
    const uint32_t old_kw = keywords(pos);
    MutableCold(pos).filename = f.name;
    bits_[pos] = static_cast<uint8_t>(f.in_cur ? (bits_[pos] | kInCurBit)
                                               : (bits_[pos] & ~kInCurBit));
    ParseNameInto(pos, f.name);
    if (flags(pos) != old_flags || keywords(pos) != old_kw) {
      result.flag_changed_uids.push_back(uids_[pos]);
      modseqs_[pos] = NextModSeq();
    }
    Changed();
  }
  std::sort(result.flag_changed_uids.begin(), result.flag_changed_uids.end());
  // Vanished files are expunges: candidates not seen.
  size_t out = 0;
  const size_t n = uids_.size();
  bool any_gone = false;
  for (size_t i = 0; i < n && !any_gone; ++i) any_gone = seen[i] == 0 && listed(in_cur(i));
  if (any_gone) MaterializeRows();
  for (size_t i = 0; any_gone && i < n; ++i) {
    if (seen[i] == 0 && listed(in_cur(i))) {
      result.expunged_uids.push_back(uids_[i]);
      result.expunged_seqs.push_back(static_cast<uint32_t>(i + 1));
      recent_count_ -= (bits_[i] & kRecentBit) ? 1 : 0;
      if (rows_[i] >= kExtraRow) {
        std::string().swap(MutableExtras()[rows_[i] - kExtraRow].filename);
        --live_extras_;
      }
      continue;
    }
    if (out != i) {
      uids_[out] = uids_[i];
      bits_[out] = bits_[i];
      keywords_[out] = keywords_[i];
      modseqs_[out] = modseqs_[i];
      rows_[out] = rows_[i];
    }
    ++out;
  }
  if (any_gone && out != n) {
    uids_.resize(out);
    bits_.resize(out);
    keywords_.resize(out);
    modseqs_.resize(out);
    rows_.resize(out);
    Changed();
  }
  // Logged once the survivors are in place, so merging ranges sees which
  // UIDs are still live.
  for (uint32_t uid : result.expunged_uids) LogExpunge(uid);
  std::reverse(result.expunged_seqs.begin(), result.expunged_seqs.end());
  return result;
}

absl::StatusOr<std::vector<uint32_t>> FolderIndex::ApplyResolved(ResolveResult result) {
  if (uid_validity_ != 0 && result.uid_validity != uid_validity_) {
    return absl::FailedPreconditionError("UIDVALIDITY changed during sync");
  }
  if (uid_validity_ != result.uid_validity || next_uid_ < result.next_uid) Changed();
  uid_validity_ = result.uid_validity;
  next_uid_ = std::max(next_uid_, result.next_uid);
  std::vector<uint32_t> added;
  added.reserve(result.files.size());
  // `files` is in ascending UID order; new UIDs are normally above every
  // known one, so the columns grow at the end. A later insert never moves
  // an earlier added one (its UID is smaller), so `at` stays valid.
  std::vector<size_t> at;
  at.reserve(result.files.size());
  const size_t want = uids_.size() + result.files.size();
  uids_.reserve(want);
  bits_.reserve(want);
  keywords_.reserve(want);
  modseqs_.reserve(want);
  MaterializeRows();
  rows_.reserve(want);
  MutableExtras().reserve(extras_->size() + result.files.size());
  for (ResolvedFile& f : result.files) {
    if (PositionOfUid(f.uid)) continue;
    NameInfo info = ParseNameInfo(f.name);
    ++parse_count_;
    ColdRecord c;
    c.internal_date = f.mtime;
    c.size = info.size.value_or(f.size);
    c.vsize = info.vsize.value_or(f.vsize);
    c.filename = std::move(f.name);
    const uint8_t bits = static_cast<uint8_t>(info.flags | (f.in_cur ? kInCurBit : 0) |
                                              (f.newly_assigned ? kRecentBit : 0));
    at.push_back(Insert(f.uid, bits, info.keywords, 0, std::move(c)));
    added.push_back(f.uid);
  }
  // New messages take mod-sequences in UID order.
  for (size_t pos : at) modseqs_[pos] = NextModSeq();
  return added;
}

bool FolderIndex::ApplyRename(uint32_t uid, std::string new_filename, bool in_cur) {
  std::optional<size_t> pos = PositionOfUid(uid);
  if (!pos) return false;
  assert(MaildirKey(new_filename) == key(*pos));
  const uint8_t old_flags = flags(*pos);
  const uint32_t old_kw = keywords(*pos);
  ColdRecord& c = MutableCold(*pos);
  c.filename = std::move(new_filename);
  bits_[*pos] = static_cast<uint8_t>(in_cur ? (bits_[*pos] | kInCurBit)
                                            : (bits_[*pos] & ~kInCurBit));
  ParseNameInto(*pos, c.filename);
  if (flags(*pos) != old_flags || keywords(*pos) != old_kw) modseqs_[*pos] = NextModSeq();
  Changed();
  return true;
}

bool FolderIndex::Remove(uint32_t uid) {
  std::optional<size_t> pos = PositionOfUid(uid);
  if (!pos) return false;
  EraseAt(*pos);
  LogExpunge(uid);
  return true;
}

void FolderIndex::SetVsize(size_t pos, uint64_t vsize) {
  if (this->vsize(pos) == vsize) return;
  MutableCold(pos).vsize = vsize;
  Changed();
}

// ------------------------------------------------------------ files

void FolderIndex::AppendLoaded(const MessageEntry& e) {
  MaterializeRows();
  ColdRecord c;
  c.internal_date = e.internal_date;
  c.size = e.size;
  c.vsize = e.vsize;
  c.filename = e.filename;
  std::vector<ColdRecord>& extras = MutableExtras();
  rows_.push_back(kExtraRow + static_cast<uint32_t>(extras.size()));
  extras.push_back(std::move(c));
  ++live_extras_;
  uids_.push_back(e.uid);
  bits_.push_back(static_cast<uint8_t>(e.flags | (e.in_cur ? kInCurBit : 0)));
  keywords_.push_back(e.keywords);
  modseqs_.push_back(e.modseq);
}

void FolderIndex::SetLoadedHeader(uint32_t validity, uint32_t next_uid, uint64_t highest,
                                  std::string close_token, bool migrated) {
  uid_validity_ = validity;
  next_uid_ = next_uid;
  highest_modseq_ = highest;
  close_token_ = std::move(close_token);
  migrated_ = migrated;
}

absl::StatusOr<FolderIndex> FolderIndex::FromImage(std::shared_ptr<const IndexImage> image) {
  FolderIndex idx;
  idx.uid_validity_ = image->uid_validity();
  idx.next_uid_ = image->next_uid();
  idx.highest_modseq_ = image->highest_modseq();
  idx.close_token_ = image->close_token();
  idx.expunges_ = image->expunges();
  idx.new_stamp_ = image->new_stamp();
  idx.cur_stamp_ = image->cur_stamp();
  idx.uidlist_stamp_ = image->uidlist_stamp();
  if (absl::Status st =
          image->CopyHotColumns(&idx.uids_, &idx.bits_, &idx.keywords_, &idx.modseqs_);
      !st.ok()) {
    return st;
  }
  idx.rows_identity_ = true;
  idx.base_ = std::move(image);
  return idx;
}

IndexSave FolderIndex::SaveImage() const {
  IndexSave s;
  s.uid_validity = uid_validity_;
  s.next_uid = next_uid_;
  s.highest_modseq = highest_modseq_;
  s.expunges = expunges_;
  s.new_stamp = new_stamp_;
  s.cur_stamp = cur_stamp_;
  s.uidlist_stamp = uidlist_stamp_;
  s.uids = uids_;
  s.bits = bits_;
  s.keywords = keywords_;
  s.modseqs = modseqs_;
  s.rows = rows_;
  s.rows_identity = rows_identity_;
  s.base = base_;
  s.extras = extras_;
  if (extras_) extras_shared_ = true;
  s.generation = generation_;
  return s;
}

IndexSave FolderIndex::TakeSaveImage() && {
  IndexSave s;
  s.uid_validity = uid_validity_;
  s.next_uid = next_uid_;
  s.highest_modseq = highest_modseq_;
  s.expunges = std::move(expunges_);
  s.new_stamp = new_stamp_;
  s.cur_stamp = cur_stamp_;
  s.uidlist_stamp = uidlist_stamp_;
  s.uids = std::move(uids_);
  s.bits = std::move(bits_);
  s.keywords = std::move(keywords_);
  s.modseqs = std::move(modseqs_);
  s.rows = std::move(rows_);
  s.rows_identity = rows_identity_;
  s.base = std::move(base_);
  s.extras = std::move(extras_);
  s.generation = generation_;
  uids_.clear();
  bits_.clear();
  keywords_.clear();
  modseqs_.clear();
  rows_.clear();
  rows_identity_ = false;
  recent_count_ = 0;
  live_extras_ = 0;
  return s;
}

bool FolderIndex::Rebase(std::shared_ptr<const IndexImage> image, uint64_t generation) {
  if (generation != generation_ || image->count() != uids_.size()) return false;
  base_ = std::move(image);
  std::vector<uint32_t>().swap(rows_);
  rows_identity_ = true;
  extras_.reset();
  extras_shared_ = false;
  live_extras_ = 0;
  return true;
}

std::string FolderIndex::Serialize(std::string_view close_token) const {
  return IndexImageBytes(SaveImage(), close_token);
}

absl::StatusOr<FolderIndex> FolderIndex::Deserialize(std::string_view data,
                                                     size_t max_messages) {
  if (IsTextIndex(data)) return ParseTextIndex(data, max_messages);
  absl::StatusOr<std::shared_ptr<const IndexImage>> img =
      IndexImage::FromBytes(data, max_messages);
  if (!img.ok()) return img.status();
  if (absl::Status st = (*img)->VerifyColdBlocking(); !st.ok()) return st;
  return FromImage(*std::move(img));
}

}  // namespace ringmail::storage
