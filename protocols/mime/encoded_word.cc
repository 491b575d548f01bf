#include "protocols/mime/encoded_word.h"

#include "protocols/mime/decode.h"
#include "protocols/mime/header.h"

namespace ringmail::mime {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsLwsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2047 §2: charset and encoding are tokens; encoded-text is printable
// ASCII without '?' or SPACE. Returns the parts of the word starting at
// v[start] ("=?"), and the offset just past its "?=".
struct Word {
  std::string_view charset, encoding, text;
  size_t end = 0;
};
bool ScanWord(std::string_view v, size_t start, Word* w) {
  size_t i = start + 2;
  size_t field_start = i;
  std::string_view fields[2];
  for (int f = 0; f < 2; ++f) {
    while (i < v.size() && v[i] != '?') {
      const unsigned char u = static_cast<unsigned char>(v[i]);
      if (u <= 0x20 || u >= 0x7f) return false;
      ++i;
    }
    if (i >= v.size() || i == field_start) return false;
    fields[f] = v.substr(field_start, i - field_start);
    field_start = ++i;
  }
  while (i < v.size() && v[i] != '?') {
    const unsigned char u = static_cast<unsigned char>(v[i]);
    if (u <= 0x20 || u >= 0x7f) return false;
    ++i;
  }
  if (i + 1 >= v.size() || v[i + 1] != '=') return false;
  w->charset = fields[0];
  w->encoding = fields[1];
  w->text = v.substr(field_start, i - field_start);
  w->end = i + 2;
  return true;
}

void AppendLatin1AsUtf8(std::string_view s, std::string* out) {
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out->push_back(ch);
    } else {
      out->push_back(static_cast<char>(0xc0 | (c >> 6)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
}

bool DecodeWord(const Word& w, std::string* out) {
  if (w.encoding.size() != 1) return false;
  std::string raw;
  const char enc = w.encoding[0];
  if (enc == 'B' || enc == 'b') {
    Base64Decoder d(w.text.size());
    d.Feed(w.text, &raw);
  } else if (enc == 'Q' || enc == 'q') {
    const std::string_view t = w.text;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '_') {
        raw.push_back(' ');  // §4.2 (2)
      } else if (t[i] == '=' && i + 2 < t.size() && Hex(t[i + 1]) >= 0 &&
                 Hex(t[i + 2]) >= 0) {
        raw.push_back(static_cast<char>(Hex(t[i + 1]) * 16 + Hex(t[i + 2])));
        i += 2;
      } else {
        raw.push_back(t[i]);
      }
    }
  } else {
    return false;
  }
  std::string_view charset = w.charset.substr(0, w.charset.find('*'));
  if (EqualsIgnoreCase(charset, "iso-8859-1") ||
      EqualsIgnoreCase(charset, "latin1") ||
      EqualsIgnoreCase(charset, "iso_8859-1")) {
    AppendLatin1AsUtf8(raw, out);
  } else {
    out->append(raw);
  }
  return true;
}

}  // namespace

std::string DecodeEncodedWords(std::string_view v, size_t max_words) {
  if (v.find("=?") == std::string_view::npos) return std::string(v);
  std::string out;
  out.reserve(v.size());
  size_t i = 0, words = 0;
  // The previous token was a decoded word; the text appended since then
  // starts at out[pending_ws] and is dropped if it is only whitespace and
  // the next word decodes too (RFC 2047 §6.2).
  bool after_word = false;
  size_t pending_ws = 0;
  while (i < v.size()) {
    const size_t start = v.find("=?", i);
    if (start == std::string_view::npos || words >= max_words) break;
    out.append(v.substr(i, start - i));
    Word w;
    if (!ScanWord(v, start, &w)) {
      out.append("=?");
      i = start + 2;
      after_word = false;
      continue;
    }
    bool only_ws = true;
    for (size_t k = pending_ws; k < out.size(); ++k) only_ws = only_ws && IsLwsp(out[k]);
    std::string decoded;
    if (!DecodeWord(w, &decoded)) {
      out.append(v.substr(start, w.end - start));
      after_word = false;
    } else {
      if (after_word && only_ws) out.resize(pending_ws);
      out.append(decoded);
      ++words;
      after_word = true;
    }
    i = w.end;
    pending_ws = out.size();
  }
  if (i < v.size()) out.append(v.substr(i));
  return out;
}

}  // namespace ringmail::mime
