// xtext (RFC 3461 §4), the encoding of the DSN parameters ENVID and ORCPT:
// printable ASCII except '+' and '=' stands for itself, every other octet is
// "+XX" with two upper-case hex digits.
#ifndef RINGMAIL_PROTOCOLS_SMTP_XTEXT_H_
#define RINGMAIL_PROTOCOLS_SMTP_XTEXT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ringmail::smtp {

// RFC 3461 §4.4: an ENVID is at most 100 characters (the server checks the
// decoded value, the client the xtext it sends).
inline constexpr size_t kMaxEnvidLength = 100;
// RFC 3461 §4.2: the whole ORCPT value ("addr-type;xtext") is at most 500
// characters.
inline constexpr size_t kMaxOrcptLength = 500;

// Encodes any octet string; the result is printable ASCII.
std::string XtextEncode(std::string_view raw);

// Decodes xtext. nullopt when `xtext` has an octet outside '!'..'~', a bare
// '=' or a '+' not followed by two hex digits. Like Postfix, lower-case hex
// digits are accepted although RFC 3461 §4 asks senders for upper case.
std::optional<std::string> XtextDecode(std::string_view xtext);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_XTEXT_H_
