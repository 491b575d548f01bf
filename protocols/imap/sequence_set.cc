#include "protocols/imap/sequence_set.h"

#include <algorithm>
#include <cassert>

#include "protocols/imap/limits.h"

namespace ringmail::imap {
namespace {

// seq-number = nz-number / "*"
bool ParseSeqNumber(std::string_view s, uint32_t* v) {
  if (s == "*") {
    *v = SequenceSet::kStar;
    return true;
  }
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n >= SequenceSet::kStar) return false;  // 4294967295 would alias "*"
  *v = static_cast<uint32_t>(n);
  return true;
}

}  // namespace

bool SequenceSet::Parse(std::string_view text, SequenceSet* out,
                        bool* is_saved) {
  out->ranges_.clear();
  *is_saved = false;
  if (text == "$") {
    *is_saved = true;
    return true;
  }
  if (text.empty()) return false;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view elem = text.substr(0, comma);
    if (out->ranges_.size() >= kMaxSequenceRanges) return false;
    const size_t colon = elem.find(':');
    Range r;
    if (colon == std::string_view::npos) {
      if (!ParseSeqNumber(elem, &r.first)) return false;
      r.last = r.first;
    } else {
      if (!ParseSeqNumber(elem.substr(0, colon), &r.first) ||
          !ParseSeqNumber(elem.substr(colon + 1), &r.last)) {
        return false;
      }
      if (r.first > r.last) std::swap(r.first, r.last);
    }
    out->ranges_.push_back(r);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

std::vector<SequenceSet::Range> SequenceSet::Resolve(uint32_t max) const {
  std::vector<Range> v;
  v.reserve(ranges_.size());
  for (Range r : ranges_) {
    if (r.first == kStar) r.first = max;
    if (r.last == kStar) r.last = max;
    if (r.first > r.last) std::swap(r.first, r.last);
    if (r.last == 0) continue;  // "*" of an empty mailbox
    if (r.first == 0) r.first = 1;
    v.push_back(r);
  }
  NormaliseRanges(&v);
  return v;
}

void NormaliseRanges(std::vector<SequenceSet::Range>* ranges) {
  auto& v = *ranges;
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    return a.first < b.first;
  });
  size_t out = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (out > 0 && uint64_t{v[i].first} <= uint64_t{v[out - 1].last} + 1) {
      v[out - 1].last = std::max(v[out - 1].last, v[i].last);
    } else {
      v[out++] = v[i];
    }
  }
  v.resize(out);
}

ResolvedSet::ResolvedSet(std::vector<SequenceSet::Range> ranges)
    : ranges_(std::move(ranges)) {
  NormaliseRanges(&ranges_);
}

bool ResolvedSet::Contains(uint32_t n) const {
  auto it = std::upper_bound(
      ranges_.begin(), ranges_.end(), n,
      [](uint32_t x, const SequenceSet::Range& r) { return x < r.first; });
  if (it == ranges_.begin()) return false;
  --it;
  return n <= it->last;
}

uint64_t ResolvedSet::Count() const {
  uint64_t c = 0;
  for (const auto& r : ranges_) c += uint64_t{r.last} - r.first + 1;
  return c;
}

std::string FormatSequenceSet(const std::vector<SequenceSet::Range>& ranges) {
  std::string s;
  for (const auto& r : ranges) {
    if (!s.empty()) s.push_back(',');
    s += std::to_string(r.first);
    if (r.last != r.first) {
      s.push_back(':');
      s += std::to_string(r.last);
    }
  }
  return s;
}

std::string FormatNumberSet(const std::vector<uint32_t>& sorted_numbers) {
  std::vector<SequenceSet::Range> ranges;
  for (uint32_t n : sorted_numbers) {
    if (!ranges.empty() && uint64_t{ranges.back().last} + 1 == n) {
      ranges.back().last = n;
    } else {
      ranges.push_back({n, n});
    }
  }
  return FormatSequenceSet(ranges);
}

}  // namespace ringmail::imap
