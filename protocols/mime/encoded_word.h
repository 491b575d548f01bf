// RFC 2047 encoded-word decoding of header text (unstructured fields such as
// Subject, and display-name phrases) to UTF-8, for SORT/THREAD keys and
// SEARCH. Pure; lenient like Dovecot.
#ifndef RINGMAIL_PROTOCOLS_MIME_ENCODED_WORD_H_
#define RINGMAIL_PROTOCOLS_MIME_ENCODED_WORD_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::mime {

// Encoded words decoded per value at most (RFC 2047 §2 limits one word to
// 75 octets; a folded value can hold many). Later words stay as written.
inline constexpr size_t kMaxEncodedWords = 256;

// Returns `value` with every well-formed "=?charset[*lang]?B|Q?text?="
// (RFC 2047 §2, RFC 2231 §5) replaced by its decoded text:
//  - UTF-8 and US-ASCII octets are kept as they are;
//  - ISO-8859-1 / Latin-1 is converted to UTF-8;
//  - any other charset keeps the decoded octets unconverted (no iconv here:
//    they still sort and compare consistently, just not as the user reads).
// Linear white space between two adjacent encoded words is dropped (§6.2).
// A malformed word (unknown encoding, whitespace or '?' inside, missing
// "?=") is kept literally. Never fails; output is at most about
// value.size() * 2 octets (Latin-1 expansion).
std::string DecodeEncodedWords(std::string_view value,
                               size_t max_words = kMaxEncodedWords);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_ENCODED_WORD_H_
