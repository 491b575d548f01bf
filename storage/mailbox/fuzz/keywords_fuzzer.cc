// libFuzzer: MaildirKeywords::Parse on arbitrary dovecot-keywords contents
// (written by Dovecot, other tools or a user with shell access), then
// Format, IndexOf, NameAt, NamesOf and Assign on the result.
//
// Invariants: Parse never fails; every kept name is an IMAP atom of at most
// kMaxKeywordBytes octets (no '\\' flag), found again by IndexOf under any
// letter case, at an index below kMaxMaildirKeywords, names unique ignoring
// case; Parse(Format(k)) == k and Format is then a fixed point; NamesOf
// returns the names of the mask's used bits, in index order; Assign of a
// known name returns its index, of a new atom the lowest free index (or
// ResourceExhausted when all 26 are taken), of anything else
// InvalidArgument, and the map still round-trips after it.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/mailbox/keywords.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::storage::kMaxKeywordBytes;
using ringmail::storage::kMaxMaildirKeywords;
using ringmail::storage::MaildirKeywords;

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string Flip(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// RFC 3501 atom, as a keyword.
bool IsAtom(std::string_view s) {
  if (s.empty() || s.size() > kMaxKeywordBytes) return false;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::string_view("(){%*\"\\]").find(c) != std::string_view::npos) return false;
  }
  return true;
}

std::vector<std::string> Names(const MaildirKeywords& k) {
  std::vector<std::string> out;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) out.emplace_back(k.NameAt(i));
  return out;
}

void CheckMap(const MaildirKeywords& k) {
  const std::vector<std::string> names = Names(k);
  bool any = false;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if (names[i].empty()) continue;
    any = true;
    FUZZ_CHECK(IsAtom(names[i]));
    FUZZ_CHECK(k.IndexOf(names[i]) == i && k.IndexOf(Flip(names[i])) == i);
    for (int j = 0; j < i; ++j) FUZZ_CHECK(!SameIgnoringCase(names[i], names[j]));
  }
  FUZZ_CHECK(k.empty() == !any);
  FUZZ_CHECK(k.NameAt(-1).empty() && k.NameAt(kMaxMaildirKeywords).empty());
  const std::string text = k.Format();
  const MaildirKeywords again = MaildirKeywords::Parse(text);
  FUZZ_CHECK(Names(again) == names);
  FUZZ_CHECK(again.Format() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t mask = 0;
  for (int i = 0; i < 4; ++i) mask = mask << 8 | data[i];
  const std::string_view text(reinterpret_cast<const char*>(data) + 4, size - 4);

  MaildirKeywords k = MaildirKeywords::Parse(text);
  CheckMap(k);

  const std::vector<std::string> names = Names(k);
  std::vector<std::string> expect;
  for (int i = 0; i < kMaxMaildirKeywords; ++i) {
    if ((mask >> i) & 1 && !names[i].empty()) expect.push_back(names[i]);
  }
  FUZZ_CHECK(k.NamesOf(mask) == expect);

  // Assign every space- or newline-separated token of the input, as a
  // client's STORE +FLAGS or APPEND would.
  size_t assigned = 0;
  std::string_view rest = text;
  while (!rest.empty() && assigned < 16) {
    const size_t end = rest.find_first_of(" \n");
    const std::string_view token = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (token.empty()) continue;
    ++assigned;
    const std::vector<std::string> before = Names(k);
    const std::optional<int> known = k.IndexOf(token);
    const absl::StatusOr<int> r = k.Assign(token);
    if (!IsAtom(token) || token[0] == '\\') {
      FUZZ_CHECK(absl::IsInvalidArgument(r.status()));
      FUZZ_CHECK(Names(k) == before);
      continue;
    }
    if (known) {
      FUZZ_CHECK(r.ok() && *r == *known && Names(k) == before);
      continue;
    }
    int free_index = -1;
    for (int i = 0; i < kMaxMaildirKeywords && free_index < 0; ++i) {
      if (before[i].empty()) free_index = i;
    }
    if (free_index < 0) {
      FUZZ_CHECK(absl::IsResourceExhausted(r.status()) && Names(k) == before);
      continue;
    }
    FUZZ_CHECK(r.ok() && *r == free_index && k.NameAt(*r) == token &&
               k.IndexOf(token) == *r);
  }
  CheckMap(k);  // still sound, and still round-trips, after the Assigns
  return 0;
}
