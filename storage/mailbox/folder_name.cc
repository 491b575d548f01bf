#include "storage/mailbox/folder_name.h"

#include <cassert>

#include "common/mutf7.h"
#include "common/utf8.h"

namespace ringmail::storage {
namespace {

absl::Status Bad(std::string_view why) {
  return absl::InvalidArgumentError(std::string(why));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::string_view SpecialUseAttribute(SpecialUse use) {
  switch (use) {
    case SpecialUse::kSent: return "\\Sent";
    case SpecialUse::kDrafts: return "\\Drafts";
    case SpecialUse::kTrash: return "\\Trash";
    case SpecialUse::kJunk: return "\\Junk";
    case SpecialUse::kArchive: return "\\Archive";
    case SpecialUse::kNone: break;
  }
  return "";
}

const std::vector<DefaultFolder>& DefaultSpecialUseFolders() {
  static const std::vector<DefaultFolder> kFolders = {
      {"Drafts", SpecialUse::kDrafts}, {"Sent", SpecialUse::kSent},
      {"Trash", SpecialUse::kTrash},   {"Junk", SpecialUse::kJunk},
      {"Archive", SpecialUse::kArchive},
  };
  return kFolders;
}

SpecialUse SpecialUseOf(std::string_view name) {
  for (const DefaultFolder& f : DefaultSpecialUseFolders()) {
    if (f.name == name) return f.use;
  }
  return SpecialUse::kNone;
}

bool IsInboxName(std::string_view name) {
  return EqualsIgnoreCase(name, "INBOX");
}

std::vector<std::string> SplitFolderName(std::string_view name,
                                         const FolderNameOptions& opts) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = name.find(opts.delimiter, start);
    parts.emplace_back(name.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

std::string CanonicalFolderName(std::string_view name,
                                const FolderNameOptions& opts) {
  std::string out(name);
  size_t first = name.find(opts.delimiter);
  if (IsInboxName(name.substr(0, first))) out.replace(0, 5, "INBOX");
  return out;
}

absl::Status ValidateFolderName(std::string_view name,
                                const FolderNameOptions& opts) {
  assert(opts.delimiter == '/' || opts.delimiter == '.');
  if (name.empty()) return Bad("empty mailbox name");
  if (name.size() > kMaxFolderNameBytes) return Bad("mailbox name too long");
  if (name[0] == '~') return Bad("mailbox name must not start with '~'");
  if (!common::IsValidUtf8(name)) return Bad("mailbox name is not valid UTF-8");
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return Bad("control character in mailbox name");
    if (c == '*' || c == '%') return Bad("wildcard in mailbox name");
    if (opts.delimiter == '.' && c == '/') return Bad("'/' in mailbox name");
  }
  std::vector<std::string> parts = SplitFolderName(name, opts);
  if (parts.size() > kMaxFolderDepth) return Bad("mailbox hierarchy too deep");
  for (const std::string& p : parts) {
    if (p.empty()) return Bad("empty hierarchy level in mailbox name");
    if (p == "." || p == "..") return Bad("'.' or '..' in mailbox name");
    // With '/' shown to clients, '.' is still the on-disk separator.
    if (p.find('.') != std::string::npos) return Bad("'.' in mailbox name");
  }
  if (IsInboxName(name)) return absl::OkStatus();
  size_t dir_bytes = 0;
  for (const std::string& p : parts) {
    absl::StatusOr<std::string> enc = EncodeFolderLevel(p);
    if (!enc.ok()) return Bad("mailbox name is not valid UTF-8");
    dir_bytes += 1 + enc->size();
  }
  if (dir_bytes > kMaxFolderDirNameBytes) return Bad("mailbox name too long");
  return absl::OkStatus();
}

absl::StatusOr<std::string> FolderDirName(std::string_view name,
                                          const FolderNameOptions& opts) {
  absl::Status st = ValidateFolderName(name, opts);
  if (!st.ok()) return st;
  if (IsInboxName(name)) return std::string();
  std::string dir;
  for (const std::string& p :
       SplitFolderName(CanonicalFolderName(name, opts), opts)) {
    absl::StatusOr<std::string> enc = EncodeFolderLevel(p);
    if (!enc.ok()) return enc.status();
    dir += '.';
    dir += *enc;
  }
  return dir;
}

absl::StatusOr<std::string> FolderNameFromDir(std::string_view dir,
                                              const FolderNameOptions& opts) {
  if (dir.size() < 2 || dir[0] != '.' || dir[1] == '.') {
    return Bad("not a Maildir++ folder");
  }
  if (dir.size() > kMaxFolderDirNameBytes) return Bad("folder name too long");
  std::string name;
  size_t start = 1;
  while (true) {
    size_t pos = dir.find('.', start);
    std::string_view part = dir.substr(start, pos - start);
    if (part.empty()) return Bad("empty hierarchy level");
    absl::StatusOr<std::string> dec = DecodeFolderLevel(part);
    if (!dec.ok()) return dec.status();
    if (dec->find(opts.delimiter) != std::string::npos ||
        dec->find('/') != std::string::npos) {
      return Bad("delimiter inside a hierarchy level");
    }
    if (!name.empty()) name += opts.delimiter;
    name += *dec;
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return name;
}

absl::StatusOr<std::string> EncodeFolderLevel(std::string_view utf8) {
  std::string out;
  const char* why = "invalid UTF-8";
  if (!common::EncodeMutf7(utf8, &out, &why)) return Bad(why);
  return out;
}

absl::StatusOr<std::string> DecodeFolderLevel(std::string_view mutf7) {
  std::string out;
  const char* why = "invalid modified UTF-7";
  if (!common::DecodeMutf7(mutf7, &out, &why)) return Bad(why);
  return out;
}

}  // namespace ringmail::storage
