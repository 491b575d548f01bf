#include "protocols/imap/fetch.h"

#include "protocols/imap/limits.h"

namespace ringmail::imap {
namespace {

// RFC 7162 §7: mod-sequence-value <= 2^63 - 1.
constexpr uint64_t kMaxModSeqNumber = (uint64_t{1} << 63) - 1;

bool Err(ArgError* err, std::string_view text) {
  err->text = text;
  return false;
}

bool Number(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = n;
  return true;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && EqualsIgnoreCase(s.substr(0, p.size()), p);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

// section-spec inside the brackets.
bool ParseSection(std::string_view s, FetchSection* sec, ArgError* err) {
  // section-part: nz-number *("." nz-number)
  while (!s.empty() && s[0] >= '0' && s[0] <= '9') {
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    uint64_t v;
    if (!Number(s.substr(0, n), &v) || v == 0 || v > 0xffffffffu ||
        sec->part.size() >= 64) {
      return Err(err, "Invalid section part");
    }
    sec->part.push_back(static_cast<uint32_t>(v));
    s.remove_prefix(n);
    if (s.empty()) return true;
    if (s[0] != '.') return Err(err, "Invalid section");
    s.remove_prefix(1);
    if (s.empty()) return Err(err, "Invalid section");
  }
  if (s.empty()) return true;
  if (EqualsIgnoreCase(s, "HEADER")) {
    sec->kind = FetchSection::Kind::kHeader;
  } else if (EqualsIgnoreCase(s, "TEXT")) {
    sec->kind = FetchSection::Kind::kText;
  } else if (EqualsIgnoreCase(s, "MIME")) {
    if (sec->part.empty()) return Err(err, "MIME needs a section part");
    sec->kind = FetchSection::Kind::kMime;
  } else if (StartsWithIgnoreCase(s, "HEADER.FIELDS")) {
    s.remove_prefix(13);
    sec->kind = FetchSection::Kind::kHeaderFields;
    if (StartsWithIgnoreCase(s, ".NOT")) {
      sec->kind = FetchSection::Kind::kHeaderFieldsNot;
      s.remove_prefix(4);
    }
    if (s.size() < 3 || s[0] != ' ' || s[1] != '(' || s.back() != ')') {
      return Err(err, "Invalid header field list");
    }
    s = s.substr(2, s.size() - 3);
    while (true) {
      const size_t sp = s.find(' ');
      const std::string_view f = s.substr(0, sp);
      if (f.empty()) return Err(err, "Invalid header field list");
      for (char c : f) {
        // header-fld-name = astring; field names are printable ASCII
        // without ':' (RFC 5322 §2.2). Quoted names are not accepted.
        if (c <= ' ' || c >= 0x7f || c == ':' || c == '"' || c == '(' ||
            c == ')' || c == '{' || c == '\\' || c == '[' || c == ']') {
          return Err(err, "Invalid header field name");
        }
      }
      if (sec->fields.size() >= kMaxHeaderFields) {
        return Err(err, "Too many header fields");
      }
      sec->fields.push_back(Upper(f));
      if (sp == std::string_view::npos) break;
      s.remove_prefix(sp + 1);
    }
  } else {
    return Err(err, "Invalid section");
  }
  return true;
}

bool ParseBodySection(std::string_view text, bool peek, FetchItem* item,
                      ArgError* err) {
  // text starts at '['.
  const size_t close = text.find(']');
  if (close == std::string_view::npos) return Err(err, "Missing ']'");
  item->att = FetchAtt::kBodySection;
  item->peek = peek;
  if (!ParseSection(text.substr(1, close - 1), &item->section, err)) {
    return false;
  }
  std::string_view rest = text.substr(close + 1);
  if (rest.empty()) return true;
  // partial = "<" number "." nz-number ">"
  if (rest.size() < 5 || rest.front() != '<' || rest.back() != '>') {
    return Err(err, "Invalid partial");
  }
  rest = rest.substr(1, rest.size() - 2);
  const size_t dot = rest.find('.');
  uint64_t off, len;
  if (dot == std::string_view::npos || !Number(rest.substr(0, dot), &off) ||
      !Number(rest.substr(dot + 1), &len) || len == 0) {
    return Err(err, "Invalid partial");
  }
  item->partial_offset = off;
  item->partial_length = len;
  return true;
}

bool AddAtt(const Arg& a, FetchRequest* out, ArgError* err) {
  if (a.type != ArgType::kAtom) return Err(err, "Invalid fetch attribute");
  if (out->items.size() >= kMaxFetchItems) return Err(err, "Too many fetch attributes");
  const std::string_view t = a.text;
  static constexpr std::pair<std::string_view, FetchAtt> kSimple[] = {
      {"FLAGS", FetchAtt::kFlags},
      {"INTERNALDATE", FetchAtt::kInternalDate},
      {"RFC822.SIZE", FetchAtt::kRfc822Size},
      {"ENVELOPE", FetchAtt::kEnvelope},
      {"BODY", FetchAtt::kBody},
      {"BODYSTRUCTURE", FetchAtt::kBodyStructure},
      {"UID", FetchAtt::kUid},
      {"RFC822", FetchAtt::kRfc822},
      {"RFC822.HEADER", FetchAtt::kRfc822Header},
      {"RFC822.TEXT", FetchAtt::kRfc822Text},
      {"MODSEQ", FetchAtt::kModSeq},
  };
  for (const auto& [name, att] : kSimple) {
    if (EqualsIgnoreCase(name, t)) {
      FetchItem item;
      item.att = att;
      if (att == FetchAtt::kRfc822 || att == FetchAtt::kRfc822Text) {
        out->sets_seen = true;
      }
      out->items.push_back(std::move(item));
      return true;
    }
  }
  FetchItem item;
  if (StartsWithIgnoreCase(t, "BODY.PEEK[")) {
    if (!ParseBodySection(t.substr(9), true, &item, err)) return false;
  } else if (StartsWithIgnoreCase(t, "BODY[")) {
    if (!ParseBodySection(t.substr(4), false, &item, err)) return false;
    out->sets_seen = true;
  } else {
    return Err(err, "Invalid fetch attribute");
  }
  out->items.push_back(std::move(item));
  return true;
}

bool AddMacro(std::string_view t, FetchRequest* out) {
  // RFC 3501 §6.4.5 macros.
  static constexpr FetchAtt kFast[] = {FetchAtt::kFlags, FetchAtt::kInternalDate,
                                       FetchAtt::kRfc822Size};
  if (!EqualsIgnoreCase(t, "ALL") && !EqualsIgnoreCase(t, "FAST") &&
      !EqualsIgnoreCase(t, "FULL")) {
    return false;
  }
  for (FetchAtt a : kFast) out->items.push_back(FetchItem{a});
  if (!EqualsIgnoreCase(t, "FAST")) out->items.push_back(FetchItem{FetchAtt::kEnvelope});
  if (EqualsIgnoreCase(t, "FULL")) out->items.push_back(FetchItem{FetchAtt::kBody});
  return true;
}

}  // namespace

bool ParseFetch(ArgList args, FetchRequest* out, ArgError* err) {
  if (args.empty()) return Err(err, "Missing fetch attributes");
  const Arg& a = args[0];
  if (a.type == ArgType::kList) {
    if (Children(a).empty()) return Err(err, "Empty fetch attribute list");
    for (const Arg& c : Children(a)) {
      if (!AddAtt(c, out, err)) return false;
    }
  } else if (!(a.type == ArgType::kAtom && AddMacro(a.text, out)) &&
             !AddAtt(a, out, err)) {
    return false;
  }
  if (args.size() == 1) return true;
  if (args.size() != 2 || args[1].type != ArgType::kList) {
    return Err(err, "Invalid fetch modifiers");
  }
  // fetch-modifier = "CHANGEDSINCE" SP mod-sequence-value / "VANISHED"
  // (RFC 7162 §3.1.4, §3.2.6), each at most once, in any order.
  ArgList mods = Children(args[1]);
  for (auto it = mods.begin(); it != mods.end(); ++it) {
    if (it->type == ArgType::kAtom && EqualsIgnoreCase(it->text, "VANISHED") &&
        !out->vanished) {
      out->vanished = true;
      continue;
    }
    if (it->type != ArgType::kAtom || !EqualsIgnoreCase(it->text, "CHANGEDSINCE") ||
        out->changedsince) {
      return Err(err, "Invalid fetch modifier");
    }
    ++it;
    // 0 is not a mod-sequence-value, but is accepted: "everything".
    if (it == mods.end() || it->type != ArgType::kNumber ||
        it->number > kMaxModSeqNumber) {
      return Err(err, "Invalid CHANGEDSINCE mod-sequence");
    }
    out->changedsince = it->number;
  }
  if (out->vanished && !out->changedsince) {
    return Err(err, "VANISHED needs CHANGEDSINCE");
  }
  return true;
}

std::string FetchItemResponseName(const FetchItem& item) {
  switch (item.att) {
    case FetchAtt::kFlags: return "FLAGS";
    case FetchAtt::kInternalDate: return "INTERNALDATE";
    case FetchAtt::kRfc822Size: return "RFC822.SIZE";
    case FetchAtt::kEnvelope: return "ENVELOPE";
    case FetchAtt::kBody: return "BODY";
    case FetchAtt::kBodyStructure: return "BODYSTRUCTURE";
    case FetchAtt::kUid: return "UID";
    case FetchAtt::kRfc822: return "RFC822";
    case FetchAtt::kRfc822Header: return "RFC822.HEADER";
    case FetchAtt::kRfc822Text: return "RFC822.TEXT";
    case FetchAtt::kModSeq: return "MODSEQ";
    case FetchAtt::kBodySection: break;
  }
  std::string s = "BODY[";
  for (size_t i = 0; i < item.section.part.size(); ++i) {
    if (i > 0) s.push_back('.');
    s += std::to_string(item.section.part[i]);
  }
  const bool dot = !item.section.part.empty();
  switch (item.section.kind) {
    case FetchSection::Kind::kAll: break;
    case FetchSection::Kind::kHeader: s += dot ? ".HEADER" : "HEADER"; break;
    case FetchSection::Kind::kText: s += dot ? ".TEXT" : "TEXT"; break;
    case FetchSection::Kind::kMime: s += ".MIME"; break;
    case FetchSection::Kind::kHeaderFields:
    case FetchSection::Kind::kHeaderFieldsNot:
      s += dot ? ".HEADER.FIELDS" : "HEADER.FIELDS";
      if (item.section.kind == FetchSection::Kind::kHeaderFieldsNot) s += ".NOT";
      s += " (";
      for (size_t i = 0; i < item.section.fields.size(); ++i) {
        if (i > 0) s.push_back(' ');
        s += item.section.fields[i];
      }
      s += ")";
      break;
  }
  s += "]";
  if (item.partial_offset) s += "<" + std::to_string(*item.partial_offset) + ">";
  return s;
}

}  // namespace ringmail::imap
