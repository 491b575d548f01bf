// The SMTP command table: one row per verb carrying its policy, so the
// session's dispatcher has no per-verb special cases for sequencing
// (Postfix smtpd_cmd_table style).
#ifndef RINGMAIL_PROTOCOLS_SMTP_COMMAND_TABLE_H_
#define RINGMAIL_PROTOCOLS_SMTP_COMMAND_TABLE_H_

#include <cstdint>
#include <string_view>

namespace ringmail::smtp {

enum class Verb : uint8_t {
  kHelo, kEhlo, kMail, kRcpt, kData, kBdat, kRset, kNoop, kQuit, kHelp, kVrfy,
  kStartTls, kAuth, kLhlo,
};

// Protocol phases a command may be issued in (bit set).
enum PhaseBit : uint8_t {
  kPhaseConnected = 1 << 0,  // greeting sent, no HELO/EHLO yet
  kPhaseIdle = 1 << 1,       // after HELO/EHLO, no transaction
  kPhaseMail = 1 << 2,       // MAIL accepted, no recipient yet
  kPhaseRcpt = 1 << 3,       // at least one RCPT accepted
  kPhaseBdat = 1 << 4,       // between BDAT chunks of a transaction
  kPhaseAny = 0x1f,
};

enum class ArgPolicy : uint8_t { kNone, kRequired, kOptional };

// Which protocol a verb belongs to: LMTP (RFC 2033 §4.1) replaces HELO/EHLO
// by LHLO and shares everything else with ESMTP.
enum class Dialect : uint8_t { kBoth, kSmtpOnly, kLmtpOnly };

struct CommandSpec {
  std::string_view name;
  Verb verb;
  uint8_t phases;           // PhaseBit set where the command is in sequence
  ArgPolicy args;
  bool requires_ehlo;       // only after EHLO (an extension we advertise)
  // RFC 2920 §3.1: EHLO, DATA, VRFY, QUIT, NOOP (and HELO) may only be the
  // last command of a pipelined group; the client must wait for the reply.
  bool ends_group;
  std::string_view usage;   // for "501 5.5.4 Syntax: <usage>"
  Dialect dialect = Dialect::kBoth;
};

// Case-insensitive lookup. Returns nullptr for verbs we do not implement.
// STARTTLS and AUTH are in the table whether or not this connection offers
// them; the session refuses them with 502 when not advertised.
const CommandSpec* LookupCommand(std::string_view verb);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_COMMAND_TABLE_H_
