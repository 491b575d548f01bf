#include "protocols/imap/session_state.h"

namespace ringmail::imap {

std::string_view SessionStateTracker::CheckAllowed(const CommandSpec& spec) const {
  switch (state_) {
    case SessionState::kNotAuthenticated:
      if (spec.states & kStateNotAuthenticated) return {};
      return "Command not allowed before authentication";
    case SessionState::kAuthenticated:
      if (spec.states & kStateAuthenticated) return {};
      if (spec.states & kStateSelected) return "No mailbox selected";
      return "Already authenticated";
    case SessionState::kSelected:
      if (spec.states & kStateSelected) return {};
      return "Already authenticated";
    case SessionState::kLogout:
      return "Logging out";
  }
  return "Internal error";
}

void SessionStateTracker::OnCommandOk(CommandId id) {
  switch (id) {
    case CommandId::kLogin:
    case CommandId::kAuthenticate:
      if (state_ == SessionState::kNotAuthenticated) {
        state_ = SessionState::kAuthenticated;
      }
      break;
    case CommandId::kSelect:
    case CommandId::kExamine:
      state_ = SessionState::kSelected;
      break;
    case CommandId::kClose:
    case CommandId::kUnselect:
      state_ = SessionState::kAuthenticated;
      break;
    case CommandId::kLogout:
      state_ = SessionState::kLogout;
      break;
    default:
      break;
  }
}

void SessionStateTracker::OnSelectFailed() {
  if (state_ == SessionState::kSelected) state_ = SessionState::kAuthenticated;
}

}  // namespace ringmail::imap
