// A weighted choice among operations, parsed from "name=weight,..." (the
// imaptest-like IMAP mix). Weights are non-negative integers.
#ifndef RINGMAIL_BENCH_RINGBENCH_MIX_H_
#define RINGMAIL_BENCH_RINGBENCH_MIX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ringmail::ringbench {

class WeightedMix {
 public:
  struct Entry {
    std::string name;
    uint32_t weight;
  };
  // Fails (InvalidArgument) on an unknown name (not in `known`), a
  // duplicate, a weight that is not an integer in 0..1000000, a spec
  // longer than kMaxSpec, or when every weight is 0.
  static constexpr size_t kMaxSpec = 4096;
  static absl::StatusOr<WeightedMix> Parse(std::string_view spec,
                                           const std::vector<std::string>& known);
  static absl::StatusOr<WeightedMix> FromEntries(std::vector<Entry> entries);

  // Index into entries() for a uniformly random 64-bit `r`: entry i is
  // chosen with probability weight_i / total.
  size_t Pick(uint64_t r) const;
  const std::vector<Entry>& entries() const { return entries_; }
  uint64_t total() const { return total_; }
  std::string ToString() const;

 private:
  std::vector<Entry> entries_;
  std::vector<uint64_t> cumulative_;
  uint64_t total_ = 0;
};

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_MIX_H_
