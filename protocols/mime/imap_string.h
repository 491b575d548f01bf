// IMAP string formatting (RFC 3501 §4.3, §9 "string" / "nstring").
//
// Chooses between a quoted string and a synchronising literal the way
// Dovecot does: quoted when every octet is printable 7-bit (quotes and
// backslashes escaped) and the text is short, otherwise a literal
// "{n}\r\n<octets>". NUL cannot appear in a non-binary literal (RFC 3501
// §4.3), so NUL octets are replaced with 0x80 (Dovecot does the same when it
// parses headers); the literal's length counts the replaced text. No IMAP
// dependencies: the IMAP layer reuses this for every reply string.
#ifndef RINGMAIL_PROTOCOLS_MIME_IMAP_STRING_H_
#define RINGMAIL_PROTOCOLS_MIME_IMAP_STRING_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ringmail::mime {

// Longest text emitted as a quoted string; longer text becomes a literal so
// a client never has to buffer an unbounded quoted token.
inline constexpr size_t kMaxQuotedLength = 1024;

// True when `s` can be sent as a quoted string (printable 7-bit, no CR, LF,
// NUL, at most kMaxQuotedLength octets).
bool CanQuote(std::string_view s);

// Appends `s` as a quoted string if CanQuote(s), else as a literal.
void AppendImapString(std::string* out, std::string_view s);

// Appends `s` as a quoted string; the caller guarantees CanQuote(s).
void AppendImapQuoted(std::string* out, std::string_view s);

// Appends `s` as a literal "{n}\r\n..." (NUL replaced with 0x80).
void AppendImapLiteral(std::string* out, std::string_view s);

// Appends NIL when `s` is null, else AppendImapString(*s).
void AppendImapNString(std::string* out, const std::string* s);
inline void AppendImapNString(std::string* out,
                              const std::optional<std::string>& s) {
  AppendImapNString(out, s ? &*s : nullptr);
}

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_IMAP_STRING_H_
