// libFuzzer: ParseAclFile on arbitrary dovecot-acl contents (written by
// Dovecot, doveadm, or a user with shell access; read before every command
// that names a mailbox), then SerializeAclFile, EvaluateAcl, SetAclEntry
// and RemoveAclEntry on the result.
//
// The first input octet picks small limits (so the entry and identifier
// limits are reached) or the defaults, and the rights and subject used
// below; the rest is the file.
//
// Invariants: a failure is InvalidArgument (too many entries); entries are
// unique by (type, name, negative), named types (user, group,
// group-override) have a name and the others none, names and named rights
// hold no blank or line end, rights are within kAclAllRights; Parse(
// Serialize(f)) == f and Serialize is then a fixed point; EvaluateAcl
// equals a reference written from the rules in acl.h (Dovecot's
// acl_object_rebuild_cache) for the owner, for a user named in the file and
// for a stranger; SetAclEntry then EvaluateAcl agree, and the file still
// round-trips; SetAclEntry refuses (InvalidArgument, file unchanged)
// exactly a new entry beyond max_entries or an identifier beyond
// max_identifier (one every read would skip).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/mailbox/acl.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::storage::AclEntry;
using ringmail::storage::AclFile;
using ringmail::storage::AclIdType;
using ringmail::storage::AclLimits;
using ringmail::storage::AclRights;
using ringmail::storage::AclSubject;
using ringmail::storage::EvaluateAcl;
using ringmail::storage::kAclAllRights;
using ringmail::storage::ParseAclFile;
using ringmail::storage::RemoveAclEntry;
using ringmail::storage::SerializeAclFile;
using ringmail::storage::SetAclEntry;

bool Named(AclIdType t) {
  return t == AclIdType::kUser || t == AclIdType::kGroup || t == AclIdType::kGroupOverride;
}

bool Same(const AclFile& a, const AclFile& b) {
  if (a.entries.size() != b.entries.size()) return false;
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const AclEntry& x = a.entries[i];
    const AclEntry& y = b.entries[i];
    if (x.type != y.type || x.name != y.name || x.negative != y.negative ||
        x.rights != y.rights || x.extra != y.extra) {
      return false;
    }
  }
  return true;
}

// acl.h's rules, written independently: per identifier type in priority
// order, the highest type with a matching entry decides (its positive
// rights minus its negative ones); the owner skips the types below kOwner;
// groups never match; no match at all gives the default (owner: all).
AclRights Reference(const AclFile& f, const AclSubject& who) {
  static constexpr AclIdType kOrder[] = {
      AclIdType::kGroupOverride, AclIdType::kUser,          AclIdType::kOwner,
      AclIdType::kGroup,         AclIdType::kAuthenticated, AclIdType::kAnyone};
  for (AclIdType t : kOrder) {
    if (who.is_owner && t < AclIdType::kOwner) break;
    bool matched = false;
    AclRights pos = 0, neg = 0;
    for (const AclEntry& e : f.entries) {
      if (e.type != t) continue;
      const bool match =
          t == AclIdType::kAnyone || t == AclIdType::kAuthenticated ||
          (t == AclIdType::kOwner && who.is_owner) ||
          (t == AclIdType::kUser && e.name == who.user);
      if (!match) continue;
      matched = true;
      (e.negative ? neg : pos) |= e.rights;
    }
    if (matched) return pos & static_cast<AclRights>(~neg);
  }
  return who.is_owner ? kAclAllRights : 0;
}

void CheckFile(const AclFile& f, const AclLimits& limits) {
  FUZZ_CHECK(f.entries.size() <= limits.max_entries);
  for (size_t i = 0; i < f.entries.size(); ++i) {
    const AclEntry& e = f.entries[i];
    FUZZ_CHECK(Named(e.type) == !e.name.empty());
    FUZZ_CHECK(e.name.find_first_of(" \t\n") == std::string::npos);
    FUZZ_CHECK((e.rights & ~kAclAllRights) == 0);
    for (const std::string& x : e.extra) {
      FUZZ_CHECK(!x.empty() && x.find_first_of(" \t:\n") == std::string::npos);
    }
    for (size_t j = 0; j < i; ++j) {
      const AclEntry& o = f.entries[j];
      FUZZ_CHECK(o.type != e.type || o.name != e.name || o.negative != e.negative);
    }
  }
  const std::string text = SerializeAclFile(f);
  const absl::StatusOr<AclFile> again = ParseAclFile(text, limits);
  FUZZ_CHECK(again.ok() && Same(f, *again));
  FUZZ_CHECK(SerializeAclFile(*again) == text);
}

void CheckRights(const AclFile& f) {
  std::vector<AclSubject> who = {{"owner@example.com", true},
                                 {"stranger@example.com", false}};
  for (const AclEntry& e : f.entries) {
    if (e.type == AclIdType::kUser && who.size() < 8) {
      who.push_back({e.name, false});
      who.push_back({e.name, true});
    }
  }
  for (const AclSubject& s : who) {
    const AclRights r = EvaluateAcl(f, s);
    FUZZ_CHECK((r & ~kAclAllRights) == 0);
    FUZZ_CHECK(r == Reference(f, s));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  AclLimits limits;
  if (data[0] & 1) {
    limits.max_entries = 6;
    limits.max_identifier = 12;
    limits.max_file_bytes = 1024;
  }
  const AclRights set_rights = static_cast<AclRights>((data[1] << 8 | data[2]) & kAclAllRights);
  const bool set_negative = data[0] & 2;
  const std::string_view text(reinterpret_cast<const char*>(data) + 3, size - 3);

  absl::StatusOr<AclFile> parsed = ParseAclFile(text, limits);
  if (!parsed.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(parsed.status()));
    return 0;
  }
  AclFile& f = *parsed;
  CheckFile(f, limits);
  CheckRights(f);

  // SETACL / DELETEACL as the IMAP commands do them, on the first entry's
  // identifier (or a new user: "user=new@example.com" is beyond the small
  // max_identifier, "user=new" within it), then the file must still be
  // sound.
  AclIdType type = AclIdType::kUser;
  std::string name = (data[0] & 8) ? "new" : "new@example.com";
  if (!f.entries.empty() && (data[0] & 4)) {
    type = f.entries[0].type;
    name = f.entries[0].name;
  }
  AclEntry id;
  id.type = type;
  id.name = name;
  const bool id_too_long =
      ringmail::storage::AclFileIdentifier(id).size() > limits.max_identifier;
  bool exists = false;
  for (const AclEntry& e : f.entries) {
    if (e.type == type && e.name == name && e.negative == set_negative) exists = true;
  }
  const bool too_many = !exists && set_rights != 0 && f.entries.size() >= limits.max_entries;
  const std::string text_before = SerializeAclFile(f);
  const absl::Status st = SetAclEntry(&f, type, name, set_negative, set_rights, limits);
  FUZZ_CHECK(st.ok() == !(id_too_long || too_many));
  if (!st.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(st) && SerializeAclFile(f) == text_before);
    return 0;
  }
  const AclEntry* found = nullptr;
  for (const AclEntry& e : f.entries) {
    if (e.type == type && e.name == name && e.negative == set_negative) found = &e;
  }
  if (found != nullptr) {
    FUZZ_CHECK(found->rights == set_rights);
  } else {
    FUZZ_CHECK(set_rights == 0);
  }
  CheckFile(f, limits);
  CheckRights(f);
  if (RemoveAclEntry(&f, type, name, set_negative)) FUZZ_CHECK(found != nullptr);
  CheckFile(f, limits);
  CheckRights(f);
  return 0;
}
