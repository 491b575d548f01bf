// FolderIndex::Serialize / Deserialize: the ringmail-index file format,
// documented in docs/mailbox-index.md.
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::storage {
namespace {

constexpr std::string_view kMagic = "RINGMAIL-INDEX 1";

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

}  // namespace

std::string FolderIndex::Serialize() const {
  std::string out;
  out.reserve(64 + entries_.size() * 96);
  absl::StrAppend(&out, AbslView(kMagic), " V", uid_validity_, " N", next_uid_,
                  " C", entries_.size(), "\n");
  for (const MessageEntry& e : entries_) {
    absl::StrAppend(&out, e.uid, " ", absl::Hex(e.flags), " ",
                    absl::Hex(e.keywords), " ", e.internal_date, " ", e.size,
                    " ");
    if (e.vsize == kUnknownSize) {
      out += '-';
    } else {
      absl::StrAppend(&out, e.vsize);
    }
    absl::StrAppend(&out, e.in_cur ? " c " : " n ", e.filename, "\n");
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
  if (!header.empty() && header[0] == ' ') header.remove_prefix(1);
  size_t count = 0;
  std::string_view v = NextToken(header), n = NextToken(header),
                   c = NextToken(header);
  if (v.substr(0, 1) != "V" || !ParseNum(v.substr(1), &index.uid_validity_) ||
      n.substr(0, 1) != "N" || !ParseNum(n.substr(1), &index.next_uid_) ||
      c.substr(0, 1) != "C" || !ParseNum(c.substr(1), &count) ||
      index.next_uid_ == 0) {
    return Corrupt("bad header");
  }
  if (count > max_messages) return Corrupt("too many messages");
  index.entries_.reserve(count);
  index.uid_by_key_.reserve(count);
  while (!body.empty()) {
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
  return index;
}

}  // namespace ringmail::storage
