// SASL decoding for SMTP AUTH (RFC 4954): strict base64 (RFC 4648 §4) and
// the PLAIN message (RFC 4616). Pure functions; no allocation beyond the
// output strings, which the caller wipes (they hold passwords).
#ifndef RINGMAIL_PROTOCOLS_SMTP_SASL_H_
#define RINGMAIL_PROTOCOLS_SMTP_SASL_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::smtp {

// Decoded SASL data is at most this many octets. A command line is at most
// kMaxCommandLine (512) octets, so no valid client can send more anyway;
// the explicit limit keeps the decoder bounded on its own.
inline constexpr size_t kMaxSaslDecoded = 384;

// Strict base64: RFC 4648 alphabet, '=' padding required to a multiple of
// 4, no whitespace. "" decodes to "" (RFC 4954 §4: "=" stands for an empty
// response; the caller maps it). Returns false on any error or when the
// result would exceed max_out. *out is overwritten (wiped first).
bool DecodeBase64(std::string_view in, size_t max_out, std::string* out);
std::string EncodeBase64(std::string_view in);

// RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. False on a
// missing NUL, an empty authcid or password, or a NUL inside the password.
// Views point into `message`.
bool SplitSaslPlain(std::string_view message, std::string_view* authzid,
                    std::string_view* authcid, std::string_view* password);

// Overwrites the contents with zeros (explicit_bzero: not optimised away)
// and clears.
void WipeString(std::string* s);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_SASL_H_
