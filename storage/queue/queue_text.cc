#include "storage/queue/queue_text.h"

#include <limits>

namespace ringmail::storage::queue {
namespace {

bool MustEscape(unsigned char c) { return c <= 0x20 || c == 0x7F || c == '+'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

void AppendEscaped(std::string_view value, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Most values need no escaping: one append instead of a byte loop.
  size_t clean = 0;
  while (clean < value.size() &&
         !MustEscape(static_cast<unsigned char>(value[clean]))) {
    ++clean;
  }
  out->append(value.data(), clean);
  for (char ch : value.substr(clean)) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (MustEscape(c)) {
      out->push_back('+');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(ch);
    }
  }
}

std::string Escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  AppendEscaped(value, &out);
  return out;
}

std::optional<std::string> Unescape(std::string_view escaped,
                                    size_t max_bytes) {
  size_t clean = 0;
  while (clean < escaped.size() &&
         !MustEscape(static_cast<unsigned char>(escaped[clean]))) {
    ++clean;
  }
  if (clean == escaped.size()) {  // the common case: nothing escaped
    if (clean > max_bytes) return std::nullopt;
    return std::string(escaped);
  }
  std::string out;
  out.reserve(escaped.size() < max_bytes ? escaped.size() : max_bytes);
  for (size_t i = 0; i < escaped.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(escaped[i]);
    if (c == '+') {
      if (i + 2 >= escaped.size()) return std::nullopt;
      int hi = HexValue(escaped[i + 1]);
      int lo = HexValue(escaped[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (MustEscape(c)) {
      return std::nullopt;
    } else {
      out.push_back(static_cast<char>(c));
    }
    if (out.size() > max_bytes) return std::nullopt;
  }
  return out;
}

std::optional<uint64_t> ParseDecimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseSignedDecimal(std::string_view s) {
  bool negative = !s.empty() && s[0] == '-';
  if (negative) s.remove_prefix(1);
  constexpr uint64_t kMaxPositive =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  std::optional<uint64_t> v = ParseDecimal(s, kMaxPositive + (negative ? 1 : 0));
  if (!v) return std::nullopt;
  if (negative) {
    if (*v == 0) return std::nullopt;  // "-0" is not canonical
    if (*v == kMaxPositive + 1) return std::numeric_limits<int64_t>::min();
    return -static_cast<int64_t>(*v);
  }
  return static_cast<int64_t>(*v);
}

std::optional<std::vector<std::string_view>> SplitFields(std::string_view s,
                                                         size_t max_fields) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    if (out.size() == max_fields) return std::nullopt;
    size_t sp = s.find(' ', start);
    if (sp == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, sp - start));
    start = sp + 1;
  }
}

std::string_view TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  // Back off over continuation bytes (10xxxxxx) to the sequence start,
  // which is then dropped too.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace ringmail::storage::queue
