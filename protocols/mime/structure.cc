#include "protocols/mime/structure.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "absl/status/status.h"
#include "protocols/mime/header.h"

namespace ringmail::mime {
namespace {

// Recursion is two frames per nesting level; cap it whatever the caller asks.
constexpr uint32_t kMaxDepthCap = 256;

struct EnvelopeField {
  std::string_view name;
  std::optional<std::string> Envelope::*member;
};
constexpr EnvelopeField kEnvelopeFields[] = {
    {"Date", &Envelope::date},       {"Subject", &Envelope::subject},
    {"From", &Envelope::from},       {"Sender", &Envelope::sender},
    {"Reply-To", &Envelope::reply_to}, {"To", &Envelope::to},
    {"Cc", &Envelope::cc},           {"Bcc", &Envelope::bcc},
    {"In-Reply-To", &Envelope::in_reply_to},
    {"Message-ID", &Envelope::message_id},
};

class Parser {
 public:
  Parser(std::string_view m, const Limits& limits, Structure* s)
      : m_(m), limits_(limits), s_(s) {
    max_depth_ = std::min(limits.max_depth, kMaxDepthCap);
  }

  void Run() {
    ParsePart(0, -1, 0, /*digest_child=*/false, /*message_root=*/true);
    assert(boundaries_.empty());
  }

 private:
  // Where a part ended: at the start of a boundary line (boundary >= 0 is
  // its index in boundaries_) or at the end of the message (boundary -1).
  struct End {
    size_t pos;
    int boundary = -1;
    bool close = false;
  };

  size_t LineEnd(size_t p) const {
    const void* nl = std::memchr(m_.data() + p, '\n', m_.size() - p);
    return nl == nullptr ? m_.size()
                         : static_cast<size_t>(static_cast<const char*>(nl) -
                                               m_.data());
  }
  size_t NextLine(size_t p) const {
    const size_t e = LineEnd(p);
    return e < m_.size() ? e + 1 : e;
  }

  // RFC 2046 §5.1.1 delimiter line at `p`. Prefix match like Dovecot; the
  // longest active boundary wins, the innermost on a tie.
  bool MatchBoundary(size_t p, End* end) const {
    if (m_.size() - p < 2 || m_[p] != '-' || m_[p + 1] != '-') return false;
    int best = -1;
    size_t best_len = 0;
    const size_t avail = m_.size() - p - 2;
    for (int i = static_cast<int>(boundaries_.size()) - 1; i >= 0; --i) {
      const std::string& b = boundaries_[i];
      if (b.size() <= avail && b.size() > best_len &&
          std::memcmp(m_.data() + p + 2, b.data(), b.size()) == 0) {
        best = i;
        best_len = b.size();
      }
    }
    if (best < 0) return false;
    const size_t q = p + 2 + best_len;
    end->pos = p;
    end->boundary = best;
    end->close = m_.size() - q >= 2 && m_[q] == '-' && m_[q + 1] == '-';
    return true;
  }

  End ScanToBoundary(size_t p) const {
    End e{m_.size()};
    if (boundaries_.empty()) return e;
    while (p < m_.size()) {
      if (MatchBoundary(p, &e)) return e;
      p = NextLine(p);
    }
    return End{m_.size()};
  }

  // The newline before a delimiter belongs to the delimiter (RFC 2046
  // §5.1.1), so a part ends before it; never before `floor`.
  size_t ContentEnd(const End& e, size_t floor) const {
    size_t end = e.pos;
    if (e.boundary < 0) return end;
    if (end > floor && m_[end - 1] == '\n') {
      --end;
      if (end > floor && m_[end - 1] == '\r') --end;
    }
    return std::max(end, floor);
  }

  int NewPart(int parent) {
    const int idx = static_cast<int>(s_->parts.size());
    s_->parts.emplace_back();
    last_child_.push_back(-1);
    Part& p = s_->parts[idx];
    p.parent = parent;
    if (parent >= 0) {
      Part& par = s_->parts[parent];
      if (last_child_[parent] < 0) {
        par.first_child = idx;
      } else {
        s_->parts[last_child_[parent]].next_sibling = idx;
      }
      last_child_[parent] = idx;
      ++par.child_count;
    }
    return idx;
  }

  void ReadFields(int idx, std::string_view block, bool digest_child,
                  bool message_root) {
    Part& part = s_->parts[idx];
    Envelope env;
    HeaderLimits hl;
    hl.max_fields = limits_.max_header_fields;
    hl.max_field_length = limits_.max_field_length;
    HeaderIterator it(block, hl);
    HeaderField f;
    bool seen_type = false, have_type = false, seen_disposition = false,
         seen_language = false;
    auto take = [&](std::optional<std::string>* slot) {
      if (!*slot) *slot = Unfold(f.raw_value);
    };
    while (it.Next(&f)) {
      if (message_root) {
        for (const EnvelopeField& ef : kEnvelopeFields) {
          if (EqualsIgnoreCase(f.name, ef.name)) take(&(env.*ef.member));
        }
      }
      if (f.name.size() < 8 || !EqualsIgnoreCase(f.name.substr(0, 8), "Content-")) {
        continue;
      }
      const std::string_view n = f.name.substr(8);
      if (EqualsIgnoreCase(n, "Type")) {
        if (seen_type) continue;
        seen_type = true;
        have_type = ParseContentType(Unfold(f.raw_value), &part.type,
                                     &part.subtype, &part.params);
      } else if (EqualsIgnoreCase(n, "Transfer-Encoding")) {
        if (!part.encoding) part.encoding = ParseSingleToken(Unfold(f.raw_value));
      } else if (EqualsIgnoreCase(n, "ID")) {
        take(&part.id);
      } else if (EqualsIgnoreCase(n, "Description")) {
        take(&part.description);
      } else if (EqualsIgnoreCase(n, "MD5")) {
        take(&part.md5);
      } else if (EqualsIgnoreCase(n, "Location")) {
        take(&part.location);
      } else if (EqualsIgnoreCase(n, "Disposition")) {
        if (seen_disposition) continue;
        seen_disposition = true;
        std::string type;
        if (ParseDisposition(Unfold(f.raw_value), &type,
                             &part.disposition_params)) {
          part.disposition = std::move(type);
        }
      } else if (EqualsIgnoreCase(n, "Language")) {
        if (seen_language) continue;
        seen_language = true;
        part.language = ParseLanguage(Unfold(f.raw_value));
      }
    }
    if (part.encoding && part.encoding->empty()) part.encoding.reset();
    if (!have_type) {
      // RFC 2045 §5.2; RFC 2046 §5.1.5 for multipart/digest children.
      part.params.clear();
      if (digest_child) {
        part.type = "message";
        part.subtype = "rfc822";
      } else {
        SetTextPlain(&part);
      }
    }
    if (message_root) {
      part.flags |= kPartMessageRoot;
      part.envelope = static_cast<int32_t>(s_->envelopes.size());
      s_->envelopes.push_back(std::move(env));
    }
  }

  static void SetTextPlain(Part* part) {
    part->type = "text";
    part->subtype = "plain";
    part->params.clear();
    part->params.push_back(Param{"charset", "us-ascii"});
  }

  End ParsePart(size_t pos, int parent, uint32_t depth, bool digest_child,
                bool message_root) {
    const int idx = NewPart(parent);
    // Header: up to the empty line, a boundary line, or the end.
    size_t p = pos;
    End end{m_.size()};
    bool hit_boundary = false;
    while (p < m_.size()) {
      const size_t e = LineEnd(p);
      if (e == p || (e == p + 1 && m_[p] == '\r')) {
        p = e < m_.size() ? e + 1 : e;
        break;
      }
      if (MatchBoundary(p, &end)) {
        hit_boundary = true;
        break;
      }
      p = e < m_.size() ? e + 1 : e;
    }
    const size_t header_end = hit_boundary ? ContentEnd(end, pos) : p;
    ReadFields(idx, m_.substr(pos, header_end - pos), digest_child,
               message_root);
    s_->parts[idx].header = MakeRange(m_, pos, header_end - pos);
    if (hit_boundary) {
      s_->parts[idx].body = MakeRange(m_, header_end, 0);
      // No body at all: containers cannot be expanded.
      Part& part = s_->parts[idx];
      if (EqualsIgnoreCase(part.type, "multipart")) {
        SetTextPlain(&part);
        part.flags |= kPartDegraded;
      } else if (EqualsIgnoreCase(part.type, "message")) {
        part.type = "application";
        part.subtype = "octet-stream";
        part.params.clear();
        part.flags |= kPartDegraded;
      }
      return end;
    }

    const size_t body_start = p;
    Part& part = s_->parts[idx];
    const bool multipart = EqualsIgnoreCase(part.type, "multipart");
    const bool message =
        EqualsIgnoreCase(part.type, "message") &&
        (EqualsIgnoreCase(part.subtype, "rfc822") ||
         EqualsIgnoreCase(part.subtype, "global"));
    if (multipart) {
      const std::string* b = FindParam(part.params, "boundary");
      if (b != nullptr && !b->empty() &&
          b->size() <= limits_.max_boundary_length && depth < max_depth_) {
        part.flags |= kPartMultipart;
        const bool digest = EqualsIgnoreCase(part.subtype, "digest");
        end = ParseMultipart(idx, body_start, depth, *b, digest);
      } else {
        if (depth >= max_depth_) s_->truncated = true;
        SetTextPlain(&part);
        part.flags |= kPartDegraded;
        end = ScanToBoundary(body_start);
      }
    } else if (message) {
      if (depth < max_depth_ && s_->parts.size() < limits_.max_parts) {
        part.flags |= kPartMessage;
        end = ParsePart(body_start, idx, depth + 1, false, true);
      } else {
        s_->truncated = true;
        part.type = "application";
        part.subtype = "octet-stream";
        part.params.clear();
        part.flags |= kPartDegraded;
        end = ScanToBoundary(body_start);
      }
    } else {
      end = ScanToBoundary(body_start);
    }
    const size_t body_end = ContentEnd(end, body_start);
    s_->parts[idx].body = MakeRange(m_, body_start, body_end - body_start);
    return end;
  }

  End ParseMultipart(int idx, size_t pos, uint32_t depth,
                     std::string boundary, bool digest) {
    boundaries_.push_back(std::move(boundary));
    const int own = static_cast<int>(boundaries_.size()) - 1;
    End e = ScanToBoundary(pos);  // preamble
    while (e.boundary == own) {
      if (e.close) {
        boundaries_.pop_back();
        return ScanToBoundary(NextLine(e.pos));  // epilogue
      }
      const size_t child = NextLine(e.pos);
      if (s_->parts.size() >= limits_.max_parts) {
        s_->truncated = true;
        e = ScanToBoundary(child);
        continue;
      }
      e = ParsePart(child, idx, depth + 1, digest, false);
    }
    // End of message or an outer boundary: the close delimiter is missing.
    boundaries_.pop_back();
    return e;
  }

  std::string_view m_;
  const Limits& limits_;
  Structure* s_;
  uint32_t max_depth_;
  std::vector<std::string> boundaries_;  // active, outermost first
  std::vector<int> last_child_;          // per part, for O(1) linking
};

}  // namespace

Range MakeRange(std::string_view message, size_t offset, size_t size) {
  assert(offset <= message.size() && size <= message.size() - offset);
  Range r;
  r.offset = offset;
  r.size = size;
  uint64_t lines = 0, bare = 0;
  const char* p = message.data() + offset;
  const char* end = p + size;
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (nl == nullptr) break;
    const char* q = static_cast<const char*>(nl);
    ++lines;
    if (q == message.data() || q[-1] != '\r') ++bare;
    p = q + 1;
  }
  r.lines = lines;
  r.crlf_size = size + bare;
  return r;
}

absl::StatusOr<Structure> ParseStructure(std::string_view message,
                                         const Limits& limits) {
  if (message.size() > limits.max_message_size) {
    return absl::InvalidArgumentError("message exceeds max_message_size");
  }
  Structure s;
  Parser(message, limits, &s).Run();
  return s;
}

}  // namespace ringmail::mime
