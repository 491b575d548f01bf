// RFC 4314 (IMAP ACL) on the wire: rights strings with the obsolete "c"
// and "d" (§2.1.1), identifiers, and the ACL / LISTRIGHTS / MYRIGHTS
// responses; plus the NAMESPACE reply with a shared namespace (RFC 2342).
// Pure: rights are letters here; the server maps them to storage bits.
#ifndef RINGMAIL_PROTOCOLS_IMAP_ACL_H_
#define RINGMAIL_PROTOCOLS_IMAP_ACL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringmail::imap {

// The standard rights in RFC 4314 §2.1 order.
inline constexpr std::string_view kAclRightLetters = "lrwstipekxa";
// RFC 4314 §3: the capability naming the rights beyond RFC 2086 that the
// server implements (all of t, e, x, k). For RFC 2086 clients "c" stands
// for k+x and "d" for e+t (§2.1.1, grouped as Dovecot does).
inline constexpr std::string_view kRightsCapability = "RIGHTS=texk";
// Longest rights argument accepted (every letter a few times over).
inline constexpr size_t kMaxRightsArg = 64;

enum class RightsMod : uint8_t { kReplace, kAdd, kRemove };

struct RightsChange {
  RightsMod mod = RightsMod::kReplace;
  // Canonical standard letters (subset of kAclRightLetters, in its
  // order); "c" and "d" already expanded.
  std::string letters;
};

// SETACL's rights argument (§3.1): an optional "+" or "-", then letters.
// False with `error` set for an unknown right or an over-long argument
// (the caller answers BAD).
bool ParseRightsChange(std::string_view text, RightsChange* out, std::string* error);

// Letters in canonical order from any order/duplicates; unknown dropped.
std::string CanonicalRights(std::string_view letters);

// The rights as sent in ACL and MYRIGHTS responses: the letters, plus
// "c" when k or x is present and "d" when e or t is (§2.1.1: "when any of
// the member rights is set ... the server MUST also include" them).
std::string RightsForResponse(std::string_view letters);

struct AclIdentifier {
  enum class Kind : uint8_t { kAnyone, kAuthenticated, kOwner, kUser, kGroup };
  Kind kind = Kind::kUser;
  std::string name;  // user or group; empty otherwise
  bool negative = false;
};

// §3.1 identifier: "anyone", "authenticated", "$group" (Dovecot's group
// prefix), a user name; "-" in front makes it negative (§2). The owner's
// own name and the word "owner" both mean the owner. False (with `error`)
// for an empty or over-long identifier.
bool ParseAclIdentifier(std::string_view id, std::string_view owner,
                        AclIdentifier* out, std::string* error);
// The identifier as responses show it (the owner as `owner`'s name).
std::string FormatAclIdentifier(const AclIdentifier& id, std::string_view owner);

// An astring: an atom when it can be one, else quoted or a literal.
void AppendAstring(std::string* out, std::string_view s);

// "* ACL <mailbox> <id> <rights> ..." (§3.6); rights already formatted.
void AppendAclResponse(std::string* out, std::string_view mailbox,
                       const std::vector<std::pair<std::string, std::string>>& entries);
// "* LISTRIGHTS <mailbox> <id> "" l r w s t p i e k x a c d" (§3.7): no
// right is always granted and each may be granted on its own (as Dovecot).
void AppendListRights(std::string* out, std::string_view mailbox,
                      std::string_view identifier);
// "* MYRIGHTS <mailbox> <rights>" (§3.8); rights already formatted.
void AppendMyRights(std::string* out, std::string_view mailbox, std::string_view rights);

// "* NAMESPACE ((<personal> <d>)) NIL ((<shared> <d>))".
void AppendNamespaceWithShared(std::string* out, std::string_view personal,
                               std::string_view shared, char delimiter);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_ACL_H_
