// UTF-8 validation and encoding (RFC 3629). Pure functions, no allocation
// beyond the output string; thread-safe.
#ifndef RINGMAIL_COMMON_UTF8_H_
#define RINGMAIL_COMMON_UTF8_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::common {

// Length (1-4) of the well-formed UTF-8 sequence at s[i] (i < s.size()),
// with its code point in *cp; 0 when it is not one: a stray continuation
// octet, an overlong form, a surrogate (U+D800..U+DFFF), a value past
// U+10FFFF, or a sequence cut short by the end of `s`.
size_t Utf8SequenceLength(std::string_view s, size_t i, char32_t* cp);

// Octets at the start of `s` that are well-formed UTF-8.
size_t ValidUtf8Prefix(std::string_view s);

// ValidUtf8Prefix(s) == s.size().
bool IsValidUtf8(std::string_view s);

// Appends the UTF-8 encoding of `cp` (at most U+10FFFF, not a surrogate).
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace ringmail::common

#endif  // RINGMAIL_COMMON_UTF8_H_
