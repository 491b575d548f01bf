// SMTP client side: turns a stored message (LF line endings, as the queue
// and Maildir keep it) into DATA wire form: CRLF line endings and
// dot-stuffing (RFC 5321 §4.5.2), ended by <CRLF>.<CRLF>.
//
// The input may arrive in any chunking; a line (or a CR LF pair) may span
// chunks, and the output is the same whatever the chunking. Scanning is
// memchr-based and output goes out in bulk appends, one or two per line.
//
//   LF            -> CRLF
//   CR LF         -> CR LF (a stored CRLF is not doubled)
//   CR not + LF   -> CR LF. RFC 5321 §2.3.8 forbids a bare CR in the
//                    body; some servers take it as a line end, so sending it
//                    unchanged would let "\r.\r\n" end the data early on
//                    such a server (SMTP smuggling, CVE-2023-51764 family).
//   "." at the start of a line -> ".." (also after such a CR).
//
// Long lines (over 998 octets) and NUL pass unchanged: rewriting them would
// break DKIM signatures, and our own server refuses such messages anyway.
// 8-bit octets pass unchanged too (see ClientSession on 8BITMIME).
//
// Not thread-safe; no allocation except growing the caller's string.
#ifndef RINGMAIL_PROTOCOLS_SMTP_CLIENT_BODY_H_
#define RINGMAIL_PROTOCOLS_SMTP_CLIENT_BODY_H_

#include <string>
#include <string_view>

namespace ringmail::smtp {

class BodyEncoder {
 public:
  // Appends the wire form of `lf_bytes` (the next part of the body) to *out.
  void Chunk(std::string_view lf_bytes, std::string* out);
  // Appends the end of data: a CRLF first when the body did not end with a
  // line ending (an empty body needs none: the DATA line's CRLF counts),
  // then ".\r\n". Resets the encoder for the next message.
  void End(std::string* out);

 private:
  bool line_start_ = true;   // next octet starts a line
  bool pending_cr_ = false;  // a CR was written; its LF is not yet known
};

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_CLIENT_BODY_H_
