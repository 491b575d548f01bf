// One message as FETCH and SEARCH see it. The server glue fills a view from
// the folder index (flags, sizes, dates) and, when NeedsOf() says so, from
// the message file and its cached MIME structure. Everything is borrowed:
// the view must not outlive the index entry, keyword table, content buffer
// and structure it points into.
#ifndef RINGMAIL_SERVER_IMAP_MESSAGE_VIEW_H_
#define RINGMAIL_SERVER_IMAP_MESSAGE_VIEW_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/mime/structure.h"

namespace ringmail::server::imap {

struct MessageView {
  uint32_t seq = 0, uid = 0;
  uint8_t imap_flags = 0;                  // ringmail::imap::FlagBit set,
                                           // including kFlagRecent
  std::vector<std::string_view> keywords;  // keyword names
  int64_t internal_date = 0;               // unix seconds
  uint64_t size = 0;                       // stored (LF) size
  uint64_t vsize = 0;                      // RFC822.SIZE: CRLF size
  uint64_t modseq = 0;                     // CONDSTORE; 0 if unknown
  // The stored message (LF endings); empty if not loaded. When a Needs
  // result allows headers only, this may be just a prefix that holds the
  // complete top-level header block.
  std::string_view content;
  // Parsed structure of `content`, if available. When null and a FETCH or
  // SEARCH item needs it, the renderer/evaluator parses `content` itself
  // (correct but costly: cache structures where possible).
  const mime::Structure* structure = nullptr;
};

// The structure FETCH and SEARCH use for `view`: view.structure when set
// (and, if `check_fits`, when every part range lies inside view.content),
// otherwise a parse of view.content kept in *own (parsed at most once per
// `own`). Never fails: a message ParseStructure refuses (over its size
// limit) is described as one empty text/plain message.
inline const mime::Structure& StructureOf(const MessageView& view,
                                          bool check_fits,
                                          std::optional<mime::Structure>* own) {
  if (own->has_value()) return **own;
  if (view.structure != nullptr && !view.structure->parts.empty()) {
    bool fits = true;
    if (check_fits) {
      const uint64_t n = view.content.size();
      for (const mime::Part& p : view.structure->parts) {
        fits = fits && p.header.offset <= n &&
               p.header.size <= n - p.header.offset && p.body.offset <= n &&
               p.body.size <= n - p.body.offset;
      }
    }
    if (fits) return *view.structure;
  }
  absl::StatusOr<mime::Structure> s = mime::ParseStructure(view.content);
  if (s.ok() && !s->parts.empty()) {
    own->emplace(*std::move(s));
  } else {
    own->emplace();
    (*own)->parts.emplace_back();
    (*own)->parts[0].flags = mime::kPartMessageRoot;
    (*own)->parts[0].envelope = 0;
    (*own)->envelopes.emplace_back();
  }
  return **own;
}

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_MESSAGE_VIEW_H_
