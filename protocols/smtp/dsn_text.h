// Text helpers for the DSN builder: cleaning untrusted text (UTF-8 checks
// are common/utf8.h), the RFC 6533 encoding of UTF-8 addresses, addr-spec quoting and
// line folding. Internal to the dsn library (tested through it and
// directly).
#ifndef RINGMAIL_PROTOCOLS_SMTP_DSN_TEXT_H_
#define RINGMAIL_PROTOCOLS_SMTP_DSN_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::smtp::dsn_internal {

// RFC 5322 §2.1.1: lines must be at most 998 octets; we stay well below.
inline constexpr size_t kFoldColumn = 78;  // preferred line length
inline constexpr size_t kMaxWord = 900;    // longer runs are split

// Appends `s` with control octets (and DEL) replaced by '?', tabs by
// spaces. Non-ASCII is kept when `utf8` and it is valid UTF-8, else '?'.
void AppendClean(std::string_view s, bool utf8, std::string* out);

bool IsAscii(std::string_view s);

// "local@domain" as an RFC 5322 addr-spec: the local part is quoted unless
// it is a dot-atom. The domain is split off at the last '@'; an address
// without '@' (e.g. "postmaster") is treated as a local part.
std::string AddrSpec(std::string_view canonical);

// RFC 6533 §3 utf-8-addr-xtext: printable ASCII except '+', '=', '\'
// stands for itself, every other character is "\x{HEX}" (invalid UTF-8
// octets become U+FFFD). 7-bit.
std::string Utf8AddrXtext(std::string_view addr);

// Appends "name: value\n", folded at spaces before kFoldColumn where
// possible (RFC 5322 §2.2.3); runs longer than kMaxWord are split with a
// fold. `value` must already be clean (no CR/LF).
void AppendFoldedField(std::string_view name, std::string_view value,
                       std::string* out);

// Appends `text` (clean, one paragraph, no LF) wrapped at kFoldColumn,
// continuation lines indented by four spaces, ending in LF.
void AppendWrapped(std::string_view text, std::string* out);

}  // namespace ringmail::smtp::dsn_internal

#endif  // RINGMAIL_PROTOCOLS_SMTP_DSN_TEXT_H_
