// Command handlers of Session (RFC 1939 §4-§6, RFC 2449, RFC 5034).
#include <string>

#include "protocols/pop3/response.h"
#include "protocols/pop3/session.h"

namespace ringmail::pop3 {
namespace {

bool IsUpper(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (c != upper[i]) return false;
  }
  return true;
}

// Keeps an echoed argument printable and short in error text.
std::string Echo(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 32)) out.push_back(c >= 0x21 && c <= 0x7e ? c : '?');
  return out;
}

}  // namespace

void Session::HandleLine(std::string_view line, std::string* out) {
  const CommandLine cmd = ParseCommandLine(line);
  if (cmd.spec == nullptr) {
    return Fail("", "Unknown command: " + Echo(cmd.name), out);
  }
  const uint8_t bit = state_ == State::kAuthorization ? kStateAuthorization
                                                      : kStateTransaction;
  if (!(cmd.spec->states & bit)) {
    return Fail("", state_ == State::kAuthorization
                        ? "Not logged in."
                        : "Already logged in.",
                out);
  }
  if (cmd.spec->max_args != kRestOfLine &&
      (cmd.too_many || cmd.arg_count > cmd.spec->max_args)) {
    return Fail("", "Too many arguments. Syntax: " + std::string(cmd.spec->usage), out);
  }
  if (cmd.arg_count < cmd.spec->min_args) {
    return Fail("", "Missing argument. Syntax: " + std::string(cmd.spec->usage), out);
  }
  Dispatch(cmd, out);
}

void Session::Dispatch(const CommandLine& cmd, std::string* out) {
  switch (cmd.spec->id) {
    case CommandId::kUser:
      if (!PlaintextAuthOk(out)) return;
      user_.assign(cmd.args[0].data(), cmd.args[0].size());
      return AppendOk(out, "");
    case CommandId::kPass:
      if (!PlaintextAuthOk(out)) return;
      return DoPass(cmd, out);
    case CommandId::kAuth: return DoAuth(cmd, out);
    case CommandId::kStls: return DoStls(out);
    case CommandId::kCapa: {
      CapaOptions o;
      o.authorization_state = state_ == State::kAuthorization;
      o.stls = security_.tls_available && !security_.tls_active;
      o.plaintext_auth = security_.tls_active || security_.plaintext_auth_allowed;
      return AppendCapa(out, o);
    }
    case CommandId::kQuit: return DoQuit(out);
    case CommandId::kStat: return DoStat(out);
    case CommandId::kList: return DoList(cmd, false, out);
    case CommandId::kUidl: return DoList(cmd, true, out);
    case CommandId::kRetr: return DoRetr(cmd, false, out);
    case CommandId::kTop: return DoRetr(cmd, true, out);
    case CommandId::kDele: return DoDele(cmd, out);
    case CommandId::kNoop: return AppendOk(out, "");
    case CommandId::kRset: return DoRset(out);
  }
}

bool Session::PlaintextAuthOk(std::string* out) {
  if (security_.tls_active || security_.plaintext_auth_allowed) return true;
  // Dovecot's wording, which clients and users recognise.
  Fail(kCodeAuth, "Plaintext authentication disallowed on non-secure connections.", out);
  return false;
}

void Session::DoStls(std::string* out) {
  if (security_.tls_active) return Fail("", "TLS is already active.", out);
  if (!security_.tls_available) return Fail("", "TLS is not available.", out);
  AppendOk(out, "Begin TLS negotiation");
  mode_ = Mode::kStartTls;
}

void Session::StartLogin(std::string_view user, std::string password) {
  user_.clear();
  Wait(Wait::kLogin);
  host_->Login(user, std::move(password));
}

void Session::DoPass(const CommandLine& cmd, std::string* out) {
  if (user_.empty()) return Fail("", "No username given.", out);
  // RFC 1939 §7: the password is the rest of the line, spaces included.
  const std::string user = user_;
  StartLogin(user, std::string(cmd.rest));
}

void Session::DoAuth(const CommandLine& cmd, std::string* out) {
  const bool plaintext = security_.tls_active || security_.plaintext_auth_allowed;
  if (cmd.arg_count == 0) {
    // RFC 1734 / Dovecot: a bare AUTH lists the mechanisms usable now.
    AppendOk(out, "");
    if (plaintext) out->append("PLAIN\r\n");
    return AppendTerminator(out);
  }
  if (!IsUpper(cmd.args[0], "PLAIN")) {
    return Fail("", "Unsupported authentication mechanism.", out);
  }
  if (!PlaintextAuthOk(out)) return;
  if (cmd.arg_count == 2) {
    // RFC 5034 §4: "=" is an empty initial response.
    return DoPlain(cmd.args[1] == "=" ? std::string_view() : cmd.args[1], out);
  }
  mode_ = Mode::kAuthResponse;
  out->append("+ \r\n");
}

void Session::HandleAuthResponse(std::string_view line, std::string* out) {
  mode_ = Mode::kCommand;
  if (line == "*") {
    // RFC 5034 §4: the client cancelled; the AUTH command fails.
    return Fail("", "Authentication canceled.", out);
  }
  DoPlain(line, out);
}

void Session::DoPlain(std::string_view base64, std::string* out) {
  std::string authzid, authcid, password;
  if (!DecodeSaslPlain(base64, &authzid, &authcid, &password)) {
    return Fail("", "Invalid base64 data or SASL PLAIN message.", out);
  }
  if (!authzid.empty() && authzid != authcid) {
    // No proxy authorisation: acting as another user is refused.
    for (char& c : password) c = 0;
    return Fail(kCodeAuth, "Authorization failed.", out);
  }
  StartLogin(authcid, std::move(password));
}

void Session::DoQuit(std::string* out) {
  if (state_ == State::kAuthorization) {
    AppendOk(out, "Logging out.");
    mode_ = Mode::kClosed;
    return;
  }
  // RFC 1939 §6: QUIT in TRANSACTION enters UPDATE.
  state_ = State::kUpdate;
  if (deleted_count_ == 0) {
    AppendOk(out, "Logging out.");
    mode_ = Mode::kClosed;
    return;
  }
  std::vector<size_t> deleted;
  deleted.reserve(deleted_count_);
  for (size_t i = 0; i < deleted_.size(); ++i) {
    if (deleted_[i]) deleted.push_back(i);
  }
  Wait(Wait::kUpdate);
  host_->Update(std::move(deleted));
}

void Session::DoStat(std::string* out) {
  uint64_t count = 0, octets = 0;
  for (size_t i = 0; i < maildrop_.size(); ++i) {
    if (deleted_[i]) continue;
    ++count;
    octets += maildrop_[i].size;
  }
  AppendOk(out, std::to_string(count) + " " + std::to_string(octets));
}

bool Session::ResolveMessage(std::string_view arg, size_t* index,
                             std::string* out) {
  uint64_t n;
  if (!ParseNumber(arg, &n)) {
    Fail("", "Invalid message number: " + Echo(arg), out);
    return false;
  }
  if (n == 0 || n > maildrop_.size()) {
    Fail("", "There's no message " + std::to_string(n) + ".", out);
    return false;
  }
  if (deleted_[n - 1]) {
    Fail("", "Message is deleted.", out);
    return false;
  }
  *index = n - 1;
  return true;
}

void Session::DoList(const CommandLine& cmd, bool uidl, std::string* out) {
  auto item = [&](size_t i) {
    std::string s = std::to_string(i + 1);
    s.push_back(' ');
    if (uidl) {
      s.append(maildrop_[i].uidl);
    } else {
      s.append(std::to_string(maildrop_[i].size));
    }
    return s;
  };
  if (cmd.arg_count == 1) {
    size_t i;
    if (!ResolveMessage(cmd.args[0], &i, out)) return;
    return AppendOk(out, item(i));
  }
  if (uidl) {
    AppendOk(out, "");
  } else {
    AppendOk(out, std::to_string(maildrop_.size() - deleted_count_) + " messages:");
  }
  for (size_t i = 0; i < maildrop_.size(); ++i) {
    if (deleted_[i]) continue;
    out->append(item(i));
    out->append("\r\n");
  }
  AppendTerminator(out);
}

void Session::DoRetr(const CommandLine& cmd, bool top, std::string* out) {
  size_t i;
  if (!ResolveMessage(cmd.args[0], &i, out)) return;
  if (top && !ParseNumber(cmd.args[1], &top_lines_)) {
    return Fail("", "Invalid number of lines: " + Echo(cmd.args[1]), out);
  }
  retr_index_ = i;
  Wait(top ? Wait::kTop : Wait::kRetr);
  host_->Retrieve(i, !top);
}

void Session::DoDele(const CommandLine& cmd, std::string* out) {
  size_t i;
  if (!ResolveMessage(cmd.args[0], &i, out)) return;
  deleted_[i] = true;
  ++deleted_count_;
  AppendOk(out, "Marked to be deleted.");
}

void Session::DoRset(std::string* out) {
  deleted_.assign(maildrop_.size(), false);
  deleted_count_ = 0;
  AppendOk(out, "");
}

}  // namespace ringmail::pop3
