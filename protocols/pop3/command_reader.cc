#include "protocols/pop3/command_reader.h"

#include <cassert>
#include <cstring>

namespace ringmail::pop3 {

LineReader::Status LineReader::Next(std::string_view in, size_t limit,
                                    size_t* consumed, std::string_view* line) {
  assert(limit >= 2 && limit <= kMaxAuthLine);
  size_t base = 0;
  if (discarding_) {
    const size_t lf = in.find('\n');
    if (lf == std::string_view::npos) {
      *consumed = in.size();
      return Status::kNeedMore;
    }
    discarding_ = false;
    base = lf + 1;
    in.remove_prefix(base);
  }
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    // The line, with at least its LF still to come, no longer fits.
    if (len_ + in.size() + 1 > limit) {
      len_ = 0;
      discarding_ = true;
      *consumed = base + in.size();
      return Status::kTooLong;
    }
    std::memcpy(buf_.data() + len_, in.data(), in.size());
    len_ += in.size();
    *consumed = base + in.size();
    return Status::kNeedMore;
  }
  *consumed = base + lf + 1;
  const size_t raw = len_ + lf;  // octets before the LF
  // A line ended by a bare LF counts as if it had its CR.
  const bool has_cr = lf > 0 ? in[lf - 1] == '\r' : (len_ > 0 && buf_[len_ - 1] == '\r');
  if (raw + (has_cr ? 1 : 2) > limit) {
    len_ = 0;  // the whole line is consumed already: nothing to discard
    return Status::kTooLong;
  }
  std::string_view l;
  if (len_ == 0) {
    l = in.substr(0, lf);  // common case: zero-copy
  } else {
    std::memcpy(buf_.data() + len_, in.data(), lf);
    l = std::string_view(buf_.data(), raw);
    len_ = 0;
  }
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  *line = l;
  return Status::kLine;
}

}  // namespace ringmail::pop3
