// POP3 response formatting: status lines with RFC 2449 §8 / RFC 3206
// response codes, the CAPA listing, and multi-line terminators.
#ifndef RINGMAIL_PROTOCOLS_POP3_RESPONSE_H_
#define RINGMAIL_PROTOCOLS_POP3_RESPONSE_H_

#include <string>
#include <string_view>

namespace ringmail::pop3 {

// Extended response codes, without brackets.
inline constexpr std::string_view kCodeInUse = "IN-USE";            // RFC 2449 §8.1.1
inline constexpr std::string_view kCodeLoginDelay = "LOGIN-DELAY";  // RFC 2449 §8.1.2
inline constexpr std::string_view kCodeSysTemp = "SYS/TEMP";        // RFC 3206 §4
inline constexpr std::string_view kCodeSysPerm = "SYS/PERM";        // RFC 3206 §4
inline constexpr std::string_view kCodeAuth = "AUTH";               // RFC 3206 §5

// "+OK[ text]\r\n".
void AppendOk(std::string* out, std::string_view text);
// "-ERR [code] text\r\n", or "-ERR text\r\n" when code is empty.
void AppendErr(std::string* out, std::string_view code, std::string_view text);
// ".\r\n": the end of a multi-line response.
void AppendTerminator(std::string* out);

struct CapaOptions {
  bool authorization_state = true;  // USER and SASL only before login
  bool stls = false;                // RFC 2595 §4: TLS offered, not active
  bool plaintext_auth = true;       // USER and SASL PLAIN may be used now
};

// The RFC 2449 capability list for CAPA (multi-line, with its "+OK" and
// terminator).
void AppendCapa(std::string* out, const CapaOptions& options);

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_RESPONSE_H_
