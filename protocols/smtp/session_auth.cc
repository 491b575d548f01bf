// STARTTLS (RFC 3207) and AUTH (RFC 4954, mechanisms PLAIN RFC 4616 and
// LOGIN draft-murchison-sasl-login) for the SMTP session.
//
// The session never touches a socket or a password database: STARTTLS
// becomes Mode::kStartTls for the host to act on, and complete credentials
// go to SessionHost::Authenticate, answered by AuthDone. Every buffer that
// held a password is wiped (explicit_bzero) as soon as it is handed over.
#include <string>

#include "protocols/smtp/command_parser.h"
#include "protocols/smtp/sasl.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/text_util.h"

namespace ringmail::smtp {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (c != b[i]) return false;
  }
  return true;
}

// The LOGIN mechanism's challenges, base64 of "Username:" / "Password:".
constexpr std::string_view kLoginUserChallenge = "334 VXNlcm5hbWU6";
constexpr std::string_view kLoginPasswordChallenge = "334 UGFzc3dvcmQ6";

}  // namespace

void Session::DoStartTls(std::string* out) {
  if (!config_.starttls_available) {
    Fail("502 5.5.1 Error: command not implemented", out);
    return;
  }
  if (transport_.tls) {
    Fail("554 5.5.1 Error: TLS already active", out);
    return;
  }
  Reply("220 2.0.0 Ready to start TLS", out);
  mode_ = Mode::kStartTls;
}

void Session::TlsStarted() {
  if (mode_ != Mode::kStartTls) return;
  transport_.tls = true;
  ResetTransaction();
  phase_ = Phase::kConnected;
  helo_.clear();
  esmtp_ = false;
  authenticated_ = false;
  auth_user_.clear();
  // No partial line can be buffered (the STARTTLS line ended it), but start
  // clean anyway: nothing from the plaintext phase may survive.
  reader_ = LineReader();
  mode_ = Mode::kCommand;
}

void Session::DoAuth(const CommandLine& cmd, std::string* out) {
  if (!config_.auth_available) {
    Fail("502 5.5.1 Error: command not implemented", out);
    return;
  }
  if (authenticated_) {
    Fail("503 5.5.1 Error: already authenticated", out);  // RFC 4954 §4
    return;
  }
  std::string_view mech = cmd.args;
  std::string_view initial;
  bool has_initial = false;
  if (const size_t sp = mech.find(' '); sp != std::string_view::npos) {
    initial = mech.substr(sp + 1);
    mech = mech.substr(0, sp);
    has_initial = true;
  }
  if (EqualsIgnoreCase(mech, "PLAIN")) {
    sasl_step_ = SaslStep::kPlain;
  } else if (EqualsIgnoreCase(mech, "LOGIN")) {
    sasl_step_ = SaslStep::kLoginUser;
  } else {
    Fail("504 5.5.4 Unrecognized authentication type", out);
    return;
  }
  if (!PlaintextAuthOk()) {
    // RFC 4954 §6: both mechanisms expose the password; not in the clear.
    Fail("538 5.7.11 Encryption required for requested authentication "
         "mechanism",
         out);
    return;
  }
  if (!has_initial) {
    Reply(sasl_step_ == SaslStep::kPlain ? std::string_view("334 ")
                                         : kLoginUserChallenge,
          out);
    mode_ = Mode::kSaslResponse;
    return;
  }
  // RFC 4954 §4: "=" is an initial response of zero length.
  std::string decoded;
  if (initial != "=" && !DecodeBase64(initial, kMaxSaslDecoded, &decoded)) {
    Fail("501 5.5.2 Error: cannot decode AUTH parameter", out);
    return;
  }
  SaslStepWith(&decoded, out);
}

void Session::HandleSaslResponse(std::string_view line, std::string* out) {
  mode_ = Mode::kCommand;
  if (line == "*") {  // RFC 4954 §4: the client cancels
    EndSasl();
    Fail("501 5.7.0 Authentication aborted", out);
    return;
  }
  std::string decoded;
  if (!DecodeBase64(line, kMaxSaslDecoded, &decoded)) {
    EndSasl();
    Fail("501 5.5.2 Error: cannot decode response", out);
    return;
  }
  SaslStepWith(&decoded, out);
}

void Session::SaslStepWith(std::string* decoded, std::string* out) {
  switch (sasl_step_) {
    case SaslStep::kPlain: {
      std::string_view authzid, user, password;
      if (!SplitSaslPlain(*decoded, &authzid, &user, &password)) {
        WipeString(decoded);
        EndSasl();
        Fail("501 5.5.2 Error: malformed PLAIN response", out);
        return;
      }
      // Acting for someone else (RFC 4616 §2 authzid) is not supported: an
      // authzid other than the user itself fails like a bad password.
      if (!authzid.empty() && authzid != user) {
        WipeString(decoded);
        EndSasl();
        Fail("535 5.7.8 Error: authentication failed", out);
        return;
      }
      SubmitAuth(user, password, out);
      WipeString(decoded);
      return;
    }
    case SaslStep::kLoginUser:
      if (decoded->empty()) {
        EndSasl();
        Fail("501 5.5.2 Error: empty user name", out);
        return;
      }
      sasl_user_.swap(*decoded);
      sasl_step_ = SaslStep::kLoginPassword;
      Reply(kLoginPasswordChallenge, out);
      mode_ = Mode::kSaslResponse;
      return;
    case SaslStep::kLoginPassword: {
      const std::string user = sasl_user_;
      SubmitAuth(user, *decoded, out);
      WipeString(decoded);
      return;
    }
  }
}

void Session::SubmitAuth(std::string_view user, std::string_view password,
                         std::string* out) {
  static_cast<void>(out);
  pending_auth_user_.assign(user);
  AuthRequest req;
  req.mechanism = sasl_step_ == SaslStep::kPlain ? "PLAIN" : "LOGIN";
  req.user = pending_auth_user_;
  req.password = password;
  // Set before the call: the host may answer from inside it.
  mode_ = Mode::kAuthWait;
  host_->Authenticate(req);
  EndSasl();
}

void Session::EndSasl() {
  WipeString(&sasl_user_);
  sasl_step_ = SaslStep::kPlain;
}

void Session::AuthDone(AuthOutcome outcome, std::string* out) {
  if (mode_ != Mode::kAuthWait) return;
  mode_ = Mode::kCommand;
  switch (outcome) {
    case AuthOutcome::kOk:
      authenticated_ = true;
      auth_user_ = pending_auth_user_;
      Reply("235 2.7.0 Authentication successful", out);
      break;
    case AuthOutcome::kBadCredentials:
      Fail("535 5.7.8 Error: authentication failed", out);
      break;
    case AuthOutcome::kTempFail:
      Reply("454 4.7.0 Temporary authentication failure", out);
      break;
    case AuthOutcome::kBlocked:
      Close(Concat({"421 4.7.0 ", config_.hostname,
                    " Error: too many failed logins, try again later"}),
            out);
      break;
  }
  pending_auth_user_.clear();
  if (shutdown_pending_ && !closed()) {
    Close(Concat({"421 4.3.2 ", config_.hostname, " Service shutting down"}),
          out);
  }
}

}  // namespace ringmail::smtp
