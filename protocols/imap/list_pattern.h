// LIST/LSUB mailbox patterns (RFC 3501 §6.3.8): "*" matches anything, "%"
// anything but the hierarchy delimiter.
#ifndef RINGMAIL_PROTOCOLS_IMAP_LIST_PATTERN_H_
#define RINGMAIL_PROTOCOLS_IMAP_LIST_PATTERN_H_

#include <string>
#include <string_view>

namespace ringmail::imap {

// Combines LIST's reference and pattern the way RFC 3501 §6.3.8 describes
// (reference prefixed; a pattern starting with the delimiter replaces a
// reference ending with one).
std::string CombineListReference(std::string_view reference,
                                 std::string_view pattern, char delimiter);

// Does `name` match `pattern`? The INBOX prefix is matched
// case-insensitively (RFC 3501 §5.1). Runs in O(|pattern| * |name|) time
// with no recursion, so hostile patterns ("*%*%*...") cannot blow up.
bool ListPatternMatches(std::string_view pattern, std::string_view name,
                        char delimiter);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_LIST_PATTERN_H_
