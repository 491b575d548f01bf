// Modified UTF-7 mailbox names (RFC 3501 §5.1.3) <-> UTF-8.
#ifndef RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_
#define RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_

#include <string>
#include <string_view>

namespace ringmail::imap {

// UTF-8 -> modified UTF-7. Fails (false) on invalid UTF-8.
bool Utf8ToMutf7(std::string_view utf8, std::string* out);

// Modified UTF-7 -> UTF-8 with strict validation, as Dovecot does: rejects
// 8-bit octets, unterminated "&...", "&" sequences encoding only printable
// ASCII or empty ("&-" is the only way to write "&"), two adjacent encoded
// runs, non-zero padding bits, lone or misordered surrogates. Those are
// exactly the non-canonical forms, so Decode(Encode(x)) == x and
// Encode(Decode(y)) == y for every accepted y.
bool Mutf7ToUtf8(std::string_view mutf7, std::string* out);

// Validates UTF-8 (no overlongs, surrogates or values > U+10FFFF).
bool IsValidUtf8(std::string_view s);

// A mailbox name as sent by the client, to UTF-8: with UTF8=ACCEPT enabled
// (RFC 6855 §3) names are UTF-8 as they stand; otherwise they are modified
// UTF-7.
bool MailboxNameToUtf8(std::string_view wire, bool utf8_accept,
                       std::string* out);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_
