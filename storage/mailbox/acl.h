// Access control lists of folders (RFC 4314 rights) stored in Dovecot's
// `dovecot-acl` file ("vfile" backend) inside the folder's directory, so
// the same Maildir tree keeps its ACLs under Dovecot.
//
// File format (Dovecot acl-backend-vfile.c), one entry per line:
//
//     <identifier> <rights>
//
// identifier: `owner`, `user=NAME`, `group=NAME`, `group-override=NAME`,
// `authenticated`, `anyone` (also `anonymous`); a leading `-` makes the
// entry negative (rights taken away). rights: letters `lrwstipekxa`;
// Dovecot's named rights (`:name`, after a space or colon) are kept on
// rewrite but grant nothing here. `#` lines and blank lines are ignored.
//
// Evaluation follows Dovecot (acl-api.c acl_object_rebuild_cache): the
// matching entries are applied by identifier type in the order anyone,
// authenticated, group, owner, user, group-override; a type with any
// matching entry REPLACES what the lower types gave (positive and negative
// rights alike). For the owner, entries below `owner` (anyone,
// authenticated, groups) are skipped, so sharing a folder never restricts
// its owner. A user matching no entry at all gets the backend default:
// the owner has every right, anyone else none (Dovecot's default ACL,
// acl_backend_get_default_rights). A folder without a dovecot-acl file is
// therefore owner-only. Groups are parsed and kept but never match: ringmail
// has no group membership.
#ifndef RINGMAIL_STORAGE_MAILBOX_ACL_H_
#define RINGMAIL_STORAGE_MAILBOX_ACL_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/mailbox/dotlock.h"

namespace ringmail::storage {

inline constexpr std::string_view kAclFileName = "dovecot-acl";

// RFC 4314 §2.1 rights as bits.
enum AclRight : uint16_t {
  kAclLookup = 1 << 0,        // l
  kAclRead = 1 << 1,          // r
  kAclWrite = 1 << 2,         // w: flags other than \Seen and \Deleted
  kAclWriteSeen = 1 << 3,     // s
  kAclWriteDeleted = 1 << 4,  // t
  kAclInsert = 1 << 5,        // i
  kAclPost = 1 << 6,          // p
  kAclExpunge = 1 << 7,       // e
  kAclCreate = 1 << 8,        // k
  kAclDelete = 1 << 9,        // x
  kAclAdmin = 1 << 10,        // a
};
using AclRights = uint16_t;
inline constexpr AclRights kAclAllRights = (1 << 11) - 1;

// The letters of `rights` in RFC 4314 / Dovecot order "lrwstipekxa".
std::string AclRightsToLetters(AclRights rights);
// One letter's bit, or 0 for a letter that is not a standard right.
AclRights AclRightFromLetter(char c);

enum class AclIdType : uint8_t {
  // In evaluation priority order (lowest first), as Dovecot sorts them.
  kAnyone,
  kAuthenticated,
  kGroup,
  kOwner,
  kUser,
  kGroupOverride,
};

struct AclEntry {
  AclIdType type = AclIdType::kAnyone;
  std::string name;  // user or group name; empty for the other types
  bool negative = false;
  AclRights rights = 0;
  // Dovecot named rights (":name") we do not interpret, kept verbatim
  // (without the colon) so a rewrite does not lose them.
  std::vector<std::string> extra;
};

// The whole file. Entries are unique by (type, name, negative).
struct AclFile {
  std::vector<AclEntry> entries;
};

struct AclLimits {
  size_t max_file_bytes = 64 << 10;
  size_t max_entries = 1024;
  size_t max_identifier = 256;
};

// Parses a dovecot-acl file. Lines that cannot be understood (unknown
// identifier type, an identifier longer than limits.max_identifier, bad
// right letter, a control octet in a named right) are skipped, as Dovecot
// logs and skips them; InvalidArgument only for exceeding `limits`
// (entries). Parse(Serialize(f)) == f for every f it returns.
absl::StatusOr<AclFile> ParseAclFile(std::string_view text, const AclLimits& limits);
// The file's text: one line per entry, in `entries` order.
std::string SerializeAclFile(const AclFile& file);

// "owner", "user=bob", "-anyone": the identifier as the file writes it.
std::string AclFileIdentifier(const AclEntry& e);

// Who is asking.
struct AclSubject {
  std::string user;       // login name as in the passwd-file
  bool is_owner = false;  // `user` owns the folder
};

// The rights `who` has on a folder with `file` (see the file comment).
AclRights EvaluateAcl(const AclFile& file, const AclSubject& who);

// Sets (replaces) the entry for (type, name, negative); rights 0 removes
// it. InvalidArgument, and `file` unchanged, beyond limits.max_entries or
// for an identifier longer than limits.max_identifier (ParseAclFile would
// skip the entry).
absl::Status SetAclEntry(AclFile* file, AclIdType type, std::string_view name,
                         bool negative, AclRights rights, const AclLimits& limits);
// Removes the entry; false if there was none.
bool RemoveAclEntry(AclFile* file, AclIdType type, std::string_view name,
                    bool negative);

// BLOCKING. Reads <folder_dir>/dovecot-acl. A missing file is an empty
// AclFile (owner-only); ResourceExhausted above limits.max_file_bytes.
absl::StatusOr<AclFile> ReadAclFileBlocking(const std::string& folder_dir,
                                            const AclLimits& limits);

// BLOCKING. Read-modify-write of <folder_dir>/dovecot-acl under its
// dotlock (Dovecot locks the file the same way): `edit` changes the parsed
// file and returns an error to abort without writing. An empty result
// removes the file (the folder goes back to owner-only). Returns the file
// as written.
absl::StatusOr<AclFile> UpdateAclFileBlocking(
    const std::string& folder_dir, const AclLimits& limits,
    const DotlockOptions& lock,
    const std::function<absl::Status(AclFile*)>& edit);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_ACL_H_
