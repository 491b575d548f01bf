// Parsers for the MIME Content-* header values (RFC 2045 §5, §6; RFC 2183
// Content-Disposition; RFC 3282 Content-Language; RFC 2231 parameter
// continuations). Input is an unfolded header value. Lenient like Dovecot:
// parsing stops at the first malformed parameter and keeps what it has.
#ifndef RINGMAIL_PROTOCOLS_MIME_CONTENT_FIELDS_H_
#define RINGMAIL_PROTOCOLS_MIME_CONTENT_FIELDS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::mime {

// At most this many parameters are kept per field (the rest are dropped).
inline constexpr size_t kMaxParams = 64;

struct Param {
  std::string name;   // lower-cased
  std::string value;  // unquoted, case preserved
  bool operator==(const Param&) const = default;
};

// "type/subtype *(; param)". Returns false if there is no valid
// "type/subtype" (the caller then applies the RFC 2045 §5.2 default).
// Type and subtype keep the case they were written in.
bool ParseContentType(std::string_view value, std::string* type,
                      std::string* subtype, std::vector<Param>* params);

// "disposition-type *(; param)" (RFC 2183). False if there is no token.
bool ParseDisposition(std::string_view value, std::string* type,
                      std::vector<Param>* params);

// Comma-separated language tags (RFC 3282), comments dropped.
std::vector<std::string> ParseLanguage(std::string_view value);

// First token of a value with comments and whitespace removed
// (Content-Transfer-Encoding, RFC 2045 §6.1). Empty if none.
std::string ParseSingleToken(std::string_view value);

// Value of parameter `name` (case-insensitive), or nullptr.
const std::string* FindParam(const std::vector<Param>& params,
                             std::string_view name);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_CONTENT_FIELDS_H_
