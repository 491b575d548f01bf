#include "storage/mailbox/keywords.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

// RFC 3501 atom: no atom-specials ( ) { SP CTL % * " \ ]
bool IsAtom(std::string_view s) {
  if (s.empty() || s.size() > kMaxKeywordBytes) return false;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("(){%*\"\\]").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

MaildirKeywords MaildirKeywords::Parse(std::string_view text) {
  MaildirKeywords kw;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view()
                                        : text.substr(nl + 1);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    int idx = 0;
    std::string_view num = line.substr(0, sp);
    std::string_view name = line.substr(sp + 1);
    if (!absl::SimpleAtoi(AbslView(num), &idx) || idx < 0 ||
        idx >= kMaxMaildirKeywords || !IsAtom(name) ||
        !kw.At(idx).empty() || kw.IndexOf(name)) {
      continue;
    }
    kw.Set(idx, name);
  }
  return kw;
}

std::string MaildirKeywords::Format() const {
  std::string out;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if (!At(i).empty()) absl::StrAppend(&out, i, " ", names_[i], "\n");
  }
  return out;
}

std::optional<int> MaildirKeywords::IndexOf(std::string_view keyword) const {
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if (!At(i).empty() && EqualsIgnoreCase(At(i), keyword)) return i;
  }
  return std::nullopt;
}

std::string_view MaildirKeywords::NameAt(int index) const {
  if (index < 0 || index >= kMaxMaildirKeywords) return "";
  return At(index);
}

absl::StatusOr<int> MaildirKeywords::Assign(std::string_view keyword) {
  if (!IsAtom(keyword) || keyword[0] == '\\') {
    return absl::InvalidArgumentError("invalid keyword");
  }
  if (std::optional<int> i = IndexOf(keyword)) return *i;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if (At(i).empty()) {
      Set(i, keyword);
      return i;
    }
  }
  return absl::ResourceExhaustedError("too many keywords in this mailbox");
}

std::vector<std::string> MaildirKeywords::NamesOf(uint32_t mask) const {
  std::vector<std::string> out;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if ((mask >> i) & 1 && !At(i).empty()) out.push_back(std::string(At(i)));
  }
  return out;
}

bool MaildirKeywords::empty() const {
  for (const std::string& n : names_) {
    if (!n.empty()) return false;
  }
  return true;
}

absl::StatusOr<MaildirKeywords> ReadKeywordsFile(const std::string& folder) {
  absl::StatusOr<std::string> text = ReadSmallFile(
      absl::StrCat(folder, "/", AbslView(kKeywordsFileName)),
      kMaxKeywordsFileBytes);
  if (absl::IsNotFound(text.status())) return MaildirKeywords();
  if (!text.ok()) return text.status();
  return MaildirKeywords::Parse(*text);
}

absl::StatusOr<MaildirKeywords> AssignKeywordsBlocking(
    const std::string& folder, const std::vector<std::string>& keywords,
    const DotlockOptions& lock_opts) {
  absl::StatusOr<Dotlock> lock = Dotlock::Acquire(
      absl::StrCat(folder, "/", AbslView(kKeywordsFileName)), lock_opts);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<MaildirKeywords> kw = ReadKeywordsFile(folder);
  if (!kw.ok()) return kw.status();
  bool changed = false;
  for (const std::string& k : keywords) {
    bool known = kw->IndexOf(k).has_value();
    absl::StatusOr<int> idx = kw->Assign(k);
    if (!idx.ok()) return idx.status();
    changed |= !known;
  }
  if (!changed) {
    lock->Release();
    return kw;
  }
  absl::Status st = lock->Replace(kw->Format());
  if (!st.ok()) return st;
  return kw;
}

}  // namespace ringmail::storage
