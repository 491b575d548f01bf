// libFuzzer: DataScanner (fast, SIMD) vs the byte-at-a-time reference. The
// first two input octets choose the mode, chunk and output sizes; the rest is
// the body. Aborts on any mismatch.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocols/smtp/data_scanner.h"
#include "protocols/smtp/data_scanner_reference.h"

using ringmail::smtp::DataScanner;
using ringmail::smtp::ReferenceScan;
using ringmail::smtp::ReferenceScanBody;
using ringmail::smtp::ScanResult;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const DataScanner::Mode mode =
      (data[0] & 1) ? DataScanner::Mode::kRaw : DataScanner::Mode::kDotStuffed;
  const size_t chunk = 1 + (data[0] >> 1) * 5;       // 1..636
  const size_t cap = (data[1] & 0x7f) * 3;           // 0..381
  const size_t max_line = 2 + (data[1] >> 7) * 60;   // 2 or 62
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  DataScanner::UseBaselineKernelForTesting((data[1] & 1) != 0);
  DataScanner s(mode, max_line);
  std::string got;
  std::vector<char> buf(std::max<size_t>(cap, 1));
  size_t pos = 0, end_offset = 0;
  bool end = false;
  while (pos < in.size() && !s.done()) {
    std::string_view piece = in.substr(pos, chunk);
    const size_t c = cap == 0 ? 1 : cap;  // zero would never progress
    const ScanResult r = s.Scan(piece, buf.data(), c);
    got.append(buf.data(), r.produced);
    pos += r.consumed;
    if (r.end) {
      end = true;
      end_offset = pos;
    }
  }
  if (mode == DataScanner::Mode::kRaw && s.pending_cr()) {
    char cr;
    got.append(&cr, s.Finish(&cr, 1));
  }
  const ReferenceScan ref =
      ReferenceScanBody(in, mode, max_line, mode == DataScanner::Mode::kRaw);
  if (got != ref.output || end != ref.end ||
      (end && end_offset != ref.end_offset) || s.flags() != ref.flags ||
      s.newlines() != ref.newlines) {
    std::abort();
  }
  return 0;
}
