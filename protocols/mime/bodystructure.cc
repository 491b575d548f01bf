#include "protocols/mime/bodystructure.h"

#include <cassert>

#include "protocols/mime/envelope.h"
#include "protocols/mime/header.h"
#include "protocols/mime/imap_string.h"

namespace ringmail::mime {
namespace {

constexpr int kMaxFormatDepth = 600;
constexpr std::string_view kEmptyBody =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
constexpr std::string_view kEmptyBodyStructure =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL "
    "NIL NIL NIL)";

void AppendParams(std::string* out, const std::vector<Param>& params,
                  bool default_charset) {
  if (params.empty() && !default_charset) {
    out->append("NIL");
    return;
  }
  out->push_back('(');
  bool seen_charset = false;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out->push_back(' ');
    if (EqualsIgnoreCase(params[i].name, "charset")) seen_charset = true;
    AppendImapString(out, params[i].name);
    out->push_back(' ');
    AppendImapString(out, params[i].value);
  }
  if (default_charset && !seen_charset) {
    if (!params.empty()) out->push_back(' ');
    out->append("\"charset\" \"us-ascii\"");
  }
  out->push_back(')');
}

// disposition, language, location (shared by leaves and multiparts).
void AppendCommonExtension(std::string* out, const Part& p) {
  out->push_back(' ');
  if (!p.disposition) {
    out->append("NIL");
  } else {
    out->push_back('(');
    AppendImapString(out, *p.disposition);
    out->push_back(' ');
    AppendParams(out, p.disposition_params, false);
    out->push_back(')');
  }
  out->push_back(' ');
  if (p.language.empty()) {
    out->append("NIL");
  } else {
    out->push_back('(');
    for (size_t i = 0; i < p.language.size(); ++i) {
      if (i > 0) out->push_back(' ');
      AppendImapString(out, p.language[i]);
    }
    out->push_back(')');
  }
  out->push_back(' ');
  AppendImapNString(out, p.location);
}

void AppendPart(std::string* out, const Structure& s, int idx, bool extended,
                int depth) {
  assert(idx >= 0 && static_cast<size_t>(idx) < s.parts.size());
  if (depth > kMaxFormatDepth) {
    out->append(extended ? kEmptyBodyStructure : kEmptyBody);
    return;
  }
  const Part& p = s.parts[idx];
  out->push_back('(');
  if (p.is_multipart()) {
    if (p.first_child < 0) out->append(extended ? kEmptyBodyStructure : kEmptyBody);
    for (int c = p.first_child; c >= 0; c = s.parts[c].next_sibling) {
      AppendPart(out, s, c, extended, depth + 1);
    }
    out->push_back(' ');
    AppendImapString(out, p.subtype);
    if (extended) {
      out->push_back(' ');
      AppendParams(out, p.params, false);
      AppendCommonExtension(out, p);
    }
    out->push_back(')');
    return;
  }
  const bool text = EqualsIgnoreCase(p.type, "text");
  AppendImapString(out, p.type);
  out->push_back(' ');
  AppendImapString(out, p.subtype);
  out->push_back(' ');
  AppendParams(out, p.params, text);
  out->push_back(' ');
  AppendImapNString(out, p.id);
  out->push_back(' ');
  AppendImapNString(out, p.description);
  out->push_back(' ');
  if (p.encoding) {
    AppendImapString(out, *p.encoding);
  } else {
    out->append("\"7bit\"");
  }
  out->push_back(' ');
  out->append(std::to_string(p.body.crlf_size));
  if (text) {
    out->push_back(' ');
    out->append(std::to_string(p.body.lines));
  } else if (p.is_message() && p.first_child >= 0) {
    const Part& child = s.parts[p.first_child];
    out->push_back(' ');
    if (child.envelope >= 0) {
      AppendEnvelope(out, s.envelopes[child.envelope]);
    } else {
      AppendEnvelope(out, Envelope());
    }
    out->push_back(' ');
    AppendPart(out, s, p.first_child, extended, depth + 1);
    out->push_back(' ');
    out->append(std::to_string(p.body.lines));
  }
  if (extended) {
    out->push_back(' ');
    AppendImapNString(out, p.md5);
    AppendCommonExtension(out, p);
  }
  out->push_back(')');
}

}  // namespace

void AppendBodyStructure(std::string* out, const Structure& s, int part,
                         bool extended) {
  AppendPart(out, s, part, extended, 0);
}

std::string FormatBodyStructure(const Structure& s, bool extended) {
  std::string out;
  if (!s.parts.empty()) AppendBodyStructure(&out, s, 0, extended);
  return out;
}

}  // namespace ringmail::mime
