// The RETR / TOP transform (RFC 1939 §3, §7): a stored message (LF line
// ends, or CRLF from foreign software) becomes the body of a multi-line
// response: every line ends in CRLF, a line starting with '.' gets one more
// '.', and the response ends with ".\r\n".
//
// Works on chunks of any size (the state between chunks is a few flags), so
// it can stream a message from disk; output is appended, never buffered
// here. Output size is input size plus one octet per bare LF and per
// stuffed dot, plus at most 5 (a final CRLF and the terminator).
#ifndef RINGMAIL_PROTOCOLS_POP3_MESSAGE_ENCODER_H_
#define RINGMAIL_PROTOCOLS_POP3_MESSAGE_ENCODER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ringmail::pop3 {

class MessageEncoder {
 public:
  // The whole message (RETR).
  MessageEncoder() = default;
  // TOP: the header, the blank line after it, and the first `body_lines`
  // lines of the body (RFC 1939 §7). A message without a blank line is
  // all header.
  static MessageEncoder Top(uint64_t body_lines);

  // Encodes `in`, appending to *out. Returns false once the encoder needs
  // no more input (TOP has emitted its last line); later input is ignored.
  bool Feed(std::string_view in, std::string* out);

  // Ends the response: CRLF if the last line was unterminated, then ".\r\n".
  void Finish(std::string* out);

  bool done() const { return done_; }

 private:
  bool top_ = false;
  uint64_t body_lines_left_ = 0;
  bool in_header_ = true;
  bool done_ = false;
  bool line_start_ = true;   // the next input octet begins a line
  bool prev_cr_ = false;     // the last octet of the current line is CR
  uint64_t line_len_ = 0;    // octets of the current line so far
};

// Byte-at-a-time model of MessageEncoder for tests and fuzzers.
std::string EncodeMessageReference(std::string_view message, bool top,
                                   uint64_t body_lines);

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_MESSAGE_ENCODER_H_
