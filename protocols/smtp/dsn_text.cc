#include "protocols/smtp/dsn_text.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "protocols/smtp/address.h"

namespace ringmail::smtp::dsn_internal {
namespace {

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

size_t Utf8SequenceLength(std::string_view s, size_t i, char32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t len;
  char32_t v;
  char32_t min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, v = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, v = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    v = v << 6 | (cc & 0x3f);
  }
  // No overlong forms, no surrogates, nothing past U+10FFFF (RFC 3629 §3).
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = Utf8SequenceLength(s, i, &cp);
    if (n == 0) return false;
    i += n;
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
