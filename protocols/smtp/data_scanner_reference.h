// Obviously-correct, byte-at-a-time model of DataScanner, used only by the
// randomized test and the fuzzer to check the fast scanner. It sees the whole
// input at once, so it needs no state machine: it looks ahead instead.
#ifndef RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_REFERENCE_H_
#define RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/smtp/data_scanner.h"

namespace ringmail::smtp {

struct ReferenceScan {
  std::string output;
  bool end = false;
  size_t end_offset = 0;  // input octets up to and including the terminator
  uint32_t flags = 0;
  uint64_t newlines = 0;
};

// `final_chunk` (raw mode) flushes a trailing CR as a bare CR, like
// DataScanner::Finish. Without it a trailing CR, or a trailing "." / ".\r" at
// a line start in DATA mode, is undecided and produces nothing.
inline ReferenceScan ReferenceScanBody(std::string_view in,
                                       DataScanner::Mode mode,
                                       size_t max_line, bool final_chunk) {
  ReferenceScan r;
  const bool dots = mode == DataScanner::Mode::kDotStuffed;
  bool line_start = true;
  size_t line_len = 0;
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    if (dots && line_start && in[i] == '.') {
      if (i + 1 == n || (in[i + 1] == '\r' && i + 2 == n)) break;  // undecided
      if (in[i + 1] == '\r' && in[i + 2] == '\n') {
        r.end = true;
        r.end_offset = i + 3;
        return r;
      }
      ++i;  // stuffing dot
      ++line_len;
    }
    line_start = false;
    const char c = in[i];
    if (c == '\r') {
      if (i + 1 == n) {
        if (final_chunk && !dots) {
          r.output += '\r';
          r.flags |= kScanBareCr;
        }
        break;
      }
      if (in[i + 1] == '\n') {
        r.output += '\n';
        ++r.newlines;
        if (line_len + 2 > max_line) r.flags |= kScanLongLine;
        line_len = 0;
        line_start = true;
        i += 2;
        continue;
      }
      r.output += '\r';
      r.flags |= kScanBareCr;
    } else {
      r.output += c;
      if (c == '\n') r.flags |= kScanBareLf;
      if (c == '\0') r.flags |= kScanNul;
    }
    ++line_len;
    ++i;
  }
  return r;
}

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_REFERENCE_H_
