// Incremental POP3 command line reader.
//
// Splits a byte stream into lines without copying when a line lies within
// one input chunk; a line split across chunks is copied into a fixed buffer
// owned by the reader, so memory is bounded whatever the client sends. The
// limit is per call: kMaxCommandLine for commands, kMaxAuthLine while a SASL
// exchange waits for a client response (RFC 5034 §4).
#ifndef RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_
#define RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_

#include <array>
#include <cstddef>
#include <string_view>

#include "protocols/pop3/limits.h"

namespace ringmail::pop3 {

class LineReader {
 public:
  enum class Status {
    kLine,      // *line holds one line without its CRLF (or bare LF)
    kNeedMore,  // all input consumed and buffered; call again with more
    kTooLong,   // the line exceeds the limit: answer -ERR now; the reader
                // discards through the next LF, then resynchronises
  };

  // Reads from `in`; *consumed is the octets of `in` used (all of them for
  // kNeedMore). `limit` counts the line with its CRLF and must be at most
  // kMaxAuthLine. For kLine, *line is valid until the next call or until
  // `in` goes away, whichever is first.
  Status Next(std::string_view in, size_t limit, size_t* consumed,
              std::string_view* line);

  // True while a partial line is buffered or a long one discarded.
  bool mid_line() const { return len_ > 0 || discarding_; }

 private:
  std::array<char, kMaxAuthLine> buf_;
  size_t len_ = 0;
  bool discarding_ = false;
};

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_
