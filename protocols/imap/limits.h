// Named limits of the IMAP protocol layer. Every buffer and every loop driven
// by client input is bounded by one of these; the per-connection reader state
// never exceeds kMaxCommandLine + kMaxInlineLiteralTotal octets of buffer.
#ifndef RINGMAIL_PROTOCOLS_IMAP_LIMITS_H_
#define RINGMAIL_PROTOCOLS_IMAP_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace ringmail::imap {

// Non-literal octets of one command (RFC 7162 §4 recommends accepting at
// least 8192; Dovecot uses 64 KiB).
inline constexpr size_t kMaxCommandLine = 64 * 1024;
// A longer tag is not copied for the error reply: "*" is used instead.
inline constexpr size_t kMaxTagLength = 64;
// Parenthesised list nesting (SEARCH programs need the most).
inline constexpr size_t kMaxListDepth = 32;
// AST nodes of one command, lists included.
inline constexpr size_t kMaxArgs = 4096;
// Any literal before authentication (LOGIN, AUTHENTICATE with SASL-IR).
inline constexpr uint64_t kMaxPreAuthLiteral = 8 * 1024;
// One buffered (non-APPEND) literal, and all of them in one command.
inline constexpr uint64_t kMaxInlineLiteral = 64 * 1024;
inline constexpr uint64_t kMaxInlineLiteralTotal = 64 * 1024;
// Default APPEND message limit; the server passes its own.
inline constexpr uint64_t kDefaultMaxMessageSize = 64ull * 1024 * 1024;
// A rejected non-synchronising literal up to this size is skipped (costs no
// memory); a larger one means the stream cannot be resynchronised cheaply,
// so the connection is closed.
inline constexpr uint64_t kMaxSkippedLiteral = 64ull * 1024 * 1024;
// Octets of one rejected command (outside literals) discarded before BYE.
inline constexpr size_t kMaxDiscardedLine = 1024 * 1024;
// Consecutive rejected commands before BYE (Dovecot uses 10 as well).
inline constexpr int kMaxConsecutiveErrors = 10;
// Lines read outside command syntax: AUTHENTICATE responses, IDLE's DONE.
inline constexpr size_t kMaxRawLine = 16 * 1024;
// Decoded SASL PLAIN message (authzid NUL authcid NUL password).
inline constexpr size_t kMaxSaslDecoded = 8 * 1024;
// Elements kept by a normalised sequence set before it is refused.
inline constexpr size_t kMaxSequenceRanges = 1024;
// SEARCH program nesting (NOT/OR/parentheses) and total keys.
inline constexpr size_t kMaxSearchDepth = 32;
inline constexpr size_t kMaxSearchKeys = 1024;
// FETCH attributes in one command, HEADER.FIELDS names in one section.
inline constexpr size_t kMaxFetchItems = 64;
inline constexpr size_t kMaxHeaderFields = 64;
// Mailbox names, decoded, in octets; and hierarchy levels.
inline constexpr size_t kMaxMailboxName = 1024;
// Flags in one flag list.
inline constexpr size_t kMaxFlags = 64;
// ID parameter pairs (RFC 2971 §3.3 says 30).
inline constexpr size_t kMaxIdParams = 30;

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_LIMITS_H_
