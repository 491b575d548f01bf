// RFC 3501 §3 session state tracker: answers "is this command allowed now?"
// with the exact tagged BAD text, and applies state transitions on success.
#ifndef RINGMAIL_PROTOCOLS_IMAP_SESSION_STATE_H_
#define RINGMAIL_PROTOCOLS_IMAP_SESSION_STATE_H_

#include <string_view>

#include "protocols/imap/command_table.h"

namespace ringmail::imap {

enum class SessionState : uint8_t {
  kNotAuthenticated, kAuthenticated, kSelected, kLogout,
};

class SessionStateTracker {
 public:
  SessionState state() const { return state_; }

  // Empty when allowed; otherwise the text for "tag BAD <text>\r\n".
  std::string_view CheckAllowed(const CommandSpec& spec) const;

  // Applies the transition of a command that completed with OK. SELECT /
  // EXAMINE that fail call OnSelectFailed instead (RFC 3501 §6.3.1: a failed
  // SELECT leaves the session authenticated, with no mailbox selected).
  void OnCommandOk(CommandId id);
  void OnSelectFailed();
  // LOGOUT (or the server's BYE) moves to kLogout whatever the outcome.
  void OnLogout() { state_ = SessionState::kLogout; }

 private:
  SessionState state_ = SessionState::kNotAuthenticated;
};

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_SESSION_STATE_H_
