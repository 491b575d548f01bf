#include "server/imap/search_eval.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "protocols/mime/date_time.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/encoded_word.h"
#include "protocols/mime/header.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;
using Key = proto::SearchKey;

// Decoded text is fed to the matcher in slices of this size so a large
// base64 part never sits decoded in memory as a whole.
constexpr size_t kDecodeSlice = 64 * 1024;

bool InSet(const proto::SequenceSet& set, uint32_t n, uint32_t max) {
  // Same meaning as SequenceSet::Resolve(max) but without allocating: "*"
  // is `max`, and a range is taken in either order (RFC 3501 §9), so
  // "n:*" with n > max still includes max (§6.4.8).
  for (const proto::SequenceSet::Range& r : set.raw()) {
    const uint32_t a = r.first == proto::SequenceSet::kStar ? max : r.first;
    const uint32_t b = r.last == proto::SequenceSet::kStar ? max : r.last;
    if (n >= std::min(a, b) && n <= std::max(a, b)) return true;
  }
  return false;
}

bool SetMatches(const proto::SearchNode& node, uint32_t n, uint32_t max,
                const MessageView& v, const SearchContext& ctx) {
  if (node.saved) {
    // RFC 5182: the saved result is kept as UIDs whichever key names it.
    return ctx.saved_uids != nullptr && ctx.saved_uids->Contains(v.uid);
  }
  return n != 0 && InSet(node.set, n, max);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool HasKeyword(const MessageView& v, std::string_view k) {
  for (std::string_view have : v.keywords) {
    if (mime::EqualsIgnoreCase(have, k)) return true;
  }
  return false;
}

// ---- headers -------------------------------------------------------------

// True if a top-level header field `name` contains `needle` (unfolded,
// encoded words decoded). An empty needle matches any message that has the
// field (RFC 3501 §6.4.4 HEADER). Every field counts, as FETCH
// BODY[HEADER.FIELDS] shows every field.
bool HeaderContains(std::string_view content, std::string_view name,
                    std::string_view needle) {
  mime::HeaderIterator it(content, mime::kWholeHeaderBlock);
  mime::HeaderField f;
  while (it.Next(&f)) {
    if (!mime::EqualsIgnoreCase(f.name, name)) continue;
    if (needle.empty()) return true;
    if (mime::ContainsIgnoreCase(mime::DecodeEncodedWords(mime::Unfold(f.raw_value)),
                                 needle)) {
      return true;
    }
  }
  return false;
}

bool SentDayMatches(const MessageView& v, Key key, int64_t days) {
  std::optional<mime::HeaderField> f = mime::FindField(v.content, "Date");
  if (!f) return false;
  std::optional<int64_t> day = ParseSentDay(mime::Unfold(f->raw_value));
  if (!day) return false;
  switch (key) {
    case Key::kSentBefore:
      return *day < days;
    case Key::kSentOn:
      return *day == days;
    default:
      return *day >= days;  // kSentSince
  }
}

// ---- bodies --------------------------------------------------------------

bool IsText(const mime::Part& p) {
  return mime::EqualsIgnoreCase(p.type, "text");
}

// Feeds the decoded body of one leaf part to `m`; true once it matched.
bool FeedPart(std::string_view body, const mime::Part& p,
              mime::SubstringMatcher* m) {
  const mime::TransferEncoding enc =
      mime::ParseTransferEncoding(p.encoding ? *p.encoding : std::string());
  if (enc == mime::TransferEncoding::kIdentity) {
    return m->Feed(body.substr(
        0, std::min<uint64_t>(body.size(), kMaxSearchDecodedPerPart)));
  }
  std::string buf;
  buf.reserve(kDecodeSlice);
  mime::Base64Decoder b64(kMaxSearchDecodedPerPart);
  mime::QuotedPrintableDecoder qp(kMaxSearchDecodedPerPart);
  for (size_t off = 0; off < body.size(); off += kDecodeSlice) {
    buf.clear();
    const std::string_view slice = body.substr(off, kDecodeSlice);
    if (enc == mime::TransferEncoding::kBase64) {
      b64.Feed(slice, &buf);
      if (b64.overflowed() && buf.empty()) break;
    } else {
      qp.Feed(slice, &buf);
      if (qp.overflowed() && buf.empty()) break;
    }
    if (m->Feed(buf)) return true;
  }
  if (enc == mime::TransferEncoding::kQuotedPrintable) {
    buf.clear();
    qp.Finish(&buf);
    return m->Feed(buf);
  }
  return m->matched();
}

// BODY (and the body half of TEXT): text/* leaves decoded, plus the headers
// of embedded messages, which are body text of the outer message. Multipart
// preambles and epilogues are not searched (as Dovecot).
bool BodyContains(const MessageView& v, std::string_view needle) {
  if (needle.empty()) return true;
  std::optional<mime::Structure> own;
  const mime::Structure& s = StructureOf(v, true, &own);
  mime::SubstringMatcher m(needle);
  // Parts are stored in depth-first order, so a flat walk visits them in
  // message order without recursion.
  for (size_t i = 0; i < s.parts.size(); ++i) {
    const mime::Part& p = s.parts[i];
    if (i > 0 && (p.flags & mime::kPartMessageRoot)) {
      m.Reset();
      if (m.Feed(v.content.substr(p.header.offset, p.header.size))) return true;
    }
    if (p.is_multipart() || p.is_message() || !IsText(p)) continue;
    m.Reset();
    if (FeedPart(v.content.substr(p.body.offset, p.body.size), p, &m)) {
      return true;
    }
  }
  return false;
}

bool TextContains(const MessageView& v, std::string_view needle) {
  if (needle.empty()) return true;
  mime::HeaderIterator it(v.content);
  mime::HeaderField f;
  while (it.Next(&f)) {
    if (mime::ContainsIgnoreCase(f.name, needle) ||
        mime::ContainsIgnoreCase(mime::DecodeEncodedWords(mime::Unfold(f.raw_value)),
                                 needle)) {
      return true;
    }
  }
  return BodyContains(v, needle);
}

std::string_view HeaderNameOf(Key k) {
  switch (k) {
    case Key::kFrom:
      return "From";
    case Key::kTo:
      return "To";
    case Key::kCc:
      return "Cc";
    case Key::kBcc:
      return "Bcc";
    default:
      return "Subject";
  }
}

}  // namespace

SearchNeeds NeedsOf(const proto::SearchNode& node) {
  switch (node.key) {
    case Key::kAnd:
    case Key::kNot:
    case Key::kOr: {
      SearchNeeds n = SearchNeeds::kIndex;
      for (const proto::SearchNode& c : node.children)
        n = std::max(n, NeedsOf(c));
      return n;
    }
    case Key::kFrom:
    case Key::kTo:
    case Key::kCc:
    case Key::kBcc:
    case Key::kSubject:
    case Key::kHeader:
    case Key::kSentBefore:
    case Key::kSentOn:
    case Key::kSentSince:
      return SearchNeeds::kHeaders;
    case Key::kBody:
    case Key::kText:
      return SearchNeeds::kBody;
    default:
      return SearchNeeds::kIndex;
  }
}

bool NeedsColdFields(const proto::SearchNode& node) {
  if (NeedsOf(node) != SearchNeeds::kIndex) return true;
  switch (node.key) {
    case Key::kBefore:
    case Key::kOn:
    case Key::kSince:
    case Key::kLarger:
    case Key::kSmaller:
      return true;
    default:
      for (const proto::SearchNode& c : node.children) {
        if (NeedsColdFields(c)) return true;
      }
      return false;
  }
}

bool Matches(const proto::SearchNode& node, const MessageView& v,
             const SearchContext& ctx) {
  const uint8_t f = v.imap_flags;
  switch (node.key) {
    case Key::kAnd:
      for (const proto::SearchNode& c : node.children) {
        if (!Matches(c, v, ctx)) return false;
      }
      return true;
    case Key::kNot:
      assert(node.children.size() == 1);
      return node.children.empty() || !Matches(node.children[0], v, ctx);
    case Key::kOr:
      assert(node.children.size() == 2);
      for (const proto::SearchNode& c : node.children) {
        if (Matches(c, v, ctx)) return true;
      }
      return false;
    case Key::kAll:
      return true;
    case Key::kAnswered:
      return f & proto::kFlagAnswered;
    case Key::kDeleted:
      return f & proto::kFlagDeleted;
    case Key::kDraft:
      return f & proto::kFlagDraft;
    case Key::kFlagged:
      return f & proto::kFlagFlagged;
    case Key::kSeen:
      return f & proto::kFlagSeen;
    case Key::kRecent:
      return f & proto::kFlagRecent;
    case Key::kUnanswered:
      return !(f & proto::kFlagAnswered);
    case Key::kUndeleted:
      return !(f & proto::kFlagDeleted);
    case Key::kUndraft:
      return !(f & proto::kFlagDraft);
    case Key::kUnflagged:
      return !(f & proto::kFlagFlagged);
    case Key::kUnseen:
      return !(f & proto::kFlagSeen);
    // RFC 3501 §6.4.4: NEW = RECENT UNSEEN, OLD = NOT RECENT.
    case Key::kNew:
      return (f & proto::kFlagRecent) && !(f & proto::kFlagSeen);
    case Key::kOld:
      return !(f & proto::kFlagRecent);
    case Key::kKeyword:
      return HasKeyword(v, node.str);
    case Key::kUnkeyword:
      return !HasKeyword(v, node.str);
    case Key::kLarger:
      return v.vsize > node.number;
    case Key::kSmaller:
      return v.vsize < node.number;
    case Key::kModSeq:
      return v.modseq >= node.number;
    // Internal date keys compare the UTC day (time and zone disregarded,
    // RFC 3501 §6.4.4; Dovecot's default).
    case Key::kBefore:
      return FloorDiv(v.internal_date, 86400) < node.days;
    case Key::kOn:
      return FloorDiv(v.internal_date, 86400) == node.days;
    case Key::kSince:
      return FloorDiv(v.internal_date, 86400) >= node.days;
    case Key::kSentBefore:
    case Key::kSentOn:
    case Key::kSentSince:
      return SentDayMatches(v, node.key, node.days);
    case Key::kFrom:
    case Key::kTo:
    case Key::kCc:
    case Key::kBcc:
    case Key::kSubject:
      return HeaderContains(v.content, HeaderNameOf(node.key), node.str);
    case Key::kHeader:
      return HeaderContains(v.content, node.field, node.str);
    case Key::kBody:
      return BodyContains(v, node.str);
    case Key::kText:
      return TextContains(v, node.str);
    case Key::kUid:
      return SetMatches(node, v.uid, ctx.max_uid, v, ctx);
    case Key::kSequenceSet:
      return SetMatches(node, v.seq, ctx.max_seq, v, ctx);
  }
  return false;
}

std::optional<int64_t> ParseSentDay(std::string_view s) {
  return mime::ParseDateDay(s);
}

}  // namespace ringmail::server::imap
