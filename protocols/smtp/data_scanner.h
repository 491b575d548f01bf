// Streaming scanner for SMTP message content (DATA and BDAT bodies).
//
// Input is the raw wire bytes of a message body, in whatever chunks the
// network delivered. Output is the stored form of the message: CRLF line
// endings become LF (we store LF like Dovecot and Postfix do) and, in DATA
// mode, dot-stuffing is removed (RFC 5321 §4.5.2). The scanner writes into
// caller-provided space so the body is copied exactly once, straight into the
// storage layer's write buffer.
//
// End of data (DATA mode only) is recognised ONLY on <CRLF>.<CRLF>; the CRLF
// ending the DATA command itself counts as the first CRLF, so an immediate
// ".\r\n" ends an empty message. Bare LF never starts a line, so "\n.\n",
// "\n.\r\n" and "\r\n.\n" never terminate: this is what makes the scanner
// immune to SMTP smuggling (CVE-2023-51764 family). Bare LF / bare CR / NUL
// are passed through and flagged; the session decides to reject.
//
// Not thread-safe; one scanner per session. No allocation.
#ifndef RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_H_
#define RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringmail::smtp {

// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including CRLF.
inline constexpr size_t kDefaultMaxTextLine = 1000;

// Cumulative content anomalies seen by a scanner (bit flags).
enum ScanFlag : uint32_t {
  kScanBareLf = 1u << 0,    // LF not preceded by CR
  kScanBareCr = 1u << 1,    // CR not followed by LF
  kScanNul = 1u << 2,       // a NUL octet
  kScanLongLine = 1u << 3,  // a line longer than max_text_line (incl. CRLF)
};

struct ScanResult {
  size_t consumed = 0;  // input octets consumed (all of them unless `end` or out of space)
  size_t produced = 0;  // octets written to `out`
  // DATA mode: the terminating <CRLF>.<CRLF> was consumed; input after
  // `consumed` belongs to the next (pipelined) command.
  bool end = false;
};

class DataScanner {
 public:
  enum class Mode {
    kDotStuffed,  // DATA: unstuff dots, stop at <CRLF>.<CRLF>
    kRaw,         // BDAT: no dots, no terminator; only CRLF -> LF
  };

  explicit DataScanner(Mode mode = Mode::kDotStuffed,
                       size_t max_text_line = kDefaultMaxTextLine);

  // Starts a new message body in `mode`; clears all counters and flags.
  void Reset(Mode mode);

  // Scans as much of `in` as fits into out[0, out_capacity). Stops early when
  // output space runs out (consumed < in.size(), end == false) or at
  // end-of-data. A CR or a leading dot whose meaning depends on the next octet
  // is consumed and held in the scanner state, never lost. Calling Scan after
  // end-of-data consumes nothing. `out` must not overlap `in`. Octets of
  // `out` past `produced` (but within out_capacity) may be overwritten with
  // scratch data: the vector kernels store whole blocks.
  ScanResult Scan(std::string_view in, char* out, size_t out_capacity);

  // Raw mode, after the final (LAST) chunk: a CR held back at the end of the
  // input is written as a bare CR. Returns the octets written (0 or 1); needs
  // out_capacity >= 1 when pending_cr(). No-op in DATA mode.
  size_t Finish(char* out, size_t out_capacity);

  bool done() const { return state_ == State::kDone; }
  bool pending_cr() const { return state_ == State::kCr; }
  uint32_t flags() const { return flags_; }
  // CRLF pairs converted to LF so far. Wire size of the content is
  // produced + newlines (the RFC 1870 SIZE of what was stored).
  uint64_t newlines() const { return newlines_; }
  size_t max_text_line() const { return max_text_line_; }

  // Tests only: force the SSE2 kernel even where AVX2 is available (or go
  // back to runtime dispatch). Not thread-safe.
  static void UseBaselineKernelForTesting(bool baseline);

 private:
  enum class State : uint8_t {
    kLineStart,  // at the first octet of a line (after CRLF)
    kDot,        // line started with '.', dot consumed and dropped
    kDotCr,      // ".\r" at line start: terminator if LF follows
    kMid,        // inside a line
    kCr,         // CR consumed, not yet written
    kDone,       // end-of-data consumed
  };

  Mode mode_;
  State state_;
  uint32_t flags_ = 0;
  uint64_t newlines_ = 0;
  size_t line_len_ = 0;  // wire octets of the current line so far (excl. CRLF)
  size_t max_text_line_;
};

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_DATA_SCANNER_H_
