#include "server/imap/sort_headers.h"

#include "protocols/mime/header.h"

namespace ringmail::server::imap {

using ringmail::imap::SortHeaders;

const mime::Envelope* TopEnvelope(const mime::Structure* s) {
  if (s == nullptr || s->parts.empty()) return nullptr;
  const int32_t i = s->parts[0].envelope;
  if (i < 0 || static_cast<size_t>(i) >= s->envelopes.size()) return nullptr;
  return &s->envelopes[i];
}

SortHeaders SortHeadersFromEnvelope(const mime::Envelope& env) {
  SortHeaders h;
  h.date = env.date;
  h.subject = env.subject;
  h.from = env.from;
  h.to = env.to;
  h.cc = env.cc;
  h.message_id = env.message_id;
  h.in_reply_to = env.in_reply_to;
  return h;
}

SortHeaders SortHeadersFromContent(std::string_view content) {
  struct Field {
    std::string_view name;
    std::optional<std::string> SortHeaders::*member;
  };
  static constexpr Field kFields[] = {
      {"Date", &SortHeaders::date},
      {"Subject", &SortHeaders::subject},
      {"From", &SortHeaders::from},
      {"To", &SortHeaders::to},
      {"Cc", &SortHeaders::cc},
      {"Message-ID", &SortHeaders::message_id},
      {"In-Reply-To", &SortHeaders::in_reply_to},
      {"References", &SortHeaders::references},
  };
  SortHeaders h;
  // Default limits: the same ones mime::ParseStructure fills ENVELOPE with.
  mime::HeaderIterator it(content);
  mime::HeaderField f;
  while (it.Next(&f)) {
    for (const Field& field : kFields) {
      if (mime::EqualsIgnoreCase(f.name, field.name)) {
        std::optional<std::string>& slot = h.*field.member;
        if (!slot) slot = mime::Unfold(f.raw_value);
      }
    }
  }
  return h;
}

}  // namespace ringmail::server::imap
