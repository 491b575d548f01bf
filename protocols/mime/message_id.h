// msg-id extraction (RFC 5322 §3.6.4) from Message-ID, In-Reply-To and
// References values, for IMAP THREAD=REFERENCES (RFC 5256 §4). Pure.
#ifndef RINGMAIL_PROTOCOLS_MIME_MESSAGE_ID_H_
#define RINGMAIL_PROTOCOLS_MIME_MESSAGE_ID_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::mime {

// A longer id is not taken as a valid message id (RFC 5322 lines are at
// most 998 octets; real ids are far shorter).
inline constexpr size_t kMaxMessageIdLength = 512;

// Calls on_id(id) for every valid msg-id in `value`, in order, with the
// angle brackets removed, until on_id returns false. A valid msg-id is "<"
// text ">" where text holds an '@', is at most kMaxMessageIdLength octets
// and has no whitespace, '<' or '>'. Comments and quoted strings outside
// the brackets are skipped (old In-Reply-To values such as
// `"Joe's message of <date>" <id@host>` or `<id@host> (from <x@y>)`), and
// anything else that is not a valid msg-id is ignored. Never fails; work is
// linear in value.size().
template <typename F>
void ForEachMessageId(std::string_view value, F on_id);

// All valid ids of `value` (at most max_ids; later ones are dropped).
std::vector<std::string> ParseMessageIds(std::string_view value,
                                         size_t max_ids);
// The first valid id, or "" when there is none.
std::string FirstMessageId(std::string_view value);

// ---- implementation

namespace internal {
// Length of the comment or quoted string starting at value[i] ('(' or '"'),
// through its closing delimiter or the end of the value.
size_t SkipCommentOrQuoted(std::string_view value, size_t i);
bool ValidMessageIdText(std::string_view text);
}  // namespace internal

template <typename F>
void ForEachMessageId(std::string_view value, F on_id) {
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '(' || c == '"') {
      i += internal::SkipCommentOrQuoted(value, i);
      continue;
    }
    if (c != '<') {
      ++i;
      continue;
    }
    const size_t end = value.find_first_of("<>", i + 1);
    if (end == std::string_view::npos) return;
    if (value[end] == '<') {  // "<junk <id@x>": restart at the inner '<'
      i = end;
      continue;
    }
    const std::string_view text = value.substr(i + 1, end - i - 1);
    i = end + 1;
    if (internal::ValidMessageIdText(text) && !on_id(text)) return;
  }
}

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_MESSAGE_ID_H_
