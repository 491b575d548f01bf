// FolderIndex::Serialize / Deserialize: the ringmail-index file format,
// documented in docs/mailbox-index.md. Version 2 adds mod-sequences, the
// expunge log and the owner token; version 1 files are still read
// (migration: every message gets mod-sequence 1).
#include <cassert>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::storage {
namespace {

constexpr std::string_view kMagic = "RINGMAIL-INDEX ";
constexpr int kVersion = 2;
// Owner tokens are NewUidlistGuid() values: 32 hex digits.
constexpr size_t kTokenLength = 32;

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(
      absl::StrCat("ringmail-index corrupted: ", AbslView(why)));
}

std::string_view NextToken(std::string_view& s) {
  size_t sp = s.find(' ');
  std::string_view tok = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return tok;
}

template <typename T>
bool ParseNum(std::string_view s, T* out) {
  return !s.empty() && s.size() <= 20 && absl::SimpleAtoi(AbslView(s), out);
}

template <typename T>
bool ParseHex(std::string_view s, T* out) {
  return !s.empty() && s.size() <= 16 && absl::SimpleHexAtoi(AbslView(s), out);
}

// "<letter><number>" header field.
template <typename T>
bool Field(std::string_view tok, char letter, T* out) {
  return tok.size() >= 2 && tok[0] == letter && ParseNum(tok.substr(1), out);
}

bool ValidToken(std::string_view t) {
  if (t.size() != kTokenLength) return false;
  for (char c : t) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string FolderIndex::Serialize(std::string_view close_token) const {
  assert(close_token.empty() || ValidToken(close_token));
  std::string out;
  out.reserve(128 + entries_.size() * 112 + expunges_.entries().size() * 40);
  absl::StrAppend(&out, AbslView(kMagic), kVersion, " V", uid_validity_,
                  " N", next_uid_, " C", entries_.size(), " H", highest_modseq_,
                  " F", expunges_.complete_from(), " E",
                  expunges_.entries().size(), " K",
                  close_token.empty() ? absl::string_view("-")
                                      : AbslView(close_token),
                  "\n");
  for (const MessageEntry& e : entries_) {
    absl::StrAppend(&out, e.uid, " ", absl::Hex(e.flags), " ",
                    absl::Hex(e.keywords), " ", e.internal_date, " ", e.size,
                    " ");
    if (e.vsize == kUnknownSize) {
      out += '-';
    } else {
      absl::StrAppend(&out, e.vsize);
    }
    absl::StrAppend(&out, " ", e.modseq, e.in_cur ? " c " : " n ", e.filename,
                    "\n");
  }
  for (const ExpungeLog::Entry& x : expunges_.entries()) {
    absl::StrAppend(&out, "E", x.uids.first, ":", x.uids.last, " ", x.modseq,
                    "\n");
  }
  char sum[32];
  snprintf(sum, sizeof(sum), "X%016llx\n",
           static_cast<unsigned long long>(Fnv1a64(out)));
  out += sum;
  return out;
}

absl::StatusOr<FolderIndex> FolderIndex::Deserialize(std::string_view data,
                                                     size_t max_messages) {
  // Checksum line: "X<16 hex>\n" at the very end.
  if (data.size() < 18 || data.back() != '\n') return Corrupt("truncated");
  size_t xpos = data.rfind('\n', data.size() - 2);
  if (xpos == std::string_view::npos) return Corrupt("no checksum");
  std::string_view body = data.substr(0, xpos + 1);
  std::string_view sumline = data.substr(xpos + 1, data.size() - xpos - 2);
  uint64_t sum = 0;
  if (sumline.size() != 17 || sumline[0] != 'X' ||
      !ParseHex(sumline.substr(1), &sum) || sum != Fnv1a64(body)) {
    return Corrupt("checksum mismatch");
  }
  FolderIndex index;
  size_t nl = body.find('\n');
  std::string_view header = body.substr(0, nl);
  body.remove_prefix(nl + 1);
  if (header.substr(0, kMagic.size()) != kMagic) return Corrupt("bad magic");
  header.remove_prefix(kMagic.size());
  int version = 0;
  if (!ParseNum(NextToken(header), &version) || (version != 1 && version != 2)) {
    return Corrupt("unknown version");
  }
  const bool v1 = version == 1;
  size_t count = 0, expunge_count = 0;
  uint64_t complete_from = 0;
  if (!Field(NextToken(header), 'V', &index.uid_validity_) ||
      !Field(NextToken(header), 'N', &index.next_uid_) ||
      !Field(NextToken(header), 'C', &count) || index.next_uid_ == 0) {
    return Corrupt("bad header");
  }
  if (v1) {
    // Written before mod-sequences: no client has seen one for this folder.
    index.migrated_ = true;
  } else {
    if (!Field(NextToken(header), 'H', &index.highest_modseq_) ||
        !Field(NextToken(header), 'F', &complete_from) ||
        !Field(NextToken(header), 'E', &expunge_count) ||
        index.highest_modseq_ == 0 || index.highest_modseq_ > kMaxModSeq ||
        complete_from > index.highest_modseq_ ||
        expunge_count > index.expunges_.max_entries()) {
      return Corrupt("bad header");
    }
    std::string_view k = NextToken(header);
    if (k.size() < 2 || k[0] != 'K') return Corrupt("bad header");
    k.remove_prefix(1);
    if (k != "-") {
      if (!ValidToken(k)) return Corrupt("bad owner token");
      index.close_token_ = std::string(k);
    }
  }
  if (!header.empty()) return Corrupt("bad header");
  if (count > max_messages) return Corrupt("too many messages");
  index.entries_.reserve(count);
  index.uid_by_key_.reserve(count);
  while (!body.empty() && (v1 || body[0] != 'E')) {
    nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    MessageEntry e;
    std::string_view vs, dir;
    uint32_t flags = 0;
    if (!ParseNum(NextToken(line), &e.uid) ||
        !ParseHex(NextToken(line), &flags) || flags > 0x3f ||
        !ParseHex(NextToken(line), &e.keywords) ||
        !ParseNum(NextToken(line), &e.internal_date) ||
        !ParseNum(NextToken(line), &e.size)) {
      return Corrupt("bad message line");
    }
    e.flags = static_cast<uint8_t>(flags);
    vs = NextToken(line);
    if (vs != "-" && !ParseNum(vs, &e.vsize)) return Corrupt("bad vsize");
    if (v1) {
      e.modseq = 1;
    } else if (!ParseNum(NextToken(line), &e.modseq) || e.modseq == 0 ||
               e.modseq > index.highest_modseq_) {
      return Corrupt("bad modseq");
    }
    dir = NextToken(line);
    if (dir != "c" && dir != "n") return Corrupt("bad directory");
    e.in_cur = dir == "c";
    if (line.empty() || line.find('/') != std::string_view::npos ||
        line.size() > 255) {
      return Corrupt("bad filename");
    }
    e.filename = std::string(line);
    if (e.uid == 0 || e.uid >= index.next_uid_ ||
        (!index.entries_.empty() && index.entries_.back().uid >= e.uid)) {
      return Corrupt("UIDs not ascending");
    }
    if (index.entries_.size() >= count) return Corrupt("count mismatch");
    if (!index.uid_by_key_.emplace(std::string(e.key()), e.uid).second) {
      return Corrupt("duplicate key");
    }
    index.entries_.push_back(std::move(e));
  }
  if (index.entries_.size() != count) return Corrupt("count mismatch");
  while (!body.empty()) {
    nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    line.remove_prefix(1);  // 'E'
    size_t colon = line.find(':');
    ExpungeLog::Entry x;
    std::string_view range = NextToken(line);
    if (colon == std::string_view::npos || colon >= range.size() ||
        !ParseNum(range.substr(0, colon), &x.uids.first) ||
        !ParseNum(range.substr(colon + 1), &x.uids.last) ||
        !ParseNum(line, &x.modseq) || x.uids.last >= index.next_uid_ ||
        x.modseq > index.highest_modseq_ || !index.expunges_.Restore(x)) {
      return Corrupt("bad expunge line");
    }
  }
  if (index.expunges_.entries().size() != expunge_count) {
    return Corrupt("expunge count mismatch");
  }
  index.expunges_.RestoreCompleteFrom(complete_from);
  return index;
}

}  // namespace ringmail::storage
