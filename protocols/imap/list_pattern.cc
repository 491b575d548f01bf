#include "protocols/imap/list_pattern.h"

#include <algorithm>
#include <vector>

#include "protocols/imap/arg.h"

namespace ringmail::imap {
namespace {

// Upper-cases a leading "INBOX" (followed by end or delimiter) so the
// comparison below can stay case-sensitive for the rest of the name.
std::string CanonicalInbox(std::string_view s, char delimiter) {
  std::string out(s);
  if (s.size() >= 5 && EqualsIgnoreCase(s.substr(0, 5), "INBOX") &&
      (s.size() == 5 || s[5] == delimiter)) {
    out.replace(0, 5, "INBOX");
  }
  return out;
}

}  // namespace

std::string CombineListReference(std::string_view reference,
                                 std::string_view pattern, char delimiter) {
  std::string out(reference);
  if (!out.empty() && out.back() == delimiter && !pattern.empty() &&
      pattern.front() == delimiter) {
    out.pop_back();
  }
  out.append(pattern);
  return out;
}

bool ListPatternMatches(std::string_view pattern_in, std::string_view name_in,
                        char delimiter) {
  const std::string pattern = CanonicalInbox(pattern_in, delimiter);
  const std::string name = CanonicalInbox(name_in, delimiter);
  // Dynamic programming over pattern positions: reach[j] is true when the
  // first i octets of name can be matched by the first j of pattern.
  const size_t m = pattern.size();
  std::vector<char> reach(m + 1, 0), next(m + 1, 0);
  reach[0] = 1;
  for (size_t j = 0; j < m && (pattern[j] == '*' || pattern[j] == '%'); ++j) {
    reach[j + 1] = 1;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    std::fill(next.begin(), next.end(), 0);
    for (size_t j = 0; j < m; ++j) {
      const char p = pattern[j];
      if (p == '*' || (p == '%' && c != delimiter)) {
        // Wildcard absorbs c and may absorb more.
        if (reach[j + 1] || reach[j]) next[j + 1] = 1;
      } else if (reach[j] && p == c) {
        next[j + 1] = 1;
      }
    }
    // Wildcards also match the empty string.
    for (size_t j = 0; j < m; ++j) {
      if (next[j] && (pattern[j] == '*' || pattern[j] == '%')) next[j + 1] = 1;
    }
    reach.swap(next);
  }
  return reach[m] != 0;
}

}  // namespace ringmail::imap
