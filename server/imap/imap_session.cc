#include "server/imap/imap_session.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/args.h"

namespace ringmail::server::imap {
namespace {

// Unparsed input kept while a command runs; above it the socket is paused.
constexpr size_t kMaxPendingInput = 256 << 10;
// A client that has not logged in gets this long (Dovecot: 1 minute of
// login_timeout-like grace is common; we allow a little more).
constexpr absl::Duration kPreAuthTimeout = absl::Minutes(3);
// Failed logins before the connection is dropped.
constexpr int kMaxAuthFailures = 3;
// Delay before a failed login is answered, to slow down guessing.
constexpr absl::Duration kAuthFailureDelay = absl::Seconds(1);

std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

}  // namespace

ImapSession::ImapSession(ImapService* svc, engine::Connection* conn,
                         SessionCarry carry)
    : svc_(svc), conn_(conn), carry_(std::move(carry)) {
  ringmail::imap::ReaderLimits limits;
  limits.max_message_size = svc->ctx().config->imap.max_message_size;
  reader_ = ringmail::imap::CommandReader(limits);
  svc_->Register(this);
}

ImapSession::~ImapSession() {
  *alive_ = false;
  Unselect();  // saves the folder index if this was its last view
  if (user_ != nullptr) svc_->ReleaseUser(user_);
  svc_->Unregister(this);
}

std::string ImapSession::Capabilities() const {
  ringmail::imap::CapabilityOptions o;
  o.authenticated = state_.state() != ringmail::imap::SessionState::kNotAuthenticated;
  return ringmail::imap::BuildCapabilities(o);
}

void ImapSession::StartFresh() {
  last_activity_ = svc_->loop()->now();
  conn_->Start(this);
  absl::StrAppend(&out(), "* OK [CAPABILITY ", Capabilities(),
                  "] ringmail ready.\r\n");
  FlushOutput();
  ArmIdleTimer();
}

void ImapSession::StartAuthenticated(MailUser* user, std::string unread) {
  user_ = user;
  state_.OnCommandOk(ringmail::imap::CommandId::kLogin);
  reader_.set_authenticated(true);
  last_activity_ = svc_->loop()->now();
  conn_->Start(this);
  ArmIdleTimer();
  if (!unread.empty()) OnReceive(unread);
}

void ImapSession::Shutdown() {
  if (gone_ || closing_) return;
  ringmail::imap::AppendBye(&out(), "Server shutting down");
  CloseConnection();
}

// ------------------------------------------------------------ input

void ImapSession::OnReceive(std::string_view data) {
  last_activity_ = svc_->loop()->now();
  if (busy_ || !pending_.empty()) {
    pending_.append(data.data(), data.size());
    if (pending_.size() > kMaxPendingInput) conn_->PauseReading();
    if (!busy_) PumpPending();
    return;
  }
  size_t used = Pump(data);
  if (used < data.size() && !closing_) pending_.assign(data.substr(used));
  if (pending_.size() > kMaxPendingInput) conn_->PauseReading();
  FlushOutput();
}

void ImapSession::PumpPending() {
  if (busy_ || closing_ || gone_) return;
  std::string in;
  in.swap(pending_);
  size_t used = Pump(in);
  if (used < in.size() && !closing_) pending_.assign(in, used, std::string::npos);
  if (pending_.size() <= kMaxPendingInput) conn_->ResumeReading();
  FlushOutput();
}

size_t ImapSession::Pump(std::string_view in) {
  size_t total = 0;
  while (!busy_ && !closing_ && !gone_) {
    size_t consumed = 0;
    ringmail::imap::CommandReader::Event ev = reader_.Next(in.substr(total), &consumed);
    total += consumed;
    if (ev == ringmail::imap::CommandReader::Event::kNeedMore) break;
    if (!HandleEvent(ev)) break;
  }
  return total;
}

bool ImapSession::HandleEvent(ringmail::imap::CommandReader::Event ev) {
  using Event = ringmail::imap::CommandReader::Event;
  switch (ev) {
    case Event::kNeedMore:
      return false;
    case Event::kCommand:
      Dispatch(reader_.command());
      return true;
    case Event::kContinue:
      out() += ringmail::imap::kLiteralContinuation;
      FlushOutput();
      return true;
    case Event::kAppendBegin:
      AppendBegin(reader_.command());
      return true;
    case Event::kAppendData:
      AppendData(reader_.append_chunk());
      return true;
    case Event::kAppendEnd:
      AppendEnd();
      return true;
    case Event::kRawLine: {
      std::string_view line = reader_.raw_line();
      if (raw_mode_ == RawMode::kIdle) {
        OnIdleLine(line);
      } else {
        OnAuthLine(line);
      }
      return true;
    }
    case Event::kError:
      out() += reader_.error_reply();
      return true;
    case Event::kFatal:
      out() += reader_.error_reply();
      CloseConnection();
      return false;
  }
  return false;
}

void ImapSession::Begin(const ringmail::imap::Command& cmd) {
  tag_.assign(cmd.tag.data(), cmd.tag.size());
  spec_ = cmd.spec;
  uid_cmd_ = cmd.uid;
  busy_ = true;
}

void ImapSession::Dispatch(const ringmail::imap::Command& cmd) {
  Begin(cmd);
  if (std::string_view bad = state_.CheckAllowed(*cmd.spec); !bad.empty()) {
    FinishBad(bad);
    return;
  }
  using Id = ringmail::imap::CommandId;
  switch (cmd.spec->id) {
    case Id::kCapability: return CmdCapability();
    case Id::kNoop: return CmdNoop();
    case Id::kLogout: return CmdLogout();
    case Id::kStarttls:
      return FinishBad("STARTTLS is not available on this port");
    case Id::kAuthenticate: return CmdAuthenticate(cmd);
    case Id::kLogin: return CmdLogin(cmd);
    case Id::kSelect: return CmdSelect(cmd, false);
    case Id::kExamine: return CmdSelect(cmd, true);
    case Id::kCreate: return CmdCreate(cmd);
    case Id::kDelete: return CmdDelete(cmd);
    case Id::kRename: return CmdRename(cmd);
    case Id::kSubscribe: return CmdSubscribe(cmd, true);
    case Id::kUnsubscribe: return CmdSubscribe(cmd, false);
    case Id::kList: return CmdList(cmd, false);
    case Id::kLsub: return CmdList(cmd, true);
    case Id::kStatus: return CmdStatus(cmd);
    case Id::kAppend:
      return FinishBad("APPEND needs a message literal");
    case Id::kNamespace: return CmdNamespace();
    case Id::kEnable: return CmdEnable(cmd);
    case Id::kId: return CmdId(cmd);
    case Id::kIdle: return CmdIdle();
    case Id::kCheck: return CmdCheck();
    case Id::kClose: return CmdClose(true);
    case Id::kUnselect: return CmdClose(false);
    case Id::kExpunge: return CmdExpunge(cmd);
    case Id::kSearch: return CmdSearch(cmd);
    case Id::kFetch: return CmdFetch(cmd);
    case Id::kStore: return CmdStore(cmd);
    case Id::kCopy: return CmdCopy(cmd, false);
    case Id::kMove: return CmdCopy(cmd, true);
  }
  FinishBad("Unknown command");
}

void ImapSession::Finish(ringmail::imap::Status status, std::string_view code,
                         std::string_view text) {
  if (gone_) return;
  if (view_) {
    // RFC 3501 §7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (the
    // client may be relying on sequence numbers); UID forms are exempt.
    bool msn_command = spec_ != nullptr && spec_->uses_msn && !uid_cmd_;
    view_->Flush(&out(), !msn_command);
  }
  ringmail::imap::AppendTagged(&out(), tag_, status, code, text);
  if (status == ringmail::imap::Status::kOk && spec_ != nullptr) {
    state_.OnCommandOk(spec_->id);
  } else if (spec_ != nullptr && (spec_->id == ringmail::imap::CommandId::kSelect ||
                                  spec_->id == ringmail::imap::CommandId::kExamine)) {
    state_.OnSelectFailed();
  }
  busy_ = false;
  raw_mode_ = RawMode::kNone;
  FlushOutput();
  // Continue with pipelined input later, never re-entrantly.
  svc_->loop()->Defer([this, alive = alive_] {
    if (*alive) PumpPending();
  });
}

void ImapSession::FlushOutput() {
  if (!gone_) conn_->Flush();
}

void ImapSession::CloseConnection() {
  if (closing_ || gone_) return;
  closing_ = true;
  conn_->Close();
}

void ImapSession::OnPeerClosed() { CloseConnection(); }

void ImapSession::OnClosed() {
  gone_ = true;
  svc_->loop()->CancelTimer(idle_timer_);
  svc_->ctx().limits->Release(carry_.ip);
  // Commands still waiting on I/O hold `alive_` and see it cleared.
  delete this;
}

void ImapSession::ArmIdleTimer() {
  absl::Duration timeout = user_ != nullptr ? svc_->ctx().config->imap.idle_timeout
                                            : kPreAuthTimeout;
  idle_timer_ = svc_->loop()->AddTimer(timeout, [this] { OnIdleTimer(); });
}

void ImapSession::OnIdleTimer() {
  absl::Duration timeout = user_ != nullptr ? svc_->ctx().config->imap.idle_timeout
                                            : kPreAuthTimeout;
  absl::Duration idle = svc_->loop()->now() - last_activity_;
  if (idle < timeout || busy_) {
    idle_timer_ = svc_->loop()->AddTimer(std::max(timeout - idle, absl::Seconds(1)),
                                         [this] { OnIdleTimer(); });
    return;
  }
  ringmail::imap::AppendBye(&out(), "Disconnected for inactivity.");
  FlushOutput();
  CloseConnection();
}

// ------------------------------------------------------------ any state

void ImapSession::CmdCapability() {
  ringmail::imap::AppendCapability(&out(), Capabilities());
  Finish(ringmail::imap::Status::kOk, "", "Capability completed.");
}

void ImapSession::CmdNoop() {
  if (!view_) {
    Finish(ringmail::imap::Status::kOk, "", "NOOP completed.");
    return;
  }
  view_->folder()->Sync([this, alive = alive_](absl::Status) {
    if (*alive) Finish(ringmail::imap::Status::kOk, "", "NOOP completed.");
  });
}

void ImapSession::CmdLogout() {
  ringmail::imap::AppendBye(&out(), "Logging out");
  ringmail::imap::AppendTagged(&out(), tag_, ringmail::imap::Status::kOk, "", "Logout completed.");
  busy_ = false;
  state_.OnLogout();
  FlushOutput();
  CloseConnection();
}

void ImapSession::CmdId(const ringmail::imap::Command& cmd) {
  std::vector<std::pair<std::string, std::optional<std::string>>> params;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseId(cmd.args, &params, &err)) return FinishBad(err.text);
  ringmail::imap::AppendId(&out(), {{"name", "ringmail"}, {"vendor", "ringmail"}});
  Finish(ringmail::imap::Status::kOk, "", "ID completed.");
}

void ImapSession::CmdEnable(const ringmail::imap::Command& cmd) {
  std::vector<std::string> caps;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseEnable(cmd.args, &caps, &err)) return FinishBad(err.text);
  std::vector<std::string> enabled;
  for (const std::string& c : caps) {
    if (absl::AsciiStrToUpper(c) == "UTF8=ACCEPT" && !carry_.utf8_accept) {
      carry_.utf8_accept = true;
      enabled.push_back("UTF8=ACCEPT");
    }
  }
  ringmail::imap::AppendEnabled(&out(), enabled);
  Finish(ringmail::imap::Status::kOk, "", "Enabled.");
}

// ------------------------------------------------------------ login

void ImapSession::CmdLogin(const ringmail::imap::Command& cmd) {
  std::string user, password;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseLogin(cmd.args, &user, &password, &err)) return FinishBad(err.text);
  VerifyLogin(std::move(user), std::move(password));
}

void ImapSession::CmdAuthenticate(const ringmail::imap::Command& cmd) {
  std::string mechanism;
  std::optional<std::string_view> initial;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseAuthenticate(cmd.args, &mechanism, &initial, &err)) {
    return FinishBad(err.text);
  }
  std::string mech = absl::AsciiStrToUpper(mechanism);
  busy_ = false;  // waiting for client lines, not for I/O
  if (mech == "PLAIN") {
    raw_mode_ = RawMode::kAuthPlain;
    if (initial) {
      OnAuthLine(*initial);
      return;
    }
    out() += "+ \r\n";
  } else if (mech == "LOGIN") {
    raw_mode_ = RawMode::kAuthLoginUser;
    out() += "+ VXNlcm5hbWU6\r\n";  // "Username:"
  } else {
    busy_ = true;
    return FinishNo("CANNOT", "Unsupported authentication mechanism.");
  }
  reader_.ExpectRawLine();
  FlushOutput();
}

void ImapSession::OnAuthLine(std::string_view line) {
  busy_ = true;
  if (line == "*") return FinishBad("Authentication canceled.");
  ringmail::imap::ArgError err;
  switch (raw_mode_) {
    case RawMode::kAuthPlain: {
      std::string authzid, authcid, password;
      if (!ringmail::imap::DecodeSaslPlain(line, &authzid, &authcid, &password, &err)) {
        return FinishBad(err.text);
      }
      if (!authzid.empty() && authzid != authcid) {
        return FinishNo("AUTHORIZATIONFAILED", "Authorization failed.");
      }
      return VerifyLogin(std::move(authcid), std::move(password));
    }
    case RawMode::kAuthLoginUser: {
      if (!ringmail::imap::DecodeBase64(line, 1024, &auth_user_)) {
        return FinishBad("Invalid base64 data.");
      }
      busy_ = false;
      raw_mode_ = RawMode::kAuthLoginPass;
      out() += "+ UGFzc3dvcmQ6\r\n";  // "Password:"
      reader_.ExpectRawLine();
      FlushOutput();
      return;
    }
    case RawMode::kAuthLoginPass: {
      std::string password;
      if (!ringmail::imap::DecodeBase64(line, 1024, &password)) {
        return FinishBad("Invalid base64 data.");
      }
      return VerifyLogin(std::move(auth_user_), std::move(password));
    }
    default:
      return FinishBad("Unexpected line.");
  }
}

void ImapSession::VerifyLogin(std::string user, std::string password) {
  busy_ = true;
  raw_mode_ = RawMode::kNone;
  std::string login = Lower(user);
  svc_->ctx().auth->Verify(
      svc_->loop(), login, std::move(password),
      [this, alive = alive_, login](AuthResult r) {
        if (!*alive) return;
        switch (r.code) {
          case AuthResult::Code::kOk:
            LOG_INFO("imap: login ", login, " from ", carry_.ip);
            return LoggedIn(r.mailbox);
          case AuthResult::Code::kTempFail:
            return FinishNo("UNAVAILABLE", "Temporary authentication failure.");
          case AuthResult::Code::kBadCredentials:
            break;
        }
        // One line per failure, in a form fail2ban can match.
        LOG_WARNING("imap: authentication failed for user=<", login, "> rip=",
                    carry_.ip);
        ++auth_failures_;
        svc_->loop()->AddTimer(kAuthFailureDelay, [this, alive] {
          if (!*alive) return;
          FinishNo("AUTHENTICATIONFAILED", "Authentication failed.");
          if (auth_failures_ >= kMaxAuthFailures) {
            ringmail::imap::AppendBye(&out(), "Too many invalid authentication attempts.");
            FlushOutput();
            CloseConnection();
          }
        });
      });
}

void ImapSession::LoggedIn(const Directory::Mailbox& mailbox) {
  int home = svc_->HomeCore(mailbox);
  reader_.set_authenticated(true);
  if (home == svc_->loop()->id()) {
    user_ = svc_->AcquireUser(mailbox);
    Finish(ringmail::imap::Status::kOk,
           absl::StrCat("CAPABILITY ", [&] {
             ringmail::imap::CapabilityOptions o;
             o.authenticated = true;
             return ringmail::imap::BuildCapabilities(o);
           }()),
           "Logged in");
    return;
  }
  // Hand the connection to the home core: reply first (it is sent before
  // the socket leaves), then move the socket with whatever the client has
  // already pipelined.
  ringmail::imap::CapabilityOptions o;
  o.authenticated = true;
  ringmail::imap::AppendTagged(&out(), tag_, ringmail::imap::Status::kOk,
                     absl::StrCat("CAPABILITY ", ringmail::imap::BuildCapabilities(o)),
                     "Logged in");
  busy_ = false;
  std::string unread = std::move(pending_);
  pending_.clear();
  ImapService* target = (*svc_->ctx().services)[home];
  engine::Loop* here = svc_->loop();
  SessionCarry carry = carry_;
  Directory::Mailbox user = mailbox;
  gone_ = true;  // this object no longer owns the connection
  svc_->loop()->CancelTimer(idle_timer_);
  conn_->Release([here, home, target, unread = std::move(unread), user,
                  carry](int fd, std::string held) mutable {
    here->Post(home, [target, fd, data = unread + held, user, carry]() mutable {
      target->Adopt(fd, std::move(data), user, carry);
    });
  });
  delete this;
}

// ------------------------------------------------------------ IDLE (RFC 2177)

void ImapSession::CmdIdle() {
  busy_ = false;
  raw_mode_ = RawMode::kIdle;
  out() += "+ idling\r\n";
  if (view_) {
    view_->Flush(&out(), true);
    view_->SetChangeListener([this] {
      if (raw_mode_ != RawMode::kIdle || !view_) return;
      view_->Flush(&out(), true);
      FlushOutput();
    });
    // Pick up changes made by other tools since the last look.
    view_->folder()->Sync([](absl::Status) {});
  }
  reader_.ExpectRawLine();
  FlushOutput();
}

void ImapSession::OnIdleLine(std::string_view line) {
  busy_ = true;
  if (view_) view_->SetChangeListener(nullptr);
  if (absl::AsciiStrToUpper(absl::string_view(line.data(), line.size())) != "DONE") {
    return FinishBad("Expected DONE.");
  }
  Finish(ringmail::imap::Status::kOk, "", "Idle completed.");
}

}  // namespace ringmail::server::imap
