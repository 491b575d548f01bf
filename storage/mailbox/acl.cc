#include "storage/mailbox/acl.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

constexpr std::string_view kLetters = "lrwstipekxa";  // bit i = letter i

bool SameId(const AclEntry& e, AclIdType type, std::string_view name, bool negative) {
  return e.type == type && e.negative == negative && e.name == name;
}

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// "user=bob" -> (kUser, "bob"). False for an unknown identifier.
bool ParseIdentifier(std::string_view id, AclIdType* type, std::string* name) {
  name->clear();
  if (id == "owner") {
    *type = AclIdType::kOwner;
  } else if (id == "anyone" || id == "anonymous") {
    *type = AclIdType::kAnyone;
  } else if (id == "authenticated") {
    *type = AclIdType::kAuthenticated;
  } else if (StartsWith(id, "user=")) {
    *type = AclIdType::kUser;
    name->assign(id.substr(5));
  } else if (StartsWith(id, "group-override=")) {
    *type = AclIdType::kGroupOverride;
    name->assign(id.substr(15));
  } else if (StartsWith(id, "group=")) {
    *type = AclIdType::kGroup;
    name->assign(id.substr(6));
  } else {
    return false;
  }
  const bool named = *type == AclIdType::kUser || *type == AclIdType::kGroup ||
                     *type == AclIdType::kGroupOverride;
  return !named || !name->empty();
}

bool IsControl(char c) {
  return static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7f;
}

// The length ParseAclFile compares with AclLimits::max_identifier: the
// identifier as the file writes it, without the '-' of a negative entry.
size_t IdentifierBytes(AclIdType type, std::string_view name) {
  AclEntry e;
  e.type = type;
  e.name = std::string(name);
  return AclFileIdentifier(e).size();
}

// Dovecot's rights field: letters, optionally followed by named rights
// (":name" or " :name"). False on an unknown letter.
bool ParseRights(std::string_view text, AclRights* rights,
                 std::vector<std::string>* extra) {
  *rights = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\t') {
      ++i;
      continue;
    }
    if (c == ':') {
      size_t end = text.find_first_of(" \t:", i + 1);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view named = text.substr(i + 1, end - i - 1);
      // A control octet would not survive a rewrite: a CR at the end of a
      // line is taken for a CRLF line end, one more per rewrite.
      if (std::any_of(named.begin(), named.end(), IsControl)) return false;
      if (!named.empty()) extra->emplace_back(named);
      i = end;
      continue;
    }
    const AclRights bit = AclRightFromLetter(c);
    if (bit == 0) return false;
    *rights |= bit;
    ++i;
  }
  return true;
}

}  // namespace

std::string AclRightsToLetters(AclRights rights) {
  std::string out;
  for (size_t i = 0; i < kLetters.size(); ++i) {
    if (rights & (1u << i)) out += kLetters[i];
  }
  return out;
}

AclRights AclRightFromLetter(char c) {
  size_t i = kLetters.find(c);
  return i == std::string_view::npos ? 0 : static_cast<AclRights>(1u << i);
}

std::string AclFileIdentifier(const AclEntry& e) {
  std::string id = e.negative ? "-" : "";
  switch (e.type) {
    case AclIdType::kAnyone: id += "anyone"; break;
    case AclIdType::kAuthenticated: id += "authenticated"; break;
    case AclIdType::kOwner: id += "owner"; break;
    case AclIdType::kUser: absl::StrAppend(&id, "user=", AbslView(e.name)); break;
    case AclIdType::kGroup: absl::StrAppend(&id, "group=", AbslView(e.name)); break;
    case AclIdType::kGroupOverride:
      absl::StrAppend(&id, "group-override=", AbslView(e.name));
      break;
  }
  return id;
}

absl::StatusOr<AclFile> ParseAclFile(std::string_view text, const AclLimits& limits) {
  AclFile file;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line.remove_prefix(start);
    size_t sp = line.find_first_of(" \t");
    std::string_view id = line.substr(0, sp);
    std::string_view rights_text =
        sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    AclEntry e;
    if (!id.empty() && id[0] == '-') {
      e.negative = true;
      id.remove_prefix(1);
    }
    if (id.size() > limits.max_identifier ||
        !ParseIdentifier(id, &e.type, &e.name) ||
        !ParseRights(rights_text, &e.rights, &e.extra)) {
      continue;  // Dovecot skips (and logs) lines it cannot parse
    }
    // A repeated identifier: the later line wins, like a SETACL would.
    RemoveAclEntry(&file, e.type, e.name, e.negative);
    if (file.entries.size() >= limits.max_entries) {
      return absl::InvalidArgumentError("too many ACL entries");
    }
    file.entries.push_back(std::move(e));
  }
  return file;
}

std::string SerializeAclFile(const AclFile& file) {
  std::string out;
  for (const AclEntry& e : file.entries) {
    absl::StrAppend(&out, AclFileIdentifier(e), " ", AclRightsToLetters(e.rights));
    for (const std::string& x : e.extra) absl::StrAppend(&out, " :", x);
    out += '\n';
  }
  return out;
}

AclRights EvaluateAcl(const AclFile& file, const AclSubject& who) {
  // Per identifier type: did any entry match, and what it grants/denies.
  constexpr int kTypes = static_cast<int>(AclIdType::kGroupOverride) + 1;
  bool matched[kTypes] = {};
  AclRights pos[kTypes] = {};
  AclRights neg[kTypes] = {};
  for (const AclEntry& e : file.entries) {
    bool match = false;
    switch (e.type) {
      case AclIdType::kAnyone: match = true; break;
      case AclIdType::kAuthenticated: match = true; break;  // no anonymous login
      case AclIdType::kOwner: match = who.is_owner; break;
      case AclIdType::kUser: match = e.name == who.user; break;
      case AclIdType::kGroup:
      case AclIdType::kGroupOverride: match = false; break;  // no groups
    }
    // Dovecot (acl-api.c acl_object_rebuild_cache): "we're the owner. skip
    // over all rights entries until we reach ACL_ID_OWNER" -- sharing a
    // folder with anyone never takes the owner's own rights away.
    if (who.is_owner && e.type < AclIdType::kOwner) match = false;
    if (!match) continue;
    const int t = static_cast<int>(e.type);
    matched[t] = true;
    (e.negative ? neg[t] : pos[t]) |= e.rights;
  }
  bool any = false;
  AclRights granted = 0, denied = 0;
  for (int t = 0; t < kTypes; ++t) {
    if (!matched[t]) continue;
    // A more specific identifier type replaces what the others gave.
    any = true;
    granted = pos[t];
    denied = neg[t];
  }
  if (!any) return who.is_owner ? kAclAllRights : 0;
  return granted & static_cast<AclRights>(~denied);
}

absl::Status SetAclEntry(AclFile* file, AclIdType type, std::string_view name,
                         bool negative, AclRights rights, const AclLimits& limits) {
  // Every read would skip such an entry: a negative one would take nothing
  // away.
  if (IdentifierBytes(type, name) > limits.max_identifier) {
    return absl::InvalidArgumentError("ACL identifier too long");
  }
  for (AclEntry& e : file->entries) {
    if (!SameId(e, type, name, negative)) continue;
    if (rights == 0 && e.extra.empty()) {
      RemoveAclEntry(file, type, name, negative);
    } else {
      e.rights = rights;
    }
    return absl::OkStatus();
  }
  if (rights == 0) return absl::OkStatus();
  if (file->entries.size() >= limits.max_entries) {
    return absl::InvalidArgumentError("too many ACL entries");
  }
  AclEntry e;
  e.type = type;
  e.name = std::string(name);
  e.negative = negative;
  e.rights = rights;
  file->entries.push_back(std::move(e));
  return absl::OkStatus();
}

bool RemoveAclEntry(AclFile* file, AclIdType type, std::string_view name,
                    bool negative) {
  auto it = std::find_if(file->entries.begin(), file->entries.end(),
                         [&](const AclEntry& e) { return SameId(e, type, name, negative); });
  if (it == file->entries.end()) return false;
  file->entries.erase(it);
  return true;
}

absl::StatusOr<AclFile> ReadAclFileBlocking(const std::string& folder_dir,
                                            const AclLimits& limits) {
  absl::StatusOr<std::string> text = ReadSmallFile(
      absl::StrCat(folder_dir, "/", AbslView(kAclFileName)), limits.max_file_bytes);
  if (absl::IsNotFound(text.status())) return AclFile();
  if (!text.ok()) return text.status();
  return ParseAclFile(*text, limits);
}

absl::StatusOr<AclFile> UpdateAclFileBlocking(
    const std::string& folder_dir, const AclLimits& limits,
    const DotlockOptions& lock_opts,
    const std::function<absl::Status(AclFile*)>& edit) {
  const std::string path = absl::StrCat(folder_dir, "/", AbslView(kAclFileName));
  absl::StatusOr<Dotlock> lock = Dotlock::Acquire(path, lock_opts);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<AclFile> file = ReadAclFileBlocking(folder_dir, limits);
  if (!file.ok()) return file.status();
  absl::Status st = edit(&*file);
  if (!st.ok()) return st;  // the lock is released by its destructor
  if (file->entries.empty()) {
    // Back to the default (owner-only): no file at all, as Dovecot leaves it.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::UnavailableError(SyscallError("unlink " + path, -errno));
    }
    lock->Release();
    return file;
  }
  st = lock->Replace(SerializeAclFile(*file));
  if (!st.ok()) return st;
  return file;
}

}  // namespace ringmail::storage
