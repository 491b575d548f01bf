// Modified UTF-7 (RFC 3501 §5.1.3): the encoding of IMAP mailbox names
// without UTF8=ACCEPT, and of folder names on disk in Dovecot's Maildir++
// layout (unless `UTF8` is set in mail_location). The one codec for both:
// protocols/imap (names on the wire) and storage/mailbox (names on disk).
// Pure functions, thread-safe.
#ifndef RINGMAIL_COMMON_MUTF7_H_
#define RINGMAIL_COMMON_MUTF7_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::common {

// Longest input, and longest result, either function accepts (bounded
// work on hostile input; a result over it fails too, so that whatever one
// function accepts the other accepts back).
inline constexpr size_t kMaxMutf7InputBytes = 16 * 1024;

// UTF-8 -> modified UTF-7 into *out (replaced). False on malformed UTF-8
// (common/utf8.h) or an input or result over kMaxMutf7InputBytes; then *why, if
// given, names the reason (a static string).
bool EncodeMutf7(std::string_view utf8, std::string* out,
                 const char** why = nullptr);

// Modified UTF-7 -> UTF-8 into *out (replaced), strict like Dovecot's
// imap_utf7_to_utf8: rejects octets outside printable ASCII, "&" runs not
// terminated by '-', empty runs ("&-" is the only way to write "&"),
// printable ASCII or U+0000 inside a run, two adjacent runs, non-zero
// padding bits, lone or misordered surrogates, and inputs or results over
// kMaxMutf7InputBytes. Those are exactly the non-canonical forms, so
// Decode(Encode(x)) == x and Encode(Decode(y)) == y for every accepted y.
// On failure *why, if given, names the reason (a static string).
bool DecodeMutf7(std::string_view mutf7, std::string* out,
                 const char** why = nullptr);

}  // namespace ringmail::common

#endif  // RINGMAIL_COMMON_MUTF7_H_
