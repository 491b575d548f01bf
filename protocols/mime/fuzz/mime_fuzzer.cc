// libFuzzer: ParseStructure on arbitrary input, then every consumer of the
// result: BODYSTRUCTURE / BODY / ENVELOPE formatting, the cache round trip
// (which must reproduce the structure exactly), section resolution for every
// part (CRLF sizes must equal the rendered size) and Deserialize on the raw
// input. Aborts on any inconsistency.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocols/mime/bodystructure.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/envelope.h"
#include "protocols/mime/section.h"
#include "protocols/mime/structure.h"

using namespace ringmail::mime;

namespace {

void CheckSection(const Structure& s, std::string_view msg,
                  std::string_view section) {
  absl::StatusOr<SectionSpec> spec = ParseSectionSpec(section);
  if (!spec.ok()) return;
  absl::StatusOr<SectionResult> r = ResolveSection(s, msg, *spec);
  if (!r.ok()) std::abort();
  if (RenderSection(msg, *r).size() != r->crlf_size) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view msg(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_depth = 20;
  limits.max_parts = 200;
  absl::StatusOr<Structure> s = ParseStructure(msg, limits);
  if (!s.ok()) std::abort();
  for (const Part& p : s->parts) {
    if (p.header.offset + p.header.size > size ||
        p.body.offset + p.body.size > size ||
        p.header.offset + p.header.size > p.body.offset) {
      std::abort();
    }
  }
  (void)FormatBodyStructure(*s, true);
  (void)FormatBodyStructure(*s, false);
  for (const Envelope& e : s->envelopes) (void)FormatEnvelope(e);
  absl::StatusOr<Structure> back = Deserialize(Serialize(*s));
  if (!back.ok() || !(*back == *s)) std::abort();
  (void)Deserialize(msg);
  for (const char* sec : {"", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1",
                          "2.HEADER", "1.2.TEXT", "HEADER.FIELDS (From To)",
                          "1.HEADER.FIELDS.NOT (Subject)"}) {
    CheckSection(*s, msg, sec);
  }
  (void)DecodeBody(msg, TransferEncoding::kBase64, 4096);
  (void)DecodeBody(msg, TransferEncoding::kQuotedPrintable, 4096);
  return 0;
}
