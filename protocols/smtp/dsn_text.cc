#include "protocols/smtp/dsn_text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "common/utf8.h"
#include "protocols/smtp/address.h"

namespace ringmail::smtp::dsn_internal {
namespace {

using common::Utf8SequenceLength;

// Any line we write stays below this (RFC 5322 §2.1.1 allows 998).
constexpr size_t kMaxLine = 950;

enum class FoldMode : uint8_t {
  kField,  // RFC 5322 folding: the space moves to the continuation line
  kText,   // plain text: the space is dropped, continuation indented
};

// Appends `text` after `col` octets already on the current line, breaking
// lines as described for AppendFoldedField/AppendWrapped. Runs of spaces
// are collapsed to one (keeps every line bounded whatever the input).
void Fold(std::string_view text, size_t col, FoldMode mode,
          std::string* out) {
  const std::string_view brk = mode == FoldMode::kField ? "\n " : "\n    ";
  bool line_has_word = false;
  size_t i = 0;
  while (i < text.size()) {
    bool space = false;
    while (i < text.size() && text[i] == ' ') {
      space = true;
      ++i;
    }
    size_t end = i;
    while (end < text.size() && text[end] != ' ') ++end;
    std::string_view word = text.substr(i, end - i);
    i = end;
    if (space) {
      if (line_has_word && col + 1 + word.size() > kFoldColumn) {
        out->append(brk);
        col = brk.size() - 1;
      } else {
        out->push_back(' ');
        ++col;
      }
    }
    while (!word.empty()) {
      const std::string_view piece =
          word.substr(0, std::min(word.size(), kMaxWord));
      if (col + piece.size() > kMaxLine) {
        out->append(brk);
        col = brk.size() - 1;
      }
      out->append(piece);
      col += piece.size();
      word.remove_prefix(piece.size());
      line_has_word = true;
    }
  }
  out->push_back('\n');
}

}  // namespace

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void AppendClean(std::string_view s, bool utf8, std::string* out) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\t') {
      out->push_back(' ');
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out->push_back('?');
      ++i;
    } else if (c < 0x80) {
      out->push_back(static_cast<char>(c));
      ++i;
    } else {
      char32_t cp;
      const size_t n = utf8 ? Utf8SequenceLength(s, i, &cp) : 0;
      if (n == 0) {
        out->push_back('?');
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
    }
  }
}

std::string AddrSpec(std::string_view canonical) {
  const size_t at = canonical.rfind('@');
  const std::string_view local = canonical.substr(0, at);
  std::string out;
  if (IsDotString(local, /*utf8=*/true)) {  // RFC 6532 §3.2: UTF-8 is atext
    out.append(local);
  } else {
    out.push_back('"');
    for (char c : local) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  if (at != std::string_view::npos) out.append(canonical.substr(at));
  return out;
}

std::string Utf8AddrXtext(std::string_view addr) {
  std::string out;
  for (size_t i = 0; i < addr.size();) {
    char32_t cp;
    size_t n = Utf8SequenceLength(addr, i, &cp);
    if (n == 0) {
      cp = 0xfffd;
      n = 1;
    }
    i += n;
    if (cp >= 0x21 && cp <= 0x7e && cp != '+' && cp != '=' && cp != '\\') {
      out.push_back(static_cast<char>(cp));
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\x{%X}", static_cast<unsigned>(cp));
      out.append(buf);
    }
  }
  return out;
}

void AppendFoldedField(std::string_view name, std::string_view value,
                       std::string* out) {
  out->append(name);
  out->append(": ");
  Fold(value, name.size() + 2, FoldMode::kField, out);
}

void AppendWrapped(std::string_view text, std::string* out) {
  Fold(text, 0, FoldMode::kText, out);
}

}  // namespace ringmail::smtp::dsn_internal
