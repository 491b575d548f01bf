// Modified UTF-7 (RFC 3501 §5.1.3), the on-disk encoding Dovecot's Maildir++
// layout uses for folder names (unless `UTF8` is set in mail_location).
//
// storage/ must not depend on protocols/, so this small codec lives here;
// the IMAP layer may reuse it. Pure functions, thread-safe.
#ifndef RINGMAIL_STORAGE_MAILBOX_MUTF7_H_
#define RINGMAIL_STORAGE_MAILBOX_MUTF7_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringmail::storage {

// Longest input either function accepts (bounded memory on hostile input).
inline constexpr size_t kMaxMutf7InputBytes = 16 * 1024;

// UTF-8 -> modified UTF-7. InvalidArgument on malformed UTF-8 (overlong,
// surrogates, > U+10FFFF, truncated) or over-long input.
absl::StatusOr<std::string> EncodeMutf7(std::string_view utf8);

// Modified UTF-7 -> UTF-8. Strict like Dovecot's imap_utf7_to_utf8: rejects
// printable ASCII inside a shifted run's encoding of itself, "&" runs that
// are not terminated by '-', non-zero padding bits, bad surrogates, raw
// bytes >= 0x80 or control characters. InvalidArgument on any of those.
absl::StatusOr<std::string> DecodeMutf7(std::string_view mutf7);

// True if `utf8` is valid UTF-8 (same rules as EncodeMutf7).
bool IsValidUtf8(std::string_view utf8);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_MUTF7_H_
