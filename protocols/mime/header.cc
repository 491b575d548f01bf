#include "protocols/mime/header.h"

#include <cassert>
#include <cstring>

namespace ringmail::mime {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// True if the line [pos, eol) is empty (only an optional CR).
bool EmptyLine(std::string_view s, size_t pos, size_t eol) {
  return eol == pos || (eol == pos + 1 && s[pos] == '\r');
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string Unfold(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  size_t i = 0;
  while (i < v.size() && IsWsp(v[i])) ++i;
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '\r' || c == '\n') continue;
    out.push_back(c);
  }
  while (!out.empty() && IsWsp(out.back())) out.pop_back();
  return out;
}

HeaderIterator::HeaderIterator(std::string_view block,
                               const HeaderLimits& limits)
    : block_(block), limits_(limits) {}

size_t HeaderIterator::LineEnd(size_t pos) const {
  const void* nl = std::memchr(block_.data() + pos, '\n', block_.size() - pos);
  return nl == nullptr ? block_.size()
                       : static_cast<size_t>(static_cast<const char*>(nl) -
                                             block_.data());
}

bool HeaderIterator::Next(HeaderField* out) {
  while (!done_) {
    if (pos_ >= block_.size()) {
      done_ = true;
      break;
    }
    const size_t start = pos_;
    size_t eol = LineEnd(start);
    if (EmptyLine(block_, start, eol)) {
      pos_ = eol < block_.size() ? eol + 1 : eol;
      separator_ = true;
      done_ = true;
      break;
    }
    // Extend over continuation lines (next line starts with WSP).
    size_t last_eol = eol;
    while (last_eol < block_.size() && last_eol + 1 < block_.size() &&
           IsWsp(block_[last_eol + 1])) {
      last_eol = LineEnd(last_eol + 1);
    }
    const size_t next = last_eol < block_.size() ? last_eol + 1 : last_eol;
    pos_ = next;
    if (IsWsp(block_[start])) continue;  // continuation of nothing
    const std::string_view first_line = block_.substr(start, eol - start);
    const size_t colon = first_line.find(':');
    if (colon == std::string_view::npos) continue;  // garbage line
    if (next - start > limits_.max_field_length ||
        fields_ >= limits_.max_fields) {
      truncated_ = true;
      continue;
    }
    std::string_view name = first_line.substr(0, colon);
    while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
    size_t value_end = last_eol;
    if (value_end > start + colon + 1 && block_[value_end - 1] == '\r') {
      --value_end;
    }
    assert(value_end >= start + colon + 1);
    out->name = name;
    out->raw_value =
        block_.substr(start + colon + 1, value_end - (start + colon + 1));
    out->offset = start;
    out->size = next - start;
    ++fields_;
    return true;
  }
  return false;
}

std::optional<HeaderField> FindField(std::string_view block,
                                     std::string_view name,
                                     const HeaderLimits& limits) {
  HeaderIterator it(block, limits);
  HeaderField f;
  while (it.Next(&f)) {
    if (EqualsIgnoreCase(f.name, name)) return f;
  }
  return std::nullopt;
}

}  // namespace ringmail::mime
