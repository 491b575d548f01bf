#include "protocols/mime/rfc822_lexer.h"

#include <cstring>

namespace ringmail::mime {
namespace {

bool IsAtext(unsigned char c) {
  if (c >= 0x80) return true;  // 8-bit text is tolerated (RFC 6532)
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool IsTokenChar(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return false;
  return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

}  // namespace

void Rfc822Lexer::SkipCfws(std::string* comment) {
  while (!AtEnd()) {
    const char c = s_[pos_];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++pos_;
      continue;
    }
    if (c != '(') return;
    std::string text;
    int depth = 0;
    while (!AtEnd()) {
      const char d = s_[pos_++];
      if (d == '\\' && !AtEnd()) {
        text.push_back(s_[pos_++]);
        continue;
      }
      if (d == '(') {
        if (depth++ == 0) continue;
      } else if (d == ')') {
        if (--depth == 0) break;
      } else if (d == '\r' || d == '\n') {
        continue;  // folding inside a comment
      }
      text.push_back(d);
    }
    if (comment != nullptr) *comment = std::move(text);
  }
}

std::string_view Rfc822Lexer::ReadAtom(bool dots) {
  const size_t start = pos_;
  while (!AtEnd()) {
    const unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (!IsAtext(c) && !(dots && c == '.')) break;
    ++pos_;
  }
  return s_.substr(start, pos_ - start);
}

std::string_view Rfc822Lexer::ReadToken() {
  const size_t start = pos_;
  while (!AtEnd() && IsTokenChar(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  return s_.substr(start, pos_ - start);
}

bool Rfc822Lexer::ReadQuoted(std::string* out) {
  if (Peek() != '"') return false;
  ++pos_;
  while (!AtEnd()) {
    const char c = s_[pos_++];
    if (c == '"') return true;
    if (c == '\\' && !AtEnd()) {
      out->push_back(s_[pos_++]);
    } else if (c != '\r' && c != '\n') {
      out->push_back(c);
    }
  }
  return true;  // unterminated: the rest of the input
}

bool Rfc822Lexer::ReadDomainLiteral(std::string* out) {
  if (Peek() != '[') return false;
  while (!AtEnd()) {
    const char c = s_[pos_++];
    if (c == '\r' || c == '\n' || c == ' ' || c == '\t') continue;
    out->push_back(c);
    if (c == ']') break;
  }
  return true;
}

}  // namespace ringmail::mime
