// IMAP FETCH BODY[section] addressing (RFC 3501 §6.4.5), resolved against a
// parsed Structure the way Dovecot's imap-msgpart.c does:
//  - ""        the whole message;    "HEADER" / "TEXT" its header / body;
//  - "N.M..."  multipart children are 1..n; in a non-multipart part only "1"
//    exists and means the part itself (so "1" of a single-part message is
//    its body); a message/rfc822 part followed by more numbers continues
//    inside the embedded message;
//  - "N"       the part's body; "N.MIME" the part's own MIME header;
//  - "N.HEADER", "N.TEXT", "N.HEADER.FIELDS[.NOT] (...)" address the
//    message embedded in message/rfc822 part N;
//  - a part that does not exist (or HEADER/TEXT of a part that is not
//    message/rfc822) resolves to found=false: the IMAP layer sends an empty
//    string, as Dovecot does.
// HEADER.FIELDS gives one chunk per matching field (folding included) and a
// final blank line; the field names match case-insensitively.
#ifndef RINGMAIL_PROTOCOLS_MIME_SECTION_H_
#define RINGMAIL_PROTOCOLS_MIME_SECTION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/mime/structure.h"

namespace ringmail::mime {

// Field names accepted in one HEADER.FIELDS list.
inline constexpr size_t kMaxSectionFields = 256;
// Parts in a section path ("1.2.3...").
inline constexpr size_t kMaxSectionPath = 256;

struct SectionSpec {
  enum class Kind {
    kBody,              // "" (whole message) or "N" (part body)
    kHeader,            // HEADER
    kHeaderFields,      // HEADER.FIELDS (...)
    kHeaderFieldsNot,   // HEADER.FIELDS.NOT (...)
    kText,              // TEXT
    kMime,              // N.MIME
  };
  std::vector<uint32_t> path;        // part numbers, each >= 1
  Kind kind = Kind::kBody;
  std::vector<std::string> fields;   // HEADER.FIELDS names (as given)
};

// Parses the text between "BODY[" and "]". Keywords are case-insensitive;
// field names are atoms or quoted strings. InvalidArgument on bad syntax
// (e.g. "MIME" without a part number, part number 0, empty field list).
absl::StatusOr<SectionSpec> ParseSectionSpec(std::string_view spec);

// One piece of the section's content: stored octets (sent with every bare
// LF turned into CRLF), optionally followed by an extra CRLF.
struct SectionChunk {
  Range range;
  bool crlf_after = false;
  bool operator==(const SectionChunk&) const = default;
};

struct SectionResult {
  bool found = false;
  std::vector<SectionChunk> chunks;
  uint64_t crlf_size = 0;  // octets the client receives in total
};

// Resolves `spec` for `message` (the stored text `s` was parsed from).
// FailedPrecondition if `s` does not fit `message` (a stale cache entry).
absl::StatusOr<SectionResult> ResolveSection(const Structure& s,
                                             std::string_view message,
                                             const SectionSpec& spec);

// The octets a client receives for `r`: chunks with LF -> CRLF. Its size is
// r.crlf_size.
std::string RenderSection(std::string_view message, const SectionResult& r);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_SECTION_H_
