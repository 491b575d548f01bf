// UIDL strings (RFC 1939 §7) from a Dovecot-style pop3_uidl_format.
//
// Supported variables: %u (IMAP UID, decimal), %v (UIDVALIDITY, decimal),
// %f (the Maildir base file name), %% (a percent sign), and the width /
// hex modifiers of Dovecot: %08Xu, %08Xv, %Xu, %08u ... (a zero-padding
// width of at most 2 digits, then an optional X for hex, printed in lower
// case as Dovecot's var_expand does). The default "%08Xu%08Xv" is
// Dovecot's, so clients migrating from a Dovecot server with the same
// uidlist see the same UIDLs and download nothing twice.
#ifndef RINGMAIL_PROTOCOLS_POP3_UIDL_H_
#define RINGMAIL_PROTOCOLS_POP3_UIDL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmail::pop3 {

inline constexpr std::string_view kDefaultUidlFormat = "%08Xu%08Xv";

struct UidlVars {
  uint32_t uid = 0;
  uint32_t uid_validity = 0;
  std::string_view filename;  // Maildir base name (no ":2," info)
};

// Empty string if `format` is valid, else a one-line reason.
std::string ValidateUidlFormat(std::string_view format);

// Expands a format accepted by ValidateUidlFormat. Octets outside
// 0x21..0x7E (RFC 1939 §7) become '_' and the result is cut to kMaxUidl.
std::string FormatUidl(std::string_view format, const UidlVars& vars);

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_UIDL_H_
