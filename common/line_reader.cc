#include "common/line_reader.h"

#include <cassert>
#include <cstring>

namespace ringmail::common {

LineStatus ReadLine(std::string_view in, size_t limit, char* buf,
                    LineReaderState* state, size_t* consumed,
                    std::string_view* line) {
  assert(limit >= 2);
  size_t base = 0;
  if (state->discarding) {
    const size_t lf = in.find('\n');
    if (lf == std::string_view::npos) {
      *consumed = in.size();
      return LineStatus::kNeedMore;
    }
    state->discarding = false;
    base = lf + 1;
    in.remove_prefix(base);
  }
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    // The line, with at least its LF still to come, no longer fits.
    if (state->len + in.size() + 1 > limit) {
      state->len = 0;
      state->discarding = true;
      *consumed = base + in.size();
      return LineStatus::kTooLong;
    }
    std::memcpy(buf + state->len, in.data(), in.size());
    state->len += in.size();
    *consumed = base + in.size();
    return LineStatus::kNeedMore;
  }
  *consumed = base + lf + 1;
  const size_t raw = state->len + lf;  // octets before the LF
  // A line ended by a bare LF counts as if it had its CR.
  const bool has_cr =
      lf > 0 ? in[lf - 1] == '\r' : (state->len > 0 && buf[state->len - 1] == '\r');
  if (raw + (has_cr ? 1 : 2) > limit) {
    state->len = 0;  // the whole line is consumed already: nothing to discard
    return LineStatus::kTooLong;
  }
  std::string_view l;
  if (state->len == 0) {
    l = in.substr(0, lf);  // common case: zero-copy
  } else {
    std::memcpy(buf + state->len, in.data(), lf);
    l = std::string_view(buf, raw);
    state->len = 0;
  }
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  *line = l;
  return LineStatus::kLine;
}

}  // namespace ringmail::common
