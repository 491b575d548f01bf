#include "storage/mailbox/mutf7.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace ringmail::storage {
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

// Decodes one code point at s[*i]; advances *i. -1 on malformed input.
int32_t NextCodePoint(std::string_view s, size_t* i) {
  unsigned char c = static_cast<unsigned char>(s[*i]);
  int len;
  int32_t cp;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (*i + len > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[*i + k]);
    if ((cc & 0xc0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return -1;
  }
  *i += len;
  return cp;
}

void AppendUtf8(std::string& out, int32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Base64 (modified alphabet, no padding) of UTF-16BE units, then '-'.
void FlushShifted(std::string& out, const std::vector<uint16_t>& units) {
  out += '&';
  uint32_t bits = 0;
  int nbits = 0;
  for (uint16_t u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      out += kB64[(bits >> (nbits - 6)) & 0x3f];
      nbits -= 6;
    }
  }
  if (nbits > 0) out += kB64[(bits << (6 - nbits)) & 0x3f];
  out += '-';
}

absl::Status Bad(std::string_view why) {
  return absl::InvalidArgumentError(std::string("modified UTF-7: ") +
                                    std::string(why));
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (NextCodePoint(s, &i) < 0) return false;
  }
  return true;
}

absl::StatusOr<std::string> EncodeMutf7(std::string_view utf8) {
  if (utf8.size() > kMaxMutf7InputBytes) return Bad("input too long");
  std::string out;
  std::vector<uint16_t> units;
  for (size_t i = 0; i < utf8.size();) {
    int32_t cp = NextCodePoint(utf8, &i);
    if (cp < 0) return Bad("invalid UTF-8");
    if (cp >= 0x20 && cp <= 0x7e) {
      if (!units.empty()) {
        FlushShifted(out, units);
        units.clear();
      }
      if (cp == '&') {
        out += "&-";
      } else {
        out += static_cast<char>(cp);
      }
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<uint16_t>(0xd800 | (cp >> 10)));
      units.push_back(static_cast<uint16_t>(0xdc00 | (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
  }
  if (!units.empty()) FlushShifted(out, units);
  return out;
}

absl::StatusOr<std::string> DecodeMutf7(std::string_view in) {
  if (in.size() > kMaxMutf7InputBytes) return Bad("input too long");
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return Bad("byte outside printable ASCII");
    }
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {
      out += '&';
      ++i;
      continue;
    }
    uint32_t bits = 0;
    int nbits = 0;
    int32_t high = -1;  // pending high surrogate
    size_t start = i;
    while (i < in.size() && in[i] != '-') {
      int v = B64Value(in[i]);
      if (v < 0) return Bad("bad base64 character");
      bits = (bits << 6) | static_cast<uint32_t>(v);
      nbits += 6;
      ++i;
      if (nbits < 16) continue;
      uint16_t u = static_cast<uint16_t>(bits >> (nbits - 16));
      nbits -= 16;
      bits &= (1u << nbits) - 1;
      if (high >= 0) {
        if (u < 0xdc00 || u > 0xdfff) return Bad("unpaired surrogate");
        AppendUtf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
        high = -1;
      } else if (u >= 0xd800 && u <= 0xdbff) {
        high = u;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return Bad("unpaired surrogate");
      } else if (u >= 0x20 && u <= 0x7e) {
        return Bad("printable ASCII must not be shifted");
      } else {
        AppendUtf8(out, u);
      }
    }
    if (i >= in.size()) return Bad("unterminated shift");
    if (i == start) return Bad("empty shift");
    if (high >= 0) return Bad("unpaired surrogate");
    if (nbits >= 6 || bits != 0) return Bad("non-zero padding");
    ++i;  // '-'
    // RFC 3501: "&AGE-&AGE-" must be one run; Dovecot rejects two adjacent.
    if (i < in.size() && in[i] == '&' &&
        !(i + 1 < in.size() && in[i + 1] == '-')) {
      return Bad("adjacent shifted runs");
    }
  }
  return out;
}

}  // namespace ringmail::storage
