#include "storage/mailbox/acl_shared_dict.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

// "shared/shared-boxes/user/bob/alice" -> grantee "user/bob", owner
// "alice"; false for keys of other kinds.
bool SplitKey(std::string_view key, std::string_view* grantee, std::string_view* owner) {
  if (key.substr(0, kSharedDictKeyPrefix.size()) != kSharedDictKeyPrefix) return false;
  key.remove_prefix(kSharedDictKeyPrefix.size());
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) {
    return false;
  }
  *grantee = key.substr(0, slash);
  *owner = key.substr(slash + 1);
  return true;
}

}  // namespace

absl::StatusOr<SharedDictPairs> ParseSharedDict(std::string_view text,
                                                const SharedDictLimits& limits) {
  SharedDictPairs pairs;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    if (pairs.size() >= limits.max_pairs) {
      return absl::InvalidArgumentError("shared-mailboxes dictionary too large");
    }
    pairs.emplace_back(std::string(lines[i]), std::string(lines[i + 1]));
  }
  return pairs;
}

std::string SerializeSharedDict(const SharedDictPairs& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) absl::StrAppend(&out, k, "\n", v, "\n");
  return out;
}

std::vector<std::string> SharedDictGrantees(const AclFile& file) {
  std::vector<std::string> out;
  auto denied = [&file](const AclEntry& pos) {
    for (const AclEntry& e : file.entries) {
      if (e.negative && e.type == pos.type && e.name == pos.name &&
          (e.rights & kAclLookup)) {
        return true;
      }
    }
    return false;
  };
  for (const AclEntry& e : file.entries) {
    if (e.negative || !(e.rights & kAclLookup) || denied(e)) continue;
    std::string id;
    if (e.type == AclIdType::kUser) {
      id = absl::StrCat("user/", AbslView(e.name));
    } else if (e.type == AclIdType::kAnyone || e.type == AclIdType::kAuthenticated) {
      id = "anyone";
    } else {
      continue;  // owner needs no entry; groups are not resolved
    }
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(std::move(id));
  }
  return out;
}

std::vector<std::string> OwnersSharingWith(const SharedDictPairs& pairs,
                                           std::string_view user,
                                           const SharedDictLimits& limits) {
  const std::string mine = absl::StrCat("user/", AbslView(user));
  std::vector<std::string> owners;
  for (const auto& [key, value] : pairs) {
    std::string_view grantee, owner;
    if (!SplitKey(key, &grantee, &owner) || owner == user) continue;
    if (grantee != mine && grantee != "anyone") continue;
    owners.emplace_back(owner);
  }
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  if (owners.size() > limits.max_owners) owners.resize(limits.max_owners);
  return owners;
}

absl::StatusOr<SharedDictPairs> ReadSharedDictBlocking(const std::string& path,
                                                       const SharedDictLimits& limits) {
  absl::StatusOr<std::string> text = ReadSmallFile(path, limits.max_file_bytes);
  if (absl::IsNotFound(text.status())) return SharedDictPairs();
  if (!text.ok()) return text.status();
  return ParseSharedDict(*text, limits);
}

absl::Status ReplaceOwnerSharesBlocking(const std::string& path,
                                        std::string_view owner,
                                        const std::vector<std::string>& grantees,
                                        const SharedDictLimits& limits,
                                        const DotlockOptions& lock_opts) {
  absl::StatusOr<Dotlock> lock = Dotlock::Acquire(path, lock_opts);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<SharedDictPairs> pairs = ReadSharedDictBlocking(path, limits);
  if (!pairs.ok()) return pairs.status();
  SharedDictPairs kept;
  for (auto& kv : *pairs) {
    std::string_view grantee, key_owner;
    if (SplitKey(kv.first, &grantee, &key_owner) && key_owner == owner) continue;
    kept.push_back(std::move(kv));
  }
  for (const std::string& g : grantees) {
    if (kept.size() >= limits.max_pairs) {
      return absl::ResourceExhaustedError("shared-mailboxes dictionary full");
    }
    kept.emplace_back(absl::StrCat(AbslView(kSharedDictKeyPrefix), g, "/", AbslView(owner)),
                      "1");
  }
  return lock->Replace(SerializeSharedDict(kept));
}

}  // namespace ringmail::storage
