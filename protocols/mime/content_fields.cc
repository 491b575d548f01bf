#include "protocols/mime/content_fields.h"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "protocols/mime/header.h"
#include "protocols/mime/rfc822_lexer.h"

namespace ringmail::mime {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// RFC 2231 §3: "name*0", "name*1*", ... are joined in order into "name"
// (or "name*" when the first section is extended, keeping the charset'lang'
// prefix raw as Dovecot does). Other parameters pass through unchanged.
void JoinContinuations(std::vector<Param>* params) {
  struct Section { bool extended; std::string value; };
  std::map<std::string, std::map<unsigned, Section>> joined;
  std::vector<Param> out;
  std::vector<std::string> order;
  for (Param& p : *params) {
    const size_t star = p.name.find('*');
    if (star == std::string::npos || star + 1 >= p.name.size() ||
        p.name[star + 1] < '0' || p.name[star + 1] > '9') {
      out.push_back(std::move(p));
      continue;
    }
    std::string base = p.name.substr(0, star);
    std::string rest = p.name.substr(star + 1);
    const bool extended = !rest.empty() && rest.back() == '*';
    if (extended) rest.pop_back();
    if (rest.size() > 3 || rest.find_first_not_of("0123456789") !=
                               std::string::npos) {
      out.push_back(std::move(p));
      continue;
    }
    const unsigned index = static_cast<unsigned>(std::atoi(rest.c_str()));
    auto [it, inserted] = joined.try_emplace(base);
    if (inserted) order.push_back(base);
    it->second.emplace(index, Section{extended, std::move(p.value)});
  }
  for (const std::string& base : order) {
    const auto& sections = joined[base];
    Param p;
    p.name = base;
    if (sections.begin()->second.extended) p.name.push_back('*');
    unsigned expect = 0;
    for (const auto& [index, section] : sections) {
      if (index != expect++) break;  // a gap ends the value (RFC 2231 §3)
      p.value += section.value;
    }
    out.push_back(std::move(p));
  }
  *params = std::move(out);
}

void ParseParams(Rfc822Lexer* lex, std::vector<Param>* params) {
  while (true) {
    lex->SkipCfws();
    if (lex->Peek() != ';') break;
    lex->Advance();
    lex->SkipCfws();
    const std::string_view name = lex->ReadToken();
    if (name.empty()) break;
    lex->SkipCfws();
    if (lex->Peek() != '=') break;
    lex->Advance();
    lex->SkipCfws();
    Param p;
    p.name = LowerAscii(name);
    if (lex->Peek() == '"') {
      lex->ReadQuoted(&p.value);
    } else {
      const std::string_view v = lex->ReadToken();
      if (v.empty()) break;
      p.value.assign(v.data(), v.size());
    }
    if (params->size() < kMaxParams) params->push_back(std::move(p));
  }
  JoinContinuations(params);
}

}  // namespace

bool ParseContentType(std::string_view value, std::string* type,
                      std::string* subtype, std::vector<Param>* params) {
  Rfc822Lexer lex(value);
  lex.SkipCfws();
  const std::string_view t = lex.ReadToken();
  lex.SkipCfws();
  if (t.empty() || lex.Peek() != '/') return false;
  lex.Advance();
  lex.SkipCfws();
  const std::string_view st = lex.ReadToken();
  if (st.empty()) return false;
  type->assign(t.data(), t.size());
  subtype->assign(st.data(), st.size());
  params->clear();
  ParseParams(&lex, params);
  return true;
}

bool ParseDisposition(std::string_view value, std::string* type,
                      std::vector<Param>* params) {
  Rfc822Lexer lex(value);
  lex.SkipCfws();
  const std::string_view t = lex.ReadToken();
  if (t.empty()) return false;
  type->assign(t.data(), t.size());
  params->clear();
  ParseParams(&lex, params);
  return true;
}

std::vector<std::string> ParseLanguage(std::string_view value) {
  std::vector<std::string> out;
  Rfc822Lexer lex(value);
  while (out.size() < kMaxParams) {
    lex.SkipCfws();
    if (lex.AtEnd()) break;
    if (lex.Peek() == ',') {
      lex.Advance();
      continue;
    }
    const std::string_view tag = lex.ReadToken();
    if (tag.empty()) {
      lex.Advance();  // junk octet: skip it
      continue;
    }
    out.emplace_back(tag);
  }
  return out;
}

std::string ParseSingleToken(std::string_view value) {
  Rfc822Lexer lex(value);
  lex.SkipCfws();
  const std::string_view t = lex.ReadToken();
  return std::string(t);
}

const std::string* FindParam(const std::vector<Param>& params,
                             std::string_view name) {
  for (const Param& p : params) {
    if (EqualsIgnoreCase(p.name, name)) return &p.value;
  }
  return nullptr;
}

}  // namespace ringmail::mime
