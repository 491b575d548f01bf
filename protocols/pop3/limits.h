// Named limits of the POP3 protocol layer. Everything a client can make the
// server buffer or repeat is bounded here.
#ifndef RINGMAIL_PROTOCOLS_POP3_LIMITS_H_
#define RINGMAIL_PROTOCOLS_POP3_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace ringmail::pop3 {

// RFC 2449 §4: a command line is at most 255 octets including CRLF.
inline constexpr size_t kMaxCommandLine = 255;
// RFC 5034 §4: a SASL client response line is not bound by the 255-octet
// command limit; PLAIN credentials need little, so 4 KiB is generous.
inline constexpr size_t kMaxAuthLine = 4096;
// Decoded SASL PLAIN message (authzid NUL authcid NUL password).
inline constexpr size_t kMaxSaslPlain = 2048;
// RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21..0x7E.
inline constexpr size_t kMaxUidl = 70;
// Message numbers and TOP line counts: at most this many digits.
inline constexpr size_t kMaxNumberDigits = 10;

// Per-session defaults (the server may override them).
inline constexpr uint32_t kDefaultMaxErrors = 10;        // then -ERR + close
inline constexpr uint32_t kDefaultMaxAuthFailures = 3;   // then close

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_LIMITS_H_
