#include "protocols/mime/section.h"

#include "absl/status/status.h"
#include "protocols/mime/header.h"
#include "protocols/mime/rfc822_lexer.h"

namespace ringmail::mime {
namespace {

bool ConsumeKeyword(std::string_view* s, std::string_view kw) {
  if (s->size() < kw.size() || !EqualsIgnoreCase(s->substr(0, kw.size()), kw)) {
    return false;
  }
  s->remove_prefix(kw.size());
  return true;
}

absl::Status Bad(std::string_view why) {
  return absl::InvalidArgumentError(std::string("bad section: ") +
                                    std::string(why));
}

// " (name name ...)" after HEADER.FIELDS[.NOT].
absl::Status ParseFieldList(std::string_view s, std::vector<std::string>* out) {
  if (s.empty() || s[0] != ' ') return Bad("missing field list");
  s.remove_prefix(1);
  if (s.empty() || s[0] != '(' || s.back() != ')') return Bad("bad field list");
  s = s.substr(1, s.size() - 2);
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    std::string name;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        name.push_back(s[i++]);
      }
      if (i >= s.size()) return Bad("unterminated quoted field name");
      ++i;
    } else {
      while (i < s.size() && s[i] != ' ') {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' ||
            c == '"' || c == '\\') {
          return Bad("bad field name");
        }
        name.push_back(s[i++]);
      }
    }
    if (name.empty()) return Bad("empty field name");
    if (out->size() >= kMaxSectionFields) return Bad("too many field names");
    out->push_back(std::move(name));
  }
  if (out->empty()) return Bad("empty field list");
  return absl::OkStatus();
}

void AddChunk(SectionResult* r, std::string_view message, size_t offset,
              size_t size, bool crlf_after) {
  SectionChunk c;
  c.range = MakeRange(message, offset, size);
  c.crlf_after = crlf_after;
  r->crlf_size += c.range.crlf_size + (crlf_after ? 2 : 0);
  r->chunks.push_back(c);
}

void AddRange(SectionResult* r, const Range& range) {
  SectionChunk c;
  c.range = range;
  r->crlf_size += range.crlf_size;
  r->chunks.push_back(c);
}

bool Fits(const Range& r, size_t size) {
  return r.offset <= size && r.size <= size - r.offset;
}

}  // namespace

absl::StatusOr<SectionSpec> ParseSectionSpec(std::string_view s) {
  SectionSpec spec;
  while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    if (s[0] == '0') return Bad("part number 0");
    uint64_t n = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      n = n * 10 + static_cast<uint64_t>(s[0] - '0');
      if (n > 0xffffffffu) return Bad("part number too large");
      s.remove_prefix(1);
    }
    if (spec.path.size() >= kMaxSectionPath) return Bad("path too long");
    spec.path.push_back(static_cast<uint32_t>(n));
    if (s.empty()) return spec;
    if (s[0] != '.') return Bad("expected '.'");
    s.remove_prefix(1);
    if (s.empty()) return Bad("trailing '.'");
  }
  if (s.empty()) return spec;  // ""
  if (ConsumeKeyword(&s, "HEADER.FIELDS.NOT")) {
    spec.kind = SectionSpec::Kind::kHeaderFieldsNot;
  } else if (ConsumeKeyword(&s, "HEADER.FIELDS")) {
    spec.kind = SectionSpec::Kind::kHeaderFields;
  } else if (ConsumeKeyword(&s, "HEADER")) {
    spec.kind = SectionSpec::Kind::kHeader;
  } else if (ConsumeKeyword(&s, "TEXT")) {
    spec.kind = SectionSpec::Kind::kText;
  } else if (ConsumeKeyword(&s, "MIME")) {
    if (spec.path.empty()) return Bad("MIME needs a part number");
    spec.kind = SectionSpec::Kind::kMime;
  } else {
    return Bad("unknown section text");
  }
  if (spec.kind == SectionSpec::Kind::kHeaderFields ||
      spec.kind == SectionSpec::Kind::kHeaderFieldsNot) {
    absl::Status st = ParseFieldList(s, &spec.fields);
    if (!st.ok()) return st;
    return spec;
  }
  if (!s.empty()) return Bad("trailing characters");
  return spec;
}

absl::StatusOr<SectionResult> ResolveSection(const Structure& s,
                                             std::string_view message,
                                             const SectionSpec& spec) {
  if (s.parts.empty()) return absl::FailedPreconditionError("empty structure");
  for (const Part& p : s.parts) {
    if (!Fits(p.header, message.size()) || !Fits(p.body, message.size())) {
      return absl::FailedPreconditionError("structure does not fit message");
    }
  }
  SectionResult r;
  // Walk the path (Dovecot imap_msgpart_find_part).
  int part = 0;
  for (size_t i = 0; i < spec.path.size(); ++i) {
    const Part& p = s.parts[part];
    const uint32_t num = spec.path[i];
    const bool more = i + 1 < spec.path.size();
    if (p.is_multipart()) {
      int c = p.first_child;
      for (uint32_t k = 1; k < num && c >= 0; ++k) c = s.parts[c].next_sibling;
      if (c < 0) return r;  // not found
      part = c;
    } else if (num != 1 || (more && !p.is_message())) {
      return r;
    }
    if (more && s.parts[part].is_message()) part = s.parts[part].first_child;
  }

  const Part* p = &s.parts[part];
  using Kind = SectionSpec::Kind;
  if (spec.kind == Kind::kBody) {
    r.found = true;
    if (spec.path.empty()) {
      AddChunk(&r, message, 0, message.size(), false);
    } else {
      AddRange(&r, p->body);
    }
    return r;
  }
  if (spec.kind == Kind::kMime) {
    r.found = true;
    AddRange(&r, p->header);
    return r;
  }
  if (!spec.path.empty()) {
    if (!p->is_message()) return r;  // HEADER/TEXT of a non-message part
    p = &s.parts[p->first_child];
  }
  r.found = true;
  if (spec.kind == Kind::kHeader) {
    AddRange(&r, p->header);
    return r;
  }
  if (spec.kind == Kind::kText) {
    AddRange(&r, p->body);
    return r;
  }
  const bool negate = spec.kind == Kind::kHeaderFieldsNot;
  const std::string_view block =
      message.substr(p->header.offset, p->header.size);
  HeaderLimits hl;
  hl.max_fields = 100000;
  hl.max_field_length = static_cast<uint32_t>(-1);
  HeaderIterator it(block, hl);
  HeaderField f;
  while (it.Next(&f)) {
    bool listed = false;
    for (const std::string& name : spec.fields) {
      if (EqualsIgnoreCase(f.name, name)) {
        listed = true;
        break;
      }
    }
    if (listed == negate) continue;
    const bool has_newline = block[f.offset + f.size - 1] == '\n';
    AddChunk(&r, message, p->header.offset + f.offset, f.size, !has_newline);
  }
  AddChunk(&r, message, p->header.offset + p->header.size, 0, true);
  return r;
}

std::string RenderSection(std::string_view message, const SectionResult& r) {
  std::string out;
  out.reserve(r.crlf_size);
  for (const SectionChunk& c : r.chunks) {
    for (uint64_t i = c.range.offset; i < c.range.offset + c.range.size; ++i) {
      if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) {
        out.push_back('\r');
      }
      out.push_back(message[i]);
    }
    if (c.crlf_after) out.append("\r\n");
  }
  return out;
}

}  // namespace ringmail::mime
