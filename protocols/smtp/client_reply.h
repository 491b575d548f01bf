// SMTP client side: incremental parser for server replies (RFC 5321 §4.2)
// with RFC 3463 enhanced status codes (RFC 2034), and the EHLO capability
// list (RFC 5321 §4.1.1.1).
//
// ReplyParser turns the server's byte stream into whole replies, however the
// network split it. Memory is bounded by named limits: a partial line is held
// in at most kMaxReplyLine octets and a reply has at most kMaxReplyLines
// lines. Anything malformed is a protocol error; the session then fails (a
// temporary failure: another MX or a later retry may do better).
#ifndef RINGMAIL_PROTOCOLS_SMTP_CLIENT_REPLY_H_
#define RINGMAIL_PROTOCOLS_SMTP_CLIENT_REPLY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmail::smtp {

// RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; real servers send
// longer ones (long EHLO keywords, verbose rejections), so we accept four
// times that, including the CRLF. Longer is a protocol error.
inline constexpr size_t kMaxReplyLine = 2048;
// A multi-line reply with more lines than this is a protocol error. EHLO
// replies are the longest real ones (a few dozen lines).
inline constexpr size_t kMaxReplyLines = 200;

// One complete server reply, or a reply the client made up (synthetic) to
// describe a local decision or a lost session.
struct ServerReply {
  int code = 0;          // 200..559
  std::string enhanced;  // RFC 3463 "x.y.z" (class == code / 100) or ""
  // Text of all lines, without reply codes or enhanced codes, joined with
  // "\n". Raw server octets: may hold any byte except LF.
  std::string text;
  // Made by the client, not sent by the server (DSNs report such reasons
  // differently, e.g. not as "Diagnostic-Code: smtp; ...").
  bool synthetic = false;

  // "451 4.3.0 text" on one line, for logs and DSN diagnostics: lines are
  // joined with a space and control octets become spaces, so the result can
  // never break a log line or a header field. 8-bit octets are kept.
  std::string ToString() const;
};

// Builds a synthetic reply (`synthetic` = true).
ServerReply LocalReply(int code, std::string_view enhanced,
                       std::string_view text);

class ReplyParser {
 public:
  enum class Status {
    kReply,     // *reply holds one complete reply
    kNeedMore,  // all input consumed (buffered); call again with more
    kError,     // protocol error, *error says what; the parser is dead
  };

  // Parses from `in`; *consumed is set to the octets used (all of them for
  // kNeedMore; up to and including the final line for kReply). Lines end
  // with CRLF; a bare LF is tolerated (as Postfix does). Once kError was
  // returned every later call returns kError again.
  Status Next(std::string_view in, size_t* consumed, ServerReply* reply,
              std::string* error);

  // RFC 2034: once the server advertised ENHANCEDSTATUSCODES, a leading
  // "x.y.z " in the reply text is an enhanced code: it goes into
  // ServerReply::enhanced and is stripped from the text of every line. A
  // code whose class differs from the reply's is left in the text.
  void set_enhanced_codes(bool on) { enhanced_codes_ = on; }

  // A reply (or a line of one) is partly received.
  bool mid_reply() const { return !partial_.empty() || lines_ > 0; }

 private:
  // Processes one complete line (without its line ending). Returns false on
  // a protocol error (*error set); sets *done on the last line of a reply.
  bool Line(std::string_view line, bool* done, std::string* error);

  std::string partial_;  // incomplete line, < kMaxReplyLine octets
  ServerReply current_;  // reply under construction
  size_t lines_ = 0;     // lines of current_ so far
  bool enhanced_codes_ = false;
  bool dead_ = false;
};

// What a server said it supports in its EHLO reply.
struct ServerCapabilities {
  bool esmtp = false;  // EHLO worked (false after the HELO fallback)
  bool pipelining = false;             // RFC 2920
  bool size = false;                   // RFC 1870: send SIZE= in MAIL
  uint64_t size_limit = 0;             // RFC 1870 SIZE value; 0: no limit
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool starttls = false;               // RFC 3207
  bool dsn = false;                    // RFC 3461
  bool enhanced_status_codes = false;  // RFC 2034
  bool chunking = false;               // RFC 3030 (noted, never used)
};

// Parses the text of a 2xx EHLO reply (ServerReply::text): the first line
// is the server's greeting, each later one "keyword [params]" with the
// keyword matched case-insensitively. Unknown keywords are ignored; a SIZE
// value that is missing, malformed or too large counts as "no limit".
ServerCapabilities ParseEhloCapabilities(std::string_view ehlo_text);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_CLIENT_REPLY_H_
