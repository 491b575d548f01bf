#include "storage/mailbox/uidlist.h"

#include <cassert>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

absl::Status Corrupt(size_t line_no, std::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "dovecot-uidlist corrupted at line ", line_no, ": ", AbslView(why)));
}

bool ParseU32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(AbslView(s), out);
}

// Splits off the next space-separated token.
std::string_view NextToken(std::string_view& s) {
  size_t sp = s.find(' ');
  std::string_view tok = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return tok;
}

bool SafeFilename(std::string_view f) {
  if (f.empty()) return false;
  for (char c : f) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string_view> UidlistRecord::Extension(char key) const {
  for (const std::string& e : extensions) {
    if (!e.empty() && e[0] == key) return std::string_view(e).substr(1);
  }
  return std::nullopt;
}

void UidlistRecord::SetExtension(char key, std::string_view value) {
  std::string field = std::string(1, key) + std::string(value);
  for (std::string& e : extensions) {
    if (!e.empty() && e[0] == key) {
      e = std::move(field);
      return;
    }
  }
  extensions.push_back(std::move(field));
}

std::string_view MaildirKey(std::string_view filename) {
  return filename.substr(0, filename.find(':'));
}

absl::StatusOr<Uidlist> ParseUidlist(std::string_view text,
                                     const UidlistLimits& limits) {
  if (text.size() > limits.max_file_bytes) {
    return absl::DataLossError("dovecot-uidlist too large");
  }
  Uidlist out;
  size_t line_no = 0;
  int version = 0;
  uint32_t last_uid = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view()
                                        : text.substr(nl + 1);
    ++line_no;
    if (line.size() > limits.max_line_bytes) return Corrupt(line_no, "long line");
    if (line_no == 1) {
      std::string_view v = NextToken(line);
      if (v == "1") {
        version = 1;
        if (!ParseU32(NextToken(line), &out.uid_validity) ||
            !ParseU32(NextToken(line), &out.next_uid)) {
          return Corrupt(line_no, "bad version 1 header");
        }
      } else if (v == "3") {
        version = 3;
        while (!line.empty()) {
          std::string_view f = NextToken(line);
          if (f.empty()) continue;
          std::string_view val = f.substr(1);
          if (f[0] == 'V') {
            if (!ParseU32(val, &out.uid_validity)) return Corrupt(1, "bad V");
          } else if (f[0] == 'N') {
            if (!ParseU32(val, &out.next_uid)) return Corrupt(1, "bad N");
          } else if (f[0] == 'G') {
            out.guid = std::string(val);
          } else {
            out.header_extra.emplace_back(f);
          }
        }
      } else {
        return Corrupt(line_no, "unsupported version");
      }
      if (out.uid_validity == 0 || out.next_uid == 0) {
        return Corrupt(line_no, "zero uidvalidity or next uid");
      }
      continue;
    }
    if (line.empty()) continue;
    if (out.records.size() >= limits.max_records) {
      return Corrupt(line_no, "too many records");
    }
    UidlistRecord rec;
    if (!ParseU32(NextToken(line), &rec.uid) || rec.uid == 0) {
      return Corrupt(line_no, "bad uid");
    }
    if (version == 1) {
      rec.filename = std::string(line);
    } else {
      // Extensions up to the field starting with ':'; the filename is the
      // rest of the line after that ':' (it may itself contain ':').
      while (!line.empty() && line[0] != ':') {
        std::string_view f = NextToken(line);
        if (!f.empty()) rec.extensions.emplace_back(f);
      }
      if (line.empty()) return Corrupt(line_no, "missing ':' before filename");
      rec.filename = std::string(line.substr(1));
    }
    if (!SafeFilename(rec.filename)) return Corrupt(line_no, "bad filename");
    if (rec.uid <= last_uid) return Corrupt(line_no, "UIDs not ascending");
    // Dovecot treats the header's N as a lower bound: it writes records
    // past it (e.g. "N1" followed by UIDs 1 and 2) and reads them back
    // fine, so do the same rather than calling the file corrupt.
    if (rec.uid >= out.next_uid) {
      if (rec.uid == UINT32_MAX) return Corrupt(line_no, "UID out of range");
      out.next_uid = rec.uid + 1;
    }
    last_uid = rec.uid;
    out.records.push_back(std::move(rec));
  }
  if (line_no == 0) return Corrupt(0, "empty file");
  return out;
}

std::string FormatUidlist(const Uidlist& list) {
  std::string out = absl::StrCat("3 V", list.uid_validity, " N", list.next_uid);
  if (!list.guid.empty()) absl::StrAppend(&out, " G", list.guid);
  for (const std::string& h : list.header_extra) absl::StrAppend(&out, " ", h);
  out += '\n';
  [[maybe_unused]] uint32_t last = 0;
  for (const UidlistRecord& r : list.records) {
    assert(r.uid > last && r.uid < list.next_uid);
    last = r.uid;
    absl::StrAppend(&out, r.uid);
    for (const std::string& e : r.extensions) absl::StrAppend(&out, " ", e);
    absl::StrAppend(&out, " :", r.filename, "\n");
  }
  return out;
}

std::string NewUidlistGuid() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) out += kHex[rd() & 15];
  return out;
}

}  // namespace ringmail::storage
