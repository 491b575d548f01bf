// MIME structure of a stored message (RFC 2045, RFC 2046, RFC 5322), in the
// form IMAP needs: byte ranges in the stored (LF) file plus the sizes the
// client sees (CRLF), line counts, the parsed Content-* fields and, for every
// message (the top level and each message/rfc822 body), the raw ENVELOPE
// header values.
//
// The structure is a flat vector of parts in depth-first order (part 0 is the
// whole message) with parent / first-child / next-sibling indices, so it is
// cheap to cache: Serialize() gives a compact byte string that Deserialize()
// validates and restores.
//
// Tree shape (matches Dovecot's message_part tree):
//  - a multipart part has one child per body part;
//  - a message/rfc822 or message/global part has exactly one child, the
//    embedded message (kMessageRoot), whose header is the embedded header and
//    whose body is the embedded body;
//  - every other part is a leaf.
#ifndef RINGMAIL_PROTOCOLS_MIME_STRUCTURE_H_
#define RINGMAIL_PROTOCOLS_MIME_STRUCTURE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocols/mime/content_fields.h"

namespace ringmail::mime {

// Explicit limits. Exceeding max_depth or max_parts degrades (see
// ParseStructure); only max_message_size is an error.
struct Limits {
  // Nesting of multipart / message containers below the top level
  // (Dovecot: mime_max_nested_parts 100... we keep it lower).
  uint32_t max_depth = 50;
  uint32_t max_parts = 10000;           // Dovecot: max_total_mime_parts
  uint32_t max_header_fields = 1000;    // per part, for MIME interpretation
  uint32_t max_field_length = 64 * 1024;
  // RFC 2046 §5.1.1 allows 70; longer ones are accepted up to this.
  uint32_t max_boundary_length = 200;
  uint64_t max_message_size = uint64_t{1} << 32;
};

// A byte range of the stored message with its IMAP (CRLF) size.
struct Range {
  uint64_t offset = 0;     // in the stored (LF) message
  uint64_t size = 0;       // stored octets
  uint64_t crlf_size = 0;  // size + number of LFs not preceded by CR
  uint64_t lines = 0;      // number of LFs
  bool operator==(const Range&) const = default;
};

// Unfolded values of the ENVELOPE header fields (first occurrence of each);
// nullopt when the field is absent. Formatted by FormatEnvelope().
struct Envelope {
  std::optional<std::string> date, subject, from, sender, reply_to, to, cc,
      bcc, in_reply_to, message_id;
  bool operator==(const Envelope&) const = default;
};

enum PartFlag : uint8_t {
  kPartMultipart = 1u << 0,    // children are the body parts
  kPartMessage = 1u << 1,      // message/rfc822|global: one embedded child
  kPartMessageRoot = 1u << 2,  // top level or embedded message; has envelope
  kPartDegraded = 1u << 3,     // container not expanded (limit or broken)
};

struct Part {
  Range header;  // includes the empty separator line if there is one
  Range body;
  int32_t parent = -1;
  int32_t first_child = -1;
  int32_t next_sibling = -1;
  int32_t envelope = -1;  // index into Structure::envelopes (message roots)
  uint32_t child_count = 0;
  uint8_t flags = 0;

  // Content-Type (RFC 2045 §5.2 default: text/plain; charset=us-ascii).
  std::string type = "text";
  std::string subtype = "plain";
  std::vector<Param> params;
  std::optional<std::string> id, description, encoding, md5, location;
  std::optional<std::string> disposition;  // disposition type
  std::vector<Param> disposition_params;
  std::vector<std::string> language;

  bool is_multipart() const { return flags & kPartMultipart; }
  bool is_message() const { return flags & kPartMessage; }
  bool operator==(const Part&) const = default;
};

struct Structure {
  std::vector<Part> parts;  // parts[0] is the whole message
  std::vector<Envelope> envelopes;
  bool truncated = false;  // a limit cut the tree short somewhere
  bool operator==(const Structure&) const = default;
};

// Parses `message` (LF or CRLF line ends). Never fails on malformed MIME:
//  - a multipart without a usable boundary parameter, or nested deeper than
//    limits.max_depth, becomes a text/plain leaf (charset us-ascii) with
//    kPartDegraded set; a message/rfc822 beyond the depth limit becomes an
//    application/octet-stream leaf;
//  - when limits.max_parts is reached, later body parts of a multipart are
//    not split out (their octets stay in the multipart's body) and
//    Structure::truncated is set;
//  - boundary lines match by prefix like Dovecot ("--b" followed by
//    anything), the longest matching active boundary wins and an outer
//    boundary closes every inner multipart; a missing close delimiter ends
//    the multipart at its parent's boundary or at the end of the message;
//  - a part header with no empty line ends at a boundary line or at the end.
// Returns InvalidArgument only if message.size() > limits.max_message_size.
absl::StatusOr<Structure> ParseStructure(std::string_view message,
                                         const Limits& limits = Limits());

// Counts the range [offset, offset+size) of `message`.
Range MakeRange(std::string_view message, size_t offset, size_t size);

// Compact binary encoding of a structure (versioned, varint based).
std::string Serialize(const Structure& s);
// Decodes and validates (indices in range, tree links consistent). Returns
// InvalidArgument on any corruption; never reads past `data`.
absl::StatusOr<Structure> Deserialize(std::string_view data);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_STRUCTURE_H_
