#include "protocols/pop3/command_table.h"

namespace ringmail::pop3 {
namespace {

// RFC 1939 §4-§6, RFC 2449 §5 (CAPA), RFC 5034 §4 (AUTH; without arguments
// it lists the mechanisms, as Dovecot and RFC 1734 clients expect).
constexpr CommandSpec kCommands[] = {
    {"USER", CommandId::kUser, kStateAuthorization, 1, 1, "USER name"},
    {"PASS", CommandId::kPass, kStateAuthorization, 1, kRestOfLine, "PASS password"},
    {"AUTH", CommandId::kAuth, kStateAuthorization, 0, 2,
     "AUTH mechanism [initial-response]"},
    {"CAPA", CommandId::kCapa, kStateAny, 0, 0, "CAPA"},
    {"QUIT", CommandId::kQuit, kStateAny, 0, 0, "QUIT"},
    {"STAT", CommandId::kStat, kStateTransaction, 0, 0, "STAT"},
    {"LIST", CommandId::kList, kStateTransaction, 0, 1, "LIST [msg]"},
    {"RETR", CommandId::kRetr, kStateTransaction, 1, 1, "RETR msg"},
    {"DELE", CommandId::kDele, kStateTransaction, 1, 1, "DELE msg"},
    {"NOOP", CommandId::kNoop, kStateTransaction, 0, 0, "NOOP"},
    {"RSET", CommandId::kRset, kStateTransaction, 0, 0, "RSET"},
    {"TOP", CommandId::kTop, kStateTransaction, 2, 2, "TOP msg lines"},
    {"UIDL", CommandId::kUidl, kStateTransaction, 0, 1, "UIDL [msg]"},
    // RFC 2595 §4: STLS only in the AUTHORIZATION state.
    {"STLS", CommandId::kStls, kStateAuthorization, 0, 0, "STLS"},
};

bool EqualsIgnoreCase(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (c != upper[i]) return false;
  }
  return true;
}

}  // namespace

const CommandSpec* LookupCommand(std::string_view name) {
  for (const CommandSpec& spec : kCommands) {
    if (EqualsIgnoreCase(name, spec.name)) return &spec;
  }
  return nullptr;
}

}  // namespace ringmail::pop3
