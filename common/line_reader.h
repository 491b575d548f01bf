// Incremental reader of CRLF-terminated command lines (SMTP, POP3), with
// bounded memory and resynchronisation after an overlong line.
//
// A line that lies within one input chunk is returned as a view into that
// chunk (no copy); only a line split across chunks is copied, into a fixed
// buffer of kCapacity octets inside the reader, so there is no per-line
// allocation and memory is bounded whatever the client sends.
//
// A bare LF ends a line like CRLF (Postfix and Dovecot do the same for
// commands); command lines carry no content, so this is safe. Limits count
// the line with its line end as if it were CRLF, so a client gains nothing
// by sending bare LFs.
#ifndef RINGMAIL_COMMON_LINE_READER_H_
#define RINGMAIL_COMMON_LINE_READER_H_

#include <array>
#include <cstddef>
#include <string_view>

namespace ringmail::common {

enum class LineStatus {
  kLine,      // *line holds one line without its CRLF (or bare LF)
  kNeedMore,  // all input consumed (buffered); call again with more
  kTooLong,   // the line exceeds the limit: answer with an error now; the
              // reader discards through the next LF, then resynchronises
};

// The state LineReader keeps besides its buffer.
struct LineReaderState {
  size_t len = 0;           // octets of a partial line in the buffer
  bool discarding = false;  // skipping the rest of an overlong line
};

// The reader's logic, once for every capacity: reads from `in` with `buf`
// (at least `limit` octets) holding a partial line. See LineReader::Next.
LineStatus ReadLine(std::string_view in, size_t limit, char* buf,
                    LineReaderState* state, size_t* consumed,
                    std::string_view* line);

template <size_t kCapacity>
class LineReader {
 public:
  using Status = LineStatus;

  // Reads from `in`; *consumed is the octets of `in` used (all of them for
  // kNeedMore). `limit` counts the line with its CRLF, 2 <= limit <=
  // kCapacity; it may differ between calls (e.g. a longer one for a SASL
  // response). For kLine, *line is valid until the next call or until `in`
  // goes away, whichever is first.
  Status Next(std::string_view in, size_t limit, size_t* consumed,
              std::string_view* line) {
    return ReadLine(in, limit, buf_.data(), &state_, consumed, line);
  }
  // The same with limit = kCapacity.
  Status Next(std::string_view in, size_t* consumed, std::string_view* line) {
    return Next(in, kCapacity, consumed, line);
  }

  // True while a partial line is buffered or an overlong one discarded: the
  // session uses it to know the client is mid-line.
  bool mid_line() const { return state_.len > 0 || state_.discarding; }

 private:
  std::array<char, kCapacity> buf_;
  LineReaderState state_;
};

}  // namespace ringmail::common

#endif  // RINGMAIL_COMMON_LINE_READER_H_
