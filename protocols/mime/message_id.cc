#include "protocols/mime/message_id.h"

namespace ringmail::mime {
namespace internal {

size_t SkipCommentOrQuoted(std::string_view v, size_t i) {
  const size_t start = i;
  if (v[i] == '"') {
    for (++i; i < v.size(); ++i) {
      if (v[i] == '\\') {
        ++i;
      } else if (v[i] == '"') {
        return i + 1 - start;
      }
    }
    return v.size() - start;
  }
  int depth = 0;
  for (; i < v.size(); ++i) {
    if (v[i] == '\\') {
      ++i;
    } else if (v[i] == '(') {
      ++depth;
    } else if (v[i] == ')' && --depth == 0) {
      return i + 1 - start;
    }
  }
  return v.size() - start;
}

bool ValidMessageIdText(std::string_view text) {
  if (text.empty() || text.size() > kMaxMessageIdLength) return false;
  bool at = false;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
    at = at || c == '@';
  }
  return at;
}

}  // namespace internal

std::vector<std::string> ParseMessageIds(std::string_view value,
                                         size_t max_ids) {
  std::vector<std::string> out;
  if (max_ids == 0) return out;
  ForEachMessageId(value, [&](std::string_view id) {
    out.emplace_back(id);
    return out.size() < max_ids;
  });
  return out;
}

std::string FirstMessageId(std::string_view value) {
  std::string out;
  ForEachMessageId(value, [&](std::string_view id) {
    out.assign(id);
    return false;
  });
  return out;
}

}  // namespace ringmail::mime
