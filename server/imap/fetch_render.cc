#include "server/imap/fetch_render.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <optional>
#include <vector>

#include "protocols/imap/response.h"
#include "protocols/mime/bodystructure.h"
#include "protocols/mime/envelope.h"
#include "protocols/mime/header.h"
#include "protocols/mime/section.h"
#include "server/imap/flags.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;
using Att = proto::FetchAtt;
using Kind = proto::FetchSection::Kind;

// Appends the window [skip, skip + take) of the CRLF form of [begin, end).
// `prev_cr`: the octet before `begin` is a CR (so a LF at `begin` is not
// bare); this keeps the counting identical to mime::MakeRange, which looks
// one octet behind a range.
void AppendCrlfWindow(const char* begin, const char* end, bool prev_cr,
                      uint64_t skip, uint64_t take, std::string* out) {
  if (take == 0) return;
  const uint64_t stop = take > kTakeAll - skip ? kTakeAll : skip + take;
  uint64_t pos = 0;  // offset in the CRLF form
  auto emit = [&](const char* d, uint64_t n) {
    const uint64_t lo = std::max(pos, skip);
    const uint64_t hi = std::min(pos + n, stop);
    if (lo < hi) out->append(d + (lo - pos), static_cast<size_t>(hi - lo));
    pos += n;
  };
  const char* p = begin;
  while (p < end && pos < stop) {
    const char* nl = static_cast<const char*>(
        std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) {
      emit(p, static_cast<uint64_t>(end - p));
      break;
    }
    emit(p, static_cast<uint64_t>(nl - p));
    const bool cr = nl > begin ? nl[-1] == '\r' : prev_cr;
    if (cr) {
      emit("\n", 1);
    } else {
      emit("\r\n", 2);
    }
    p = nl + 1;
  }
}

uint64_t CountBareLf(const char* begin, const char* end, bool prev_cr) {
  uint64_t bare = 0;
  const char* p = begin;
  while (p < end) {
    const char* nl = static_cast<const char*>(
        std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (nl == nullptr) break;
    if (!(nl > begin ? nl[-1] == '\r' : prev_cr)) ++bare;
    p = nl + 1;
  }
  return bare;
}

// A piece of section data: stored octets [offset, offset + size) of the
// message, then optionally a CRLF the message does not contain.
struct Piece {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t crlf_size = 0;  // of the octets alone
  bool crlf_after = false;
};

using Pieces = std::vector<Piece>;

Piece MakePiece(std::string_view msg, uint64_t offset, uint64_t size,
                bool crlf_after) {
  assert(offset <= msg.size() && size <= msg.size() - offset);
  Piece p;
  p.offset = offset;
  p.size = size;
  const char* b = msg.data() + offset;
  p.crlf_size =
      size + CountBareLf(b, b + size, offset > 0 && msg[offset - 1] == '\r');
  p.crlf_after = crlf_after;
  return p;
}

// Appends the pieces as one literal, cut to the partial window if any
// (RFC 3501 §6.4.5: offsets count the octets the client receives; an origin
// beyond the end gives an empty string).
void AppendPiecesLiteral(std::string_view msg, const Pieces& pieces,
                         std::optional<uint64_t> partial_offset,
                         std::optional<uint64_t> partial_length,
                         std::string* out) {
  uint64_t total = 0;
  for (const Piece& p : pieces) total += p.crlf_size + (p.crlf_after ? 2 : 0);
  uint64_t skip = partial_offset.value_or(0);
  uint64_t take = partial_length.value_or(kTakeAll);
  const uint64_t n = skip >= total ? 0 : std::min(total - skip, take);
  out->push_back('{');
  out->append(std::to_string(n));
  out->append("}\r\n");
  const size_t start = out->size();
  out->reserve(start + static_cast<size_t>(n));
  take = n;
  for (const Piece& p : pieces) {
    if (take == 0) break;
    if (skip >= p.crlf_size) {
      skip -= p.crlf_size;
    } else {
      const size_t before = out->size();
      const char* b = msg.data() + p.offset;
      AppendCrlfWindow(b, b + p.size, p.offset > 0 && msg[p.offset - 1] == '\r',
                       skip, take, out);
      take -= out->size() - before;
      skip = 0;
    }
    if (p.crlf_after && take > 0) {
      if (skip >= 2) {
        skip -= 2;
      } else {
        const uint64_t k = std::min<uint64_t>(2 - skip, take);
        out->append("\r\n" + skip, static_cast<size_t>(k));
        take -= k;
        skip = 0;
      }
    }
  }
  assert(out->size() - start == n);
  // NUL cannot appear in a literal (RFC 3501 §4.3); send 0x80 as Dovecot
  // does for header NULs and as mime::AppendImapLiteral does.
  for (char* q = out->data() + start; q < out->data() + out->size();) {
    q = static_cast<char*>(std::memchr(
        q, '\0', static_cast<size_t>(out->data() + out->size() - q)));
    if (q == nullptr) break;
    *q++ = static_cast<char>(0x80);
  }
}

// The top-level header block of `msg` (with its separator line), found
// without a parsed structure so that a header-only prefix suffices.
size_t HeaderEnd(std::string_view msg) {
  mime::HeaderIterator it(msg, mime::kWholeHeaderBlock);
  mime::HeaderField f;
  while (it.Next(&f)) {
  }
  return it.end();
}

// HEADER.FIELDS[.NOT] of the header block msg[0, header_end): matching
// fields with their folding, then the blank line (RFC 3501 §6.4.5).
void HeaderFieldPieces(std::string_view msg, size_t header_end,
                       const std::vector<std::string>& names, bool negate,
                       Pieces* out) {
  const std::string_view block = msg.substr(0, header_end);
  mime::HeaderIterator it(block, mime::kWholeHeaderBlock);
  mime::HeaderField f;
  while (it.Next(&f)) {
    bool listed = false;
    for (const std::string& name : names) {
      if (mime::EqualsIgnoreCase(f.name, name)) {
        listed = true;
        break;
      }
    }
    if (listed == negate) continue;
    const bool has_newline = block[f.offset + f.size - 1] == '\n';
    out->push_back(MakePiece(msg, f.offset, f.size, !has_newline));
  }
  out->push_back(MakePiece(msg, header_end, 0, true));
}

// Section data of the message itself (no part number).
void TopLevelPieces(std::string_view msg, Kind kind,
                    const std::vector<std::string>& fields, Pieces* out) {
  if (kind == Kind::kAll) {
    out->push_back(MakePiece(msg, 0, msg.size(), false));
    return;
  }
  const size_t end = HeaderEnd(msg);
  switch (kind) {
    case Kind::kHeader:
      out->push_back(MakePiece(msg, 0, end, false));
      return;
    case Kind::kText:
      out->push_back(MakePiece(msg, end, msg.size() - end, false));
      return;
    case Kind::kHeaderFields:
    case Kind::kHeaderFieldsNot:
      HeaderFieldPieces(msg, end, fields, kind == Kind::kHeaderFieldsNot, out);
      return;
    case Kind::kAll:
    case Kind::kMime:  // the parser refuses MIME without a part number
      return;
  }
}

mime::SectionSpec ToSpec(const proto::FetchSection& s) {
  mime::SectionSpec spec;
  spec.path = s.part;
  spec.fields = s.fields;
  switch (s.kind) {
    case Kind::kAll:
      spec.kind = mime::SectionSpec::Kind::kBody;
      break;
    case Kind::kHeader:
      spec.kind = mime::SectionSpec::Kind::kHeader;
      break;
    case Kind::kHeaderFields:
      spec.kind = mime::SectionSpec::Kind::kHeaderFields;
      break;
    case Kind::kHeaderFieldsNot:
      spec.kind = mime::SectionSpec::Kind::kHeaderFieldsNot;
      break;
    case Kind::kText:
      spec.kind = mime::SectionSpec::Kind::kText;
      break;
    case Kind::kMime:
      spec.kind = mime::SectionSpec::Kind::kMime;
      break;
  }
  return spec;
}

// The view's structure, or one parsed here on first use.
class StructureSource {
 public:
  explicit StructureSource(const MessageView& v) : view_(v) {}
  // `for_content`: the caller will address view.content with it.
  const mime::Structure& Get(bool for_content) {
    return StructureOf(view_, for_content, &own_);
  }

 private:
  const MessageView& view_;
  std::optional<mime::Structure> own_;
};

void PartPieces(const MessageView& v, StructureSource* src,
                const proto::FetchSection& section, Pieces* out) {
  const mime::SectionSpec spec = ToSpec(section);
  absl::StatusOr<mime::SectionResult> r =
      mime::ResolveSection(src->Get(true), v.content, spec);
  if (!r.ok() || !r->found) return;  // empty string, as Dovecot
  for (const mime::SectionChunk& c : r->chunks) {
    Piece p;
    p.offset = c.range.offset;
    p.size = c.range.size;
    p.crlf_size = c.range.crlf_size;
    p.crlf_after = c.crlf_after;
    out->push_back(p);
  }
}

void AppendSection(const MessageView& v, StructureSource* src,
                   const proto::FetchSection& section,
                   std::optional<uint64_t> partial_offset,
                   std::optional<uint64_t> partial_length, std::string* out) {
  Pieces pieces;
  if (section.part.empty()) {
    TopLevelPieces(v.content, section.kind, section.fields, &pieces);
  } else {
    PartPieces(v, src, section, &pieces);
  }
  AppendPiecesLiteral(v.content, pieces, partial_offset, partial_length, out);
}

proto::FetchSection TopSection(Kind kind) {
  proto::FetchSection s;
  s.kind = kind;
  return s;
}

void AppendItem(const proto::FetchItem& item, const MessageView& v,
                StructureSource* src, std::string* out) {
  switch (item.att) {
    case Att::kFlags:
      out->append("FLAGS ");
      AppendFlagList(out, v.imap_flags, v.keywords);
      return;
    case Att::kInternalDate:
      out->append("INTERNALDATE ");
      out->append(proto::FormatInternalDate(v.internal_date, 0));
      return;
    case Att::kRfc822Size:
      out->append("RFC822.SIZE ");
      out->append(std::to_string(v.vsize));
      return;
    case Att::kEnvelope: {
      out->append("ENVELOPE ");
      const mime::Structure& s = src->Get(false);
      const int e = s.parts[0].envelope;
      if (e >= 0 && static_cast<size_t>(e) < s.envelopes.size()) {
        mime::AppendEnvelope(out, s.envelopes[static_cast<size_t>(e)]);
      } else {
        mime::AppendEnvelope(out, mime::Envelope());
      }
      return;
    }
    case Att::kBody:
      out->append("BODY ");
      mime::AppendBodyStructure(out, src->Get(false), 0, false);
      return;
    case Att::kBodyStructure:
      out->append("BODYSTRUCTURE ");
      mime::AppendBodyStructure(out, src->Get(false), 0, true);
      return;
    case Att::kUid:
      out->append("UID ");
      out->append(std::to_string(v.uid));
      return;
    case Att::kModSeq:
      out->append("MODSEQ (");
      out->append(std::to_string(v.modseq));
      out->push_back(')');
      return;
    case Att::kRfc822:
      out->append("RFC822 ");
      AppendSection(v, src, TopSection(Kind::kAll), {}, {}, out);
      return;
    case Att::kRfc822Header:
      out->append("RFC822.HEADER ");
      AppendSection(v, src, TopSection(Kind::kHeader), {}, {}, out);
      return;
    case Att::kRfc822Text:
      out->append("RFC822.TEXT ");
      AppendSection(v, src, TopSection(Kind::kText), {}, {}, out);
      return;
    case Att::kBodySection:
      // BODY.PEEK[...] answers as BODY[...] (RFC 3501 §7.4.2).
      out->append(proto::FetchItemResponseName(item));
      out->push_back(' ');
      AppendSection(v, src, item.section, item.partial_offset,
                    item.partial_length, out);
      return;
  }
}

bool Has(const proto::FetchRequest& r, Att att) {
  for (const proto::FetchItem& i : r.items) {
    if (i.att == att) return true;
  }
  return false;
}

}  // namespace

FetchNeeds NeedsOf(const proto::FetchRequest& request) {
  FetchNeeds n;
  bool full = false;  // content beyond the top-level header
  for (const proto::FetchItem& item : request.items) {
    switch (item.att) {
      case Att::kInternalDate:
      case Att::kRfc822Size:
        n.cold = true;
        break;
      case Att::kFlags:
      case Att::kUid:
      case Att::kModSeq:
        break;
      case Att::kEnvelope:
      case Att::kBody:
      case Att::kBodyStructure:
        n.structure = true;
        break;
      case Att::kRfc822Header:
        n.content = true;
        break;
      case Att::kRfc822:
      case Att::kRfc822Text:
        n.content = full = true;
        break;
      case Att::kBodySection:
        n.content = true;
        if (!item.section.part.empty()) {
          n.structure = full = true;
        } else if (item.section.kind == Kind::kAll ||
                   item.section.kind == Kind::kText) {
          full = true;
        }
        break;
    }
  }
  n.headers_only = n.content && !full;
  // Reading the file takes its size from the index.
  if (n.content || n.structure) n.cold = true;
  return n;
}

void RenderFetch(const proto::FetchRequest& request, const MessageView& view,
                 const FetchRenderOptions& options, std::string* out) {
  StructureSource src(view);
  out->append("* ");
  out->append(std::to_string(view.seq));
  out->append(" FETCH (");
  const size_t open = out->size();
  auto sep = [&] {
    if (out->size() != open) out->push_back(' ');
  };
  // RFC 3501 §6.4.8: UID FETCH always returns UID; Dovecot puts it first.
  if (options.uid_command && !Has(request, Att::kUid)) {
    out->append("UID ");
    out->append(std::to_string(view.uid));
  }
  for (const proto::FetchItem& item : request.items) {
    sep();
    AppendItem(item, view, &src, out);
  }
  if (options.add_flags && !Has(request, Att::kFlags)) {
    sep();
    out->append("FLAGS ");
    AppendFlagList(out, view.imap_flags, view.keywords);
  }
  // RFC 7162 §3.1.4.1: with CHANGEDSINCE, MODSEQ is reported.
  if (request.changedsince && !Has(request, Att::kModSeq)) {
    sep();
    out->append("MODSEQ (");
    out->append(std::to_string(view.modseq));
    out->push_back(')');
  }
  out->append(")\r\n");
}

void AppendCrlf(std::string_view lf, uint64_t skip, uint64_t take,
                std::string* out) {
  AppendCrlfWindow(lf.data(), lf.data() + lf.size(), false, skip, take, out);
}

uint64_t CrlfSize(std::string_view lf) {
  return lf.size() + CountBareLf(lf.data(), lf.data() + lf.size(), false);
}

}  // namespace ringmail::server::imap
