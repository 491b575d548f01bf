// Incremental IMAP command reader (RFC 3501 §2.2, §4, §9; RFC 7888 LITERAL+).
//
// The reader works in two steps. A byte-at-a-time scanner with O(1) state
// finds where a command ends: it tracks quoted strings and literal
// announcements "{n}" / "{n+}" at line ends, and skips literal octets. Only
// then is the complete command text parsed into an argument AST (arg.h).
//
// Zero-copy: a command lying entirely within one input chunk is parsed in
// place and its views point into that chunk. A command split across chunks
// (or one containing a synchronising literal) is copied into a per-reader
// buffer bounded by kMaxCommandLine + kMaxInlineLiteralTotal.
//
// APPEND's message literal is never buffered: the reader stops at its
// announcement and returns kAppendBegin with the command parsed up to there;
// then kAppendData chunks (views into the input) and kAppendEnd.
//
// Errors resynchronise: the rest of the bad command is discarded (literals it
// announces are skipped, not stored) and kError carries the complete tagged
// reply. Abusive input returns kFatal with a "* BYE" reply; the caller sends
// it and closes.
#ifndef RINGMAIL_PROTOCOLS_IMAP_COMMAND_READER_H_
#define RINGMAIL_PROTOCOLS_IMAP_COMMAND_READER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/command_table.h"
#include "protocols/imap/limits.h"

namespace ringmail::imap {

// RFC 3501 §7.5 command continuation request for a synchronising literal.
inline constexpr std::string_view kLiteralContinuation =
    "+ Ready for literal data\r\n";

struct Command {
  std::string_view tag;
  std::string_view name;           // as sent, without "UID"
  const CommandSpec* spec = nullptr;  // never null in a kCommand event
  bool uid = false;                // sent as "UID <name>"
  ArgList args;
};

struct ReaderLimits {
  uint64_t max_message_size = kDefaultMaxMessageSize;  // APPEND literal
  uint64_t max_pre_auth_literal = kMaxPreAuthLiteral;
  uint64_t max_inline_literal = kMaxInlineLiteral;
};

class CommandReader {
 public:
  enum class Event {
    kNeedMore,     // all input consumed; call again with more
    kCommand,      // command() is complete
    kContinue,     // send kLiteralContinuation, then keep feeding input
    kAppendBegin,  // command() = APPEND up to its message literal (args are
                   // mailbox [flags] [date-time]); literal_size() octets
                   // follow. If literal_sync(), the caller sends
                   // kLiteralContinuation to accept, or calls RejectAppend()
                   // and sends its own tagged reply; in both cases it then
                   // keeps feeding input.
    kAppendData,   // append_chunk() is the next part of the message
    kAppendEnd,    // message complete and the command line ended correctly;
                   // if !append_ok(), error_reply() holds the BAD reply and
                   // the stored message must be discarded
    kRawLine,      // after ExpectRawLine(): raw_line() without CRLF
    kError,        // send error_reply(); the reader already resynchronised
    kFatal,        // send error_reply() ("* BYE ...") and close
  };

  explicit CommandReader(ReaderLimits limits = ReaderLimits());

  // Reads from `in`; *consumed is set to the octets of `in` used (always all
  // of them for kNeedMore). Views returned by the accessors below are valid
  // until the next call or until `in` goes away, whichever is first.
  Event Next(std::string_view in, size_t* consumed);

  // The caller's session state: before authentication every literal is
  // limited to max_pre_auth_literal.
  void set_authenticated(bool v) { authenticated_ = v; }
  // The next line is read raw (AUTHENTICATE response, IDLE's "DONE"): the
  // next non-kNeedMore event is kRawLine, or kFatal if it exceeds
  // kMaxRawLine.
  void ExpectRawLine();
  // After kAppendBegin: refuse the message. A synchronising literal will not
  // be sent by the client; a non-synchronising one is skipped. No further
  // event is produced for this command.
  void RejectAppend();

  const Command& command() const { return command_; }
  uint64_t literal_size() const { return literal_size_; }
  bool literal_sync() const { return literal_sync_; }
  std::string_view append_chunk() const { return chunk_; }
  bool append_ok() const { return append_ok_; }
  std::string_view raw_line() const { return chunk_; }
  std::string_view error_reply() const { return error_reply_; }
  // True while part of a command has been read (for idle timeouts).
  bool mid_command() const;

 private:
  enum class Mode : uint8_t {
    kLine, kLiteral, kAppendAwait, kAppendData, kAppendTail, kSkipLiteral,
    kRawLine, kFatal,
  };
  enum class Brace : uint8_t { kNone, kDigits, kPlus, kClose, kCr };

  void ResetCommand();
  // Records the first error of the current command and starts discarding.
  void Fail(std::string_view kind, std::string_view text);
  void BuildErrorReply(std::string_view response);
  Event Fatal(std::string_view text, std::string_view in, size_t* consumed);
  // The command's octets so far, ending at in[pos] (exclusive).
  std::string_view Collect(std::string_view in, size_t* seg_start, size_t pos);
  void StartBuffering(std::string_view in, size_t* seg_start, size_t pos);
  Event EndFailed(std::string_view in, size_t pos, size_t* consumed);
  Event OnLiteral(std::string_view in, size_t* seg_start, size_t pos,
                  size_t* consumed, bool* keep_scanning);
  uint64_t InlineLiteralLimit() const;
  // Between commands: frees the argument vector and the buffers.
  void ReleaseIdleMemory();

  // Members are ordered by size so that the one-octet fields share one
  // word: the reader is part of every IMAP session, idle or not (issue 4).
  ReaderLimits limits_;

  // Scanner state of the current command.
  uint64_t brace_value_ = 0;
  size_t brace_offset_ = 0;   // offset of '{' from the command start
  size_t cmd_len_ = 0;        // octets of the command so far (incl. literals)
  size_t line_octets_ = 0;    // non-literal octets so far
  uint64_t literal_total_ = 0;
  uint64_t literal_left_ = 0;
  size_t discarded_ = 0;
  std::array<char, kMaxTagLength> tag_;
  int consecutive_errors_ = 0;
  uint8_t tag_len_ = 0;       // <= kMaxTagLength
  uint8_t brace_digits_ = 0;  // <= 19 (more is an error)
  static_assert(kMaxTagLength <= UINT8_MAX);

  bool authenticated_ = false;
  Mode mode_ = Mode::kLine;
  bool in_quoted_ = false;
  bool quoted_escape_ = false;
  Brace brace_ = Brace::kNone;
  bool brace_plus_ = false;
  bool buffering_ = false;    // command bytes so far are in buf_
  bool failed_ = false;       // discarding the rest of a bad command
  bool silent_ = false;       // failed but the reply was already given
  bool append_tail_failed_ = false;
  bool append_rejected_ = false;
  bool stale_buf_ = false;    // buf_ backs only views of the last event
  bool tag_done_ = false;
  bool tag_too_long_ = false;
  bool literal_sync_ = false;
  bool append_ok_ = true;

  std::string buf_;
  std::vector<Arg> args_;
  Command command_;
  uint64_t literal_size_ = 0;
  std::string_view chunk_;
  std::string error_reply_;
  std::string pending_error_;  // "BAD text" or "NO [..] text" to send at end
};

// Parses a complete command text (literals inline, ending with LF) into *cmd
// with nodes in *args. With `stop_at_literal`, `text` ends just before an
// APPEND message literal and only the preceding arguments are parsed.
// On failure returns false and sets *error to the text after "BAD ".
bool ParseCommandText(std::string_view text, bool stop_at_literal,
                      std::vector<Arg>* args, Command* cmd,
                      std::string_view* error);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_COMMAND_READER_H_
