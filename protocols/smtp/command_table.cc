#include "protocols/smtp/command_table.h"

namespace ringmail::smtp {
namespace {

// RSET/NOOP/QUIT/HELP/VRFY are valid in every phase (RFC 5321 §4.1.4).
// HELO/EHLO in a transaction imply RSET. Out-of-phase commands get a
// phase-specific reply from the session (e.g. DATA after MAIL but without an
// accepted RCPT is "554 no valid recipients").
constexpr CommandSpec kCommands[] = {
    {"HELO", Verb::kHelo, kPhaseAny, ArgPolicy::kRequired, false, true,
     "HELO hostname", Dialect::kSmtpOnly},
    {"EHLO", Verb::kEhlo, kPhaseAny, ArgPolicy::kRequired, false, true,
     "EHLO hostname", Dialect::kSmtpOnly},
    // RFC 2033 §4.1: LMTP's EHLO.
    {"LHLO", Verb::kLhlo, kPhaseAny, ArgPolicy::kRequired, false, true,
     "LHLO hostname", Dialect::kLmtpOnly},
    {"MAIL", Verb::kMail, kPhaseIdle, ArgPolicy::kRequired, false, false,
     "MAIL FROM:<address>", Dialect::kBoth},
    {"RCPT", Verb::kRcpt, kPhaseMail | kPhaseRcpt, ArgPolicy::kRequired, false,
     false, "RCPT TO:<address>", Dialect::kBoth},
    {"DATA", Verb::kData, kPhaseRcpt, ArgPolicy::kNone, false, true,
     "DATA", Dialect::kBoth},
    {"BDAT", Verb::kBdat, kPhaseRcpt | kPhaseBdat, ArgPolicy::kRequired, true,
     false, "BDAT count [LAST]", Dialect::kBoth},
    {"RSET", Verb::kRset, kPhaseAny, ArgPolicy::kNone, false, false,
     "RSET", Dialect::kBoth},
    {"NOOP", Verb::kNoop, kPhaseAny, ArgPolicy::kOptional, false, true,
     "NOOP", Dialect::kBoth},
    {"QUIT", Verb::kQuit, kPhaseAny, ArgPolicy::kNone, false, true,
     "QUIT", Dialect::kBoth},
    {"HELP", Verb::kHelp, kPhaseAny, ArgPolicy::kOptional, false, true,
     "HELP", Dialect::kBoth},
    {"VRFY", Verb::kVrfy, kPhaseAny, ArgPolicy::kRequired, false, true,
     "VRFY address", Dialect::kBoth},
    // RFC 3207 §4: after EHLO, outside a transaction; the client must wait
    // for the 220 before starting the handshake, so it ends a group.
    {"STARTTLS", Verb::kStartTls, kPhaseIdle, ArgPolicy::kNone, true, true,
     "STARTTLS", Dialect::kBoth},
    // RFC 4954 §4: not during a mail transaction (503). A SASL exchange
    // needs the server's 334 first, so it ends a group too.
    {"AUTH", Verb::kAuth, kPhaseIdle, ArgPolicy::kRequired, true, true,
     "AUTH mechanism [initial-response]", Dialect::kBoth},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

const CommandSpec* LookupCommand(std::string_view verb) {
  for (const CommandSpec& spec : kCommands) {
    if (EqualsIgnoreCase(verb, spec.name)) return &spec;
  }
  return nullptr;
}

}  // namespace ringmail::smtp
