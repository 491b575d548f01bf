// libFuzzer: SORT/THREAD over fuzzer-made messages. The input is a list of
// header blocks separated by NUL; each gives one message's Subject, Date,
// From, To, Cc, Message-ID, References and In-Reply-To ("Name: value"
// lines). Checks that SORT returns every message exactly once, and that
// both THREAD algorithms return every message exactly once in a
// well-formed thread-list (balanced parentheses, no empty lists) - i.e. no
// message is lost, duplicated or caught in a loop.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/base_subject.h"
#include "protocols/imap/sort.h"
#include "protocols/imap/thread.h"

using namespace ringmail::imap;

namespace {

SortHeaders ParseBlock(std::string_view block) {
  SortHeaders h;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t eol = block.find('\n', pos);
    if (eol == std::string_view::npos) eol = block.size();
    const std::string_view line = block.substr(pos, eol - pos);
    pos = eol + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::optional<std::string>* slot = nullptr;
    switch (line[0]) {
      case 'S': slot = &h.subject; break;
      case 'D': slot = &h.date; break;
      case 'F': slot = &h.from; break;
      case 'T': slot = &h.to; break;
      case 'C': slot = &h.cc; break;
      case 'M': slot = &h.message_id; break;
      case 'R': slot = &h.references; break;
      case 'I': slot = &h.in_reply_to; break;
      default: continue;
    }
    if (!*slot) *slot = std::string(line.substr(colon + 1));
  }
  return h;
}

// Each number 1..n exactly once, parentheses balanced, no "()".
void CheckThreads(const std::string& s, size_t n) {
  std::vector<int> seen(n + 1, 0);
  int depth = 0;
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '(') {
      if (i + 1 < s.size() && s[i + 1] == ')') std::abort();
      ++depth, ++i;
    } else if (c == ')') {
      if (--depth < 0) std::abort();
      ++i;
    } else if (c == ' ') {
      ++i;
    } else if (c >= '1' && c <= '9') {
      uint64_t v = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
      if (v == 0 || v > n || seen[v]++) std::abort();
    } else {
      std::abort();
    }
  }
  if (depth != 0) std::abort();
  for (size_t k = 1; k <= n; ++k) {
    if (seen[k] != 1) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<SortHeaders> headers;
  for (size_t pos = 0; pos <= in.size() && headers.size() < 200;) {
    size_t end = in.find('\0', pos);
    if (end == std::string_view::npos) end = in.size();
    headers.push_back(ParseBlock(in.substr(pos, end - pos)));
    pos = end + 1;
  }
  const std::vector<SortCriterion> all = {
      {SortKey::kDate}, {SortKey::kSubject, true}, {SortKey::kFrom},
      {SortKey::kTo}, {SortKey::kCc}, {SortKey::kDisplayFrom},
      {SortKey::kDisplayTo}, {SortKey::kArrival}, {SortKey::kSize}};
  std::vector<SortRecord> sort;
  std::vector<ThreadRecord> refs, ordered;
  for (size_t i = 0; i < headers.size(); ++i) {
    const uint32_t n = static_cast<uint32_t>(i + 1);
    SortRecord s;
    s.seq = s.number = n;
    s.arrival = static_cast<int64_t>(i % 3);
    s.size = i % 5;
    FillSortRecord(all, headers[i], &s);
    sort.push_back(std::move(s));
    for (auto [alg, out] : {std::pair{ThreadAlgorithm::kReferences, &refs},
                            std::pair{ThreadAlgorithm::kOrderedSubject, &ordered}}) {
      ThreadRecord t;
      t.seq = t.number = n;
      FillThreadRecord(alg, headers[i], static_cast<int64_t>(i % 4), &t);
      out->push_back(std::move(t));
    }
    if (headers[i].subject) {
      const BaseSubject b = ExtractBaseSubject(*headers[i].subject);
      if (b.text.size() > kMaxSubjectOctets) std::abort();
    }
  }
  std::vector<uint32_t> sorted = SortMessages(sort, all);
  std::vector<int> seen(headers.size() + 1, 0);
  for (uint32_t v : sorted) {
    if (v == 0 || v > headers.size() || seen[v]++) std::abort();
  }
  if (sorted.size() != headers.size()) std::abort();
  CheckThreads(FormatThreads(ThreadReferences(refs)), headers.size());
  CheckThreads(FormatThreads(ThreadReferences(refs, 5)), headers.size());
  CheckThreads(FormatThreads(ThreadOrderedSubject(ordered)), headers.size());
  return 0;
}
