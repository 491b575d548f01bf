// Header block parsing (RFC 5322 §2.2, §2.2.3 folding).
//
// A header block is the text from the start of a message or MIME part up to
// and including the empty line that separates it from the body. Lines may end
// in LF (our Maildir storage) or CRLF; both are accepted. The iterator walks
// the fields of a block that is already in memory; it never allocates except
// for Unfold().
//
// Tolerance follows Dovecot:
//  - a line without ':' ("garbage") ends nothing and is skipped;
//  - a continuation line before the first field is skipped;
//  - a missing final newline ends the last field at the end of the input;
//  - the block ends at the first empty line or at the end of the input.
// Limits: after `max_fields` fields the rest are skipped (truncated() is set);
// a field longer than `max_field_length` octets is skipped (truncated() set).
// Skipped fields still belong to the block: end() is unaffected.
#ifndef RINGMAIL_PROTOCOLS_MIME_HEADER_H_
#define RINGMAIL_PROTOCOLS_MIME_HEADER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringmail::mime {

struct HeaderLimits {
  uint32_t max_fields = 1000;            // fields reported per block
  uint32_t max_field_length = 64 * 1024; // octets of one field incl. folding
};

// Every field of the block, however many and however long: for callers
// whose input is already bounded (a stored message, at most
// imap.max_message_size) and that must see what the client sees, so that
// SEARCH HEADER finds each field FETCH BODY[HEADER.FIELDS] returns.
inline constexpr HeaderLimits kWholeHeaderBlock{UINT32_MAX, UINT32_MAX};

struct HeaderField {
  std::string_view name;       // before ':', trailing WSP removed
  std::string_view raw_value;  // after ':' up to (excluding) the final newline
  size_t offset = 0;           // of the field's first octet within the block
  size_t size = 0;             // octets incl. folding and the final newline
};

// Removes the line breaks of folding (CRLF or LF followed by WSP keeps the
// WSP, RFC 5322 §2.2.3), strips leading WSP and trailing CR/LF/WSP. Bare CR
// or LF not followed by WSP are removed too so the result is one line.
std::string Unfold(std::string_view raw_value);

// ASCII case-insensitive equality (header names, MIME tokens).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

class HeaderIterator {
 public:
  explicit HeaderIterator(std::string_view block,
                          const HeaderLimits& limits = HeaderLimits());

  // Stores the next field in *out and returns true; false at the end.
  bool Next(HeaderField* out);

  // Offset just past the header block (past the empty line if there is one).
  // Only meaningful after Next() returned false.
  size_t end() const { return pos_; }
  // True if the block ended with an empty line (a body follows).
  bool has_separator() const { return separator_; }
  // True if fields were skipped because of a limit.
  bool truncated() const { return truncated_; }

 private:
  size_t LineEnd(size_t pos) const;  // index of the '\n' or size

  std::string_view block_;
  HeaderLimits limits_;
  size_t pos_ = 0;
  uint32_t fields_ = 0;
  bool done_ = false;
  bool separator_ = false;
  bool truncated_ = false;
};

// First field named `name` (case-insensitive) in `block`, if any.
std::optional<HeaderField> FindField(std::string_view block,
                                     std::string_view name,
                                     const HeaderLimits& limits = HeaderLimits());

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_HEADER_H_
