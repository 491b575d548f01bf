#include "protocols/imap/mutf7.h"

#include <cstdint>

namespace ringmail::imap {
namespace {

constexpr char kB64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

// Decodes one code point; returns octets used or 0 on invalid UTF-8.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t v;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xc2 && c <= 0xdf) {
    n = 2, v = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, v = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, v = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xc0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3f);
  }
  if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
      (v >= 0xd800 && v <= 0xdfff)) {
    return 0;
  }
  *cp = v;
  return n;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

bool IsPrintableAscii(uint32_t cp) { return cp >= 0x20 && cp <= 0x7e; }

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool Utf8ToMutf7(std::string_view utf8, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < utf8.size()) {
    uint32_t cp;
    size_t n = DecodeUtf8(utf8, i, &cp);
    if (n == 0) return false;
    if (IsPrintableAscii(cp)) {
      out->push_back(static_cast<char>(cp));
      if (cp == '&') out->push_back('-');
      i += n;
      continue;
    }
    // Encode the run of non-printable characters as UTF-16BE in base64.
    out->push_back('&');
    uint32_t bits = 0;
    int nbits = 0;
    auto put16 = [&](uint32_t u) {
      bits = (bits << 16) | u;
      nbits += 16;
      while (nbits >= 6) {
        out->push_back(kB64[(bits >> (nbits - 6)) & 0x3f]);
        nbits -= 6;
      }
    };
    while (i < utf8.size()) {
      n = DecodeUtf8(utf8, i, &cp);
      if (n == 0) return false;
      if (IsPrintableAscii(cp)) break;
      if (cp >= 0x10000) {
        cp -= 0x10000;
        put16(0xd800 | (cp >> 10));
        put16(0xdc00 | (cp & 0x3ff));
      } else {
        put16(cp);
      }
      i += n;
    }
    if (nbits > 0) out->push_back(kB64[(bits << (6 - nbits)) & 0x3f]);
    out->push_back('-');
  }
  return true;
}

bool Mutf7ToUtf8(std::string_view in, std::string* out) {
  out->clear();
  bool prev_was_encoded = false;
  size_t i = 0;
  while (i < in.size()) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c > 0x7e) return false;
    if (c != '&') {
      out->push_back(static_cast<char>(c));
      prev_was_encoded = false;
      ++i;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {
      out->push_back('&');
      prev_was_encoded = false;
      ++i;
      continue;
    }
    // "&...-&...-" must have been one run.
    if (prev_was_encoded) return false;
    uint32_t bits = 0;
    int nbits = 0;
    uint32_t high = 0;  // pending high surrogate
    size_t units = 0;
    while (true) {
      if (i >= in.size()) return false;  // unterminated
      const char d = in[i++];
      if (d == '-') break;
      const int v = B64Value(d);
      if (v < 0) return false;
      bits = (bits << 6) | static_cast<uint32_t>(v);
      nbits += 6;
      if (nbits >= 16) {
        const uint32_t u = (bits >> (nbits - 16)) & 0xffff;
        nbits -= 16;
        bits &= (1u << nbits) - 1;
        ++units;
        if (high != 0) {
          if (u < 0xdc00 || u > 0xdfff) return false;
          AppendUtf8(0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00), out);
          high = 0;
        } else if (u >= 0xd800 && u <= 0xdbff) {
          high = u;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
          return false;
        } else {
          // Printable ASCII must be written directly (non-canonical).
          if (IsPrintableAscii(u) || u == 0) return false;
          AppendUtf8(u, out);
        }
      }
    }
    // Padding: fewer than 6 leftover bits, all zero; no empty run.
    if (units == 0 || high != 0 || nbits >= 6 || bits != 0) return false;
    prev_was_encoded = true;
  }
  return true;
}

bool MailboxNameToUtf8(std::string_view wire, bool utf8_accept,
                       std::string* out) {
  if (utf8_accept) {
    if (!IsValidUtf8(wire)) return false;
    out->assign(wire);
    return true;
  }
  return Mutf7ToUtf8(wire, out);
}

}  // namespace ringmail::imap
