// RFC 3501 §9 sequence-set (with RFC 5182 "$") parsed into a compact,
// normalised form: sorted, merged, non-overlapping closed ranges.
#ifndef RINGMAIL_PROTOCOLS_IMAP_SEQUENCE_SET_H_
#define RINGMAIL_PROTOCOLS_IMAP_SEQUENCE_SET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::imap {

// A parsed set still containing "*" (the largest number in use) symbolically;
// Resolve() turns it into concrete ranges once the server knows that value.
class SequenceSet {
 public:
  struct Range {
    uint32_t first;  // kStar stands for "*"
    uint32_t last;
  };
  static constexpr uint32_t kStar = 0xffffffffu;

  // Parses `text`. Numbers are nz-number (1..2^32-1); ranges may be given in
  // either order ("5:1" == "1:5", RFC 3501 §9). "$" alone means the saved
  // search result (RFC 5182): *is_saved is set and the set is empty. Fails
  // on syntax errors, "$" mixed with other elements, or more than
  // kMaxSequenceRanges elements.
  static bool Parse(std::string_view text, SequenceSet* out, bool* is_saved);

  // Replaces "*" by `max` (the message count or the largest UID; 0 for an
  // empty mailbox) and normalises. Per RFC 3501 §6.4.8, for UID sets "n:*"
  // includes max even when n > max; callers pass the same value either way.
  std::vector<Range> Resolve(uint32_t max) const;

  bool empty() const { return ranges_.empty(); }
  const std::vector<Range>& raw() const { return ranges_; }

 private:
  std::vector<Range> ranges_;  // as given, first <= last except for kStar
};

// Normalised ranges with membership and iteration.
class ResolvedSet {
 public:
  ResolvedSet() = default;
  explicit ResolvedSet(std::vector<SequenceSet::Range> ranges);  // normalises
  bool Contains(uint32_t n) const;
  uint64_t Count() const;
  // Calls f(n) for every member in ascending order; stops when f returns
  // false.
  template <typename F>
  void ForEach(F f) const {
    for (const auto& r : ranges_) {
      for (uint64_t n = r.first; n <= r.last; ++n) {
        if (!f(static_cast<uint32_t>(n))) return;
      }
    }
  }
  const std::vector<SequenceSet::Range>& ranges() const { return ranges_; }

 private:
  std::vector<SequenceSet::Range> ranges_;
};

// Sorts and merges overlapping and adjacent ranges in place.
void NormaliseRanges(std::vector<SequenceSet::Range>* ranges);

// Compact text of ascending numbers or normalised ranges: "1:5,7".
std::string FormatSequenceSet(const std::vector<SequenceSet::Range>& ranges);
std::string FormatNumberSet(const std::vector<uint32_t>& sorted_numbers);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_SEQUENCE_SET_H_
