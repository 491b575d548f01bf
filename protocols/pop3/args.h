// POP3 command line splitting and argument parsers. Pure functions; views
// returned point into the caller's line.
#ifndef RINGMAIL_PROTOCOLS_POP3_ARGS_H_
#define RINGMAIL_PROTOCOLS_POP3_ARGS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/pop3/command_table.h"

namespace ringmail::pop3 {

struct CommandLine {
  const CommandSpec* spec = nullptr;  // nullptr: unknown command
  std::string_view name;
  std::array<std::string_view, 2> args;
  uint8_t arg_count = 0;
  bool too_many = false;   // more arguments than the command takes
  std::string_view rest;   // everything after "NAME " (PASS uses it as is)
};

// Splits a line into the command name and its space-separated arguments
// (runs of spaces count as one separator, RFC 1939 §3). Never fails; the
// caller checks spec, arg_count and too_many against the table.
CommandLine ParseCommandLine(std::string_view line);

// A message number or line count: 1*DIGIT of at most kMaxNumberDigits.
bool ParseNumber(std::string_view text, uint64_t* value);

// RFC 4616: base64 of "authzid NUL authcid NUL password". False on bad
// base64, a missing NUL, an empty authcid or password, or more than
// kMaxSaslPlain decoded octets.
bool DecodeSaslPlain(std::string_view base64, std::string* authzid,
                     std::string* authcid, std::string* password);

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_ARGS_H_
