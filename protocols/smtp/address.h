// Envelope address (Path) parsing per RFC 5321 §4.1.2, zero-copy.
//
// ParsePath works on a view of the command line and returns views into it;
// the canonical forms (unquoted local part, lower-cased domain) are written
// into fixed buffers inside EnvelopeAddress, so parsing never allocates.
// An EnvelopeAddress's views into the line are only valid while the line is.
#ifndef RINGMAIL_PROTOCOLS_SMTP_ADDRESS_H_
#define RINGMAIL_PROTOCOLS_SMTP_ADDRESS_H_

#include <array>
#include <cstddef>
#include <string_view>

namespace ringmail::smtp {

// RFC 5321 §4.5.3.1.1-3.
inline constexpr size_t kMaxLocalPart = 64;
inline constexpr size_t kMaxDomain = 255;
inline constexpr size_t kMaxPath = 256;  // including "<" and ">"

enum class PathKind {
  kReversePath,  // MAIL FROM: "<>" allowed
  kForwardPath,  // RCPT TO: "<postmaster>" allowed
};

enum class AddressError {
  kOk,
  kSyntax,       // not a Path
  kTooLong,      // a §4.5.3.1 length limit exceeded
  kUtf8NotAllowed,  // non-ASCII without SMTPUTF8 (RFC 6531 §3.4)
  kBadUtf8,      // malformed UTF-8 even though SMTPUTF8 was given
};

struct EnvelopeAddress {
  // "<>" (reverse-path only). All views are empty.
  bool null_path = false;
  // "<postmaster>" without a domain (forward-path only, RFC 5321 §4.1.1.3):
  // local() == "postmaster", domain_lower() empty.
  bool postmaster = false;
  bool utf8 = false;               // contains non-ASCII octets
  std::string_view wire;           // the Path text without "<" ">" and source route
  std::string_view local_wire;     // local part as sent (quotes included)
  std::string_view domain_wire;    // domain or "[address-literal]" as sent

  // Canonical local part: quotes and quoted-pairs removed, so "a.b"@x and
  // a.b@x are the same mailbox. Case is preserved (§2.4: local parts are
  // case-sensitive; lookups may fold).
  std::string_view local() const { return {local_buf.data(), local_len}; }
  // Domain lower-cased (ASCII only) for lookup; domains are case-insensitive.
  std::string_view domain_lower() const { return {domain_buf.data(), domain_len}; }

  std::array<char, kMaxLocalPart> local_buf{};
  size_t local_len = 0;
  std::array<char, kMaxDomain> domain_buf{};
  size_t domain_len = 0;
};

// Parses exactly one Path (the whole of `path`, which must start with '<'
// and end with '>'). `allow_utf8` is true when the transaction used the
// SMTPUTF8 MAIL parameter. On error *out is unspecified.
AddressError ParsePath(std::string_view path, PathKind kind, bool allow_utf8,
                       EnvelopeAddress* out);

// True if `s` is a syntactically valid Domain (RFC 5321 §4.1.2) or
// address-literal; used for HELO/EHLO arguments too.
bool IsValidDomain(std::string_view s, bool allow_utf8);
bool IsValidAddressLiteral(std::string_view s);

// RFC 5322 §3.2.3 atext; with `utf8`, RFC 6531 §3.3 adds UTF8-non-ascii
// (any octet >= 0x80; UTF-8 validity is checked separately).
bool IsAtext(unsigned char c, bool utf8);
// RFC 5321 §4.1.2 Dot-string = Atom *("." Atom) (the same shape as RFC 5322
// dot-atom-text), atoms of IsAtext(c, utf8).
bool IsDotString(std::string_view s, bool utf8);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_ADDRESS_H_
