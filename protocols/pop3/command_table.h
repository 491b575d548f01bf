// The POP3 command table: one row per command carrying its policy (the
// states it is valid in and how many arguments it takes), so the session's
// dispatcher has no per-command special cases for sequencing.
#ifndef RINGMAIL_PROTOCOLS_POP3_COMMAND_TABLE_H_
#define RINGMAIL_PROTOCOLS_POP3_COMMAND_TABLE_H_

#include <cstdint>
#include <string_view>

namespace ringmail::pop3 {

enum class CommandId : uint8_t {
  kUser, kPass, kAuth, kCapa, kQuit,
  kStat, kList, kRetr, kDele, kNoop, kRset, kTop, kUidl, kStls,
};

// RFC 1939 §3 session states a command may be issued in (bit set). UPDATE
// takes no commands: it is entered by QUIT and ends the session.
enum StateBit : uint8_t {
  kStateAuthorization = 1 << 0,
  kStateTransaction = 1 << 1,
  kStateAny = kStateAuthorization | kStateTransaction,
};

// PASS takes the whole rest of the line (a password may contain spaces).
inline constexpr uint8_t kRestOfLine = 0xff;

struct CommandSpec {
  std::string_view name;
  CommandId id;
  uint8_t states;    // StateBit set
  uint8_t min_args;
  uint8_t max_args;  // or kRestOfLine
  std::string_view usage;  // for "-ERR Syntax: <usage>"
};

// Case-insensitive lookup; nullptr for commands we do not implement
// (APOP). STLS is in the table; the session refuses it without TLS.
const CommandSpec* LookupCommand(std::string_view name);

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_COMMAND_TABLE_H_
