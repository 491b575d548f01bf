#include "protocols/smtp/xtext.h"

namespace ringmail::smtp {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// xchar of RFC 3461 §4: '!'..'~' except '+' and '='.
bool IsXchar(unsigned char c) {
  return c >= 0x21 && c <= 0x7e && c != '+' && c != '=';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> XtextDecode(std::string_view xtext) {
  std::string out;
  out.reserve(xtext.size());
  for (size_t i = 0; i < xtext.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(xtext[i]);
    if (c == '+') {
      if (xtext.size() - i < 3) return std::nullopt;
      const int hi = HexValue(xtext[i + 1]);
      const int lo = HexValue(xtext[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (IsXchar(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string XtextEncode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (IsXchar(c)) {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace ringmail::smtp
