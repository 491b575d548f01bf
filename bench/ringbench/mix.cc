#include "bench/ringbench/mix.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringmail::ringbench {

absl::StatusOr<WeightedMix> WeightedMix::Parse(std::string_view spec,
                                               const std::vector<std::string>& known) {
  if (spec.size() > kMaxSpec) return absl::InvalidArgumentError("mix spec too long");
  std::vector<Entry> entries;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("mix entry '", part, "' lacks =WEIGHT"));
    }
    std::string name(part.substr(0, eq));
    uint32_t w;
    if (!absl::SimpleAtoi(part.substr(eq + 1), &w) || w > 1000000) {
      return absl::InvalidArgumentError(absl::StrCat("mix entry '", part, "' has a bad weight"));
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown operation '", name, "' in mix"));
    }
    for (const Entry& e : entries) {
      if (e.name == name) {
        return absl::InvalidArgumentError(absl::StrCat("operation '", name, "' twice in mix"));
      }
    }
    entries.push_back({name, w});
  }
  return FromEntries(std::move(entries));
}

absl::StatusOr<WeightedMix> WeightedMix::FromEntries(std::vector<Entry> entries) {
  WeightedMix m;
  for (Entry& e : entries) {
    m.total_ += e.weight;
    m.cumulative_.push_back(m.total_);
    m.entries_.push_back(std::move(e));
  }
  if (m.total_ == 0) return absl::InvalidArgumentError("mix has no positive weight");
  return m;
}

size_t WeightedMix::Pick(uint64_t r) const {
  uint64_t x = r % total_;
  // First entry whose cumulative weight exceeds x; zero weights never win.
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), x);
  return static_cast<size_t>(it - cumulative_.begin());
}

std::string WeightedMix::ToString() const {
  std::string out;
  for (const Entry& e : entries_) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, e.name, "=", e.weight);
  }
  return out;
}

}  // namespace ringmail::ringbench
