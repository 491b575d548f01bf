#include "common/mutf7.h"

#include <cstdint>
#include <vector>

#include "common/utf8.h"

namespace ringmail::common {
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

bool IsPrintableAscii(char32_t cp) { return cp >= 0x20 && cp <= 0x7e; }

// Base64 (modified alphabet, no padding) of UTF-16BE units, then '-'.
void FlushShifted(const std::vector<uint16_t>& units, std::string* out) {
  out->push_back('&');
  uint32_t bits = 0;
  int nbits = 0;
  for (uint16_t u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      out->push_back(kB64[(bits >> (nbits - 6)) & 0x3f]);
      nbits -= 6;
    }
  }
  if (nbits > 0) out->push_back(kB64[(bits << (6 - nbits)) & 0x3f]);
  out->push_back('-');
}

bool Fail(const char* reason, const char** why) {
  if (why != nullptr) *why = reason;
  return false;
}

}  // namespace

bool EncodeMutf7(std::string_view utf8, std::string* out, const char** why) {
  out->clear();
  if (utf8.size() > kMaxMutf7InputBytes) return Fail("input too long", why);
  std::vector<uint16_t> units;
  for (size_t i = 0; i < utf8.size();) {
    char32_t cp;
    const size_t n = Utf8SequenceLength(utf8, i, &cp);
    if (n == 0) return Fail("invalid UTF-8", why);
    i += n;
    if (IsPrintableAscii(cp)) {
      if (!units.empty()) {
        FlushShifted(units, out);
        units.clear();
      }
      out->push_back(static_cast<char>(cp));
      if (cp == '&') out->push_back('-');
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
  if (!units.empty()) FlushShifted(units, out);
  // The encoded form may be longer than the input ('&' doubles, a shifted
  // run takes 8/3 octets a unit): refuse what DecodeMutf7 would refuse, so
  // every accepted name also comes back (found by mutf7_fuzzer).
  if (out->size() > kMaxMutf7InputBytes) return Fail("encoded form too long", why);
  return true;
}

bool DecodeMutf7(std::string_view in, std::string* out, const char** why) {
  out->clear();
  if (in.size() > kMaxMutf7InputBytes) return Fail("input too long", why);
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (!IsPrintableAscii(static_cast<unsigned char>(c))) {
      return Fail("octet outside printable ASCII", why);
    }
    ++i;
    if (c != '&') {
      out->push_back(c);
      continue;
    }
    if (i < in.size() && in[i] == '-') {
      out->push_back('&');
      ++i;
      continue;
    }
    uint32_t bits = 0;
    int nbits = 0;
    uint32_t high = 0;  // pending high surrogate
    while (i < in.size() && in[i] != '-') {
      const int v = B64Value(in[i]);
      if (v < 0) return Fail("bad base64 character", why);
      bits = (bits << 6) | static_cast<uint32_t>(v);
      nbits += 6;
      ++i;
      if (nbits < 16) continue;
      const uint32_t u = (bits >> (nbits - 16)) & 0xffff;
      nbits -= 16;
      bits &= (1u << nbits) - 1;
      if (high != 0) {
        if (u < 0xdc00 || u > 0xdfff) return Fail("unpaired surrogate", why);
        AppendUtf8(0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00), out);
        high = 0;
      } else if (u >= 0xd800 && u <= 0xdbff) {
        high = u;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return Fail("unpaired surrogate", why);
      } else if (IsPrintableAscii(u) || u == 0) {
        return Fail("printable ASCII or NUL inside a shifted run", why);
      } else {
        AppendUtf8(u, out);
      }
    }
    if (i >= in.size()) return Fail("unterminated shifted run", why);
    if (high != 0) return Fail("unpaired surrogate", why);
    if (nbits >= 6 || bits != 0) return Fail("non-zero padding", why);
    ++i;  // '-'
    // RFC 3501: "&AOQ-&AOQ-" must have been one run (Dovecot rejects it).
    if (i < in.size() && in[i] == '&' && !(i + 1 < in.size() && in[i + 1] == '-')) {
      return Fail("adjacent shifted runs", why);
    }
  }
  // The same bound the other way (a shifted run decodes to up to 9/8 of its
  // length in UTF-8).
  if (out->size() > kMaxMutf7InputBytes) return Fail("decoded form too long", why);
  return true;
}

}  // namespace ringmail::common
