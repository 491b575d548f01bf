// The POP3 command line reader: common/line_reader.h with room for the
// longest line, a SASL response (kMaxAuthLine). The limit is per call:
// kMaxCommandLine for commands, kMaxAuthLine while a SASL exchange waits for
// a client response (RFC 5034 §4).
#ifndef RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_
#define RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_

#include "common/line_reader.h"
#include "protocols/pop3/limits.h"

namespace ringmail::pop3 {

// kTooLong answers -ERR; the reader discards through the next LF, then
// resynchronises. Each call passes its limit (kMaxCommandLine or
// kMaxAuthLine).
using LineReader = common::LineReader<kMaxAuthLine>;

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_COMMAND_READER_H_
