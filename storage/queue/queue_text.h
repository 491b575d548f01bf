// Text helpers shared by the queue file prefix and the state log: the
// value escaping and strict number parsing. Pure; thread-safe.
//
// Escaping (xtext-like, RFC 3461 §4 in spirit): every byte <= 0x20 (space
// and controls, so LF and CR), 0x7F and '+' becomes "+XX" (two upper-case
// hex digits). Everything else, UTF-8 included, is kept as is, so the files
// stay readable and an escaped value never contains a space or a line end:
// fields can be separated by single spaces and records by LF.
#ifndef RINGMAIL_STORAGE_QUEUE_QUEUE_TEXT_H_
#define RINGMAIL_STORAGE_QUEUE_QUEUE_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::storage::queue {

// Appends the escaped form of `value` to `out`.
void AppendEscaped(std::string_view value, std::string* out);
std::string Escape(std::string_view value);

// Decodes an escaped value. nullopt when it holds a byte that must have
// been escaped, a '+' not followed by two hex digits, or when the decoded
// value would exceed `max_bytes`.
std::optional<std::string> Unescape(std::string_view escaped,
                                    size_t max_bytes);

// Decimal without sign, leading zeros ("0" itself is fine) or spaces, and
// no larger than `max`. nullopt otherwise.
std::optional<uint64_t> ParseDecimal(std::string_view s, uint64_t max);
// Like ParseDecimal, with an optional leading '-'.
std::optional<int64_t> ParseSignedDecimal(std::string_view s);

// Splits on every single ' ' (so "a  b" gives "a", "", "b"). Returns
// nullopt when there are more than `max_fields` fields.
std::optional<std::vector<std::string_view>> SplitFields(std::string_view s,
                                                         size_t max_fields);

// `s` cut to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view TruncateUtf8(std::string_view s, size_t max_bytes);

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_QUEUE_TEXT_H_
