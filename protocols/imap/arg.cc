#include "protocols/imap/arg.h"

#include <cassert>

namespace ringmail::imap {

ArgList::ArgList(const Arg* first, const Arg* end) : first_(first), end_(end) {
  for (const Arg* a = first; a < end; a += a->subtree) ++count_;
  assert(first == end || first + 0 <= end);
}

const Arg& ArgList::operator[](size_t i) const {
  assert(i < count_);
  const Arg* a = first_;
  while (i-- > 0) a += a->subtree;
  return *a;
}

ArgList ArgList::From(size_t i) const {
  assert(i <= count_);
  const Arg* a = first_;
  while (i-- > 0) a += a->subtree;
  return ArgList(a, end_);
}

ArgList Children(const Arg& list) {
  assert(list.type == ArgType::kList);
  return ArgList(&list + 1, &list + list.subtree);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

bool StringValue(const Arg& a, std::string* scratch, std::string_view* out) {
  if (a.type == ArgType::kLiteral) {
    *out = a.text;
    return true;
  }
  if (a.type != ArgType::kQuoted) return false;
  if (!a.has_escapes) {
    *out = a.text;
    return true;
  }
  scratch->clear();
  for (size_t i = 0; i < a.text.size(); ++i) {
    // The reader only accepts \\ and \" so every '\' has a successor.
    if (a.text[i] == '\\') ++i;
    scratch->push_back(a.text[i]);
  }
  *out = *scratch;
  return true;
}

bool AstringValue(const Arg& a, std::string* scratch, std::string_view* out) {
  if (IsString(a)) return StringValue(a, scratch, out);
  if (!IsAtomLike(a)) return false;
  if (a.text.find('[') != std::string_view::npos) return false;
  *out = a.text;
  return true;
}

}  // namespace ringmail::imap
