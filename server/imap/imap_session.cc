#include "server/imap/imap_session.h"

#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/acl.h"
#include "protocols/imap/args.h"
#include "server/auth_throttle.h"

namespace ringmail::server::imap {
namespace {

// Unparsed input kept while a command runs; above it the socket is paused.
constexpr size_t kMaxPendingInput = 256 << 10;
// RFC 2177 §3: the shortest autologout for a session in IDLE.
constexpr absl::Duration kMinIdleCommandTimeout = absl::Minutes(31);
// Failed logins before the connection is dropped.
constexpr int kMaxAuthFailures = 3;
// Delay before a failed login is answered, to slow down guessing.
constexpr absl::Duration kAuthFailureDelay = absl::Seconds(1);

std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::string_view(s.data(), s.size()));
}

// RFC 4314 §3: ACL, and RIGHTS= listing the rights beyond RFC 2086 that
// are implemented (all four: t, e, x, k).
std::string WithAcl(std::string caps) {
  absl::StrAppend(&caps, " ACL ", absl::string_view(ringmail::imap::kRightsCapability.data(),
                                                   ringmail::imap::kRightsCapability.size()));
  return caps;
}

// The capabilities after login (the LOGIN reply's CAPABILITY code).
std::string AuthenticatedCapabilities() {
  ringmail::imap::CapabilityOptions o;
  o.authenticated = true;
  o.quota = true;
  o.condstore = true;
  return WithAcl(ringmail::imap::BuildCapabilities(o));
}

}  // namespace

ImapSession::ImapSession(ImapService* svc, engine::Connection* plain,
                         engine::TlsStream* tls, SessionCarry carry)
    : svc_(svc),
      plain_(plain),
      tls_(tls),
      stream_(tls != nullptr ? static_cast<engine::Stream*>(tls) : plain),
      carry_(std::move(carry)),
      membership_(svc->sessions(), this) {
  assert((plain_ == nullptr) != (tls_ == nullptr));
  security_.tls_available = svc_->tls() != nullptr;
  security_.tls_active = tls_ != nullptr;
  security_.plaintext_auth_allowed = carry_.plaintext_auth_allowed;
  ringmail::imap::ReaderLimits limits;
  limits.max_message_size = svc->ctx().config->imap.max_message_size;
  reader_ = ringmail::imap::CommandReader(limits);
}

void ImapSession::StartStream() {
  if (tls_ != nullptr) {
    tls_->Start(this);
  } else {
    plain_->Start(this);
  }
}

ImapSession::~ImapSession() {
  gate_.Close();
  Unselect();  // saves the folder index if this was its last view
  ReleaseCommandOwners();
  if (user_ != nullptr) svc_->ReleaseUser(user_);
  membership_.Leave();  // last: may end the service's shutdown
}

std::string ImapSession::Capabilities() const {
  ringmail::imap::CapabilityOptions o = ringmail::imap::CapabilityOptionsFor(
      security_, state_.state() != ringmail::imap::SessionState::kNotAuthenticated);
  o.quota = o.authenticated;  // RFC 9208; after login only, like Dovecot
  o.condstore = true;
  if (!o.authenticated) return ringmail::imap::BuildCapabilities(o);
  return WithAcl(ringmail::imap::BuildCapabilities(o));  // like Dovecot: after login
}

void ImapSession::StartFresh() {
  last_activity_ = svc_->loop()->steady_now();
  connected_ = last_activity_;
  // The greeting is queued before Start: an implicit-TLS stream keeps it
  // until the handshake is done.
  absl::StrAppend(&out(), "* OK [CAPABILITY ", Capabilities(),
                  "] ringmail ready.\r\n");
  StartStream();
  FlushOutput();
  ArmIdleTimer();
}

void ImapSession::StartAuthenticated(MailUser* user, std::string unread) {
  user_ = user;
  state_.OnCommandOk(ringmail::imap::CommandId::kLogin);
  reader_.set_authenticated(true);
  last_activity_ = svc_->loop()->steady_now();
  // Plaintext the client pipelined on the old core comes before anything
  // the stream delivers (an adopted TLS stream may deliver from Start).
  pending_ = std::move(unread);
  StartStream();
  ArmIdleTimer();
  if (!pending_.empty() && !gone_) PumpPending();
}

void ImapSession::Shutdown() {
  if (gone_ || closing_) return;
  ringmail::imap::AppendBye(&out(), "Server shutting down");
  CloseConnection();
}

// ------------------------------------------------------------ input

void ImapSession::OnReceive(std::string_view data) {
  last_activity_ = svc_->loop()->steady_now();
  if (busy_ || !pending_.empty()) {
    pending_.append(data.data(), data.size());
    if (pending_.size() > kMaxPendingInput) stream_->PauseReading();
    if (!busy_) PumpPending();
    return;
  }
  size_t used = Pump(data);
  if (starttls_) return UpgradeToTls(data.size() - used);
  if (used < data.size() && !closing_) pending_.assign(data.substr(used));
  if (pending_.size() > kMaxPendingInput) stream_->PauseReading();
  FlushOutput();
}

void ImapSession::PumpPending() {
  if (busy_ || closing_ || gone_) return;
  std::string in;
  in.swap(pending_);
  size_t used = Pump(in);
  if (starttls_) return UpgradeToTls(in.size() - used + pending_.size());
  if (used < in.size() && !closing_) pending_.assign(in, used, std::string::npos);
  if (pending_.size() <= kMaxPendingInput) stream_->ResumeReading();
  FlushOutput();
}

void ImapSession::CmdStarttls() {
  if (std::string_view bad = ringmail::imap::CheckStarttls(security_); !bad.empty()) {
    return FinishBad(bad);
  }
  // RFC 3501 §6.2.1: the tagged OK goes out in the clear, then the
  // handshake. No CAPABILITY code here: the client asks again under TLS.
  ringmail::imap::AppendTagged(&out(), tag_, ringmail::imap::Status::kOk, "",
                               "Begin TLS negotiation now.");
  busy_ = false;
  starttls_ = true;  // Pump stops; its caller counts what is left
}

void ImapSession::UpgradeToTls(size_t discarded) {
  assert(starttls_ && plain_ != nullptr);
  starttls_ = false;
  // CVE-2011-0411: whatever followed STARTTLS was sent in the clear and is
  // dropped unparsed (StartTls logs the count). The reader starts afresh.
  pending_.clear();
  ringmail::imap::ReaderLimits limits;
  limits.max_message_size = svc_->ctx().config->imap.max_message_size;
  reader_ = ringmail::imap::CommandReader(limits);
  tls_ = engine::StartTls(plain_, svc_->tls(), this, discarded);
  plain_ = nullptr;
  stream_ = tls_;
  security_.tls_active = true;
}

size_t ImapSession::Pump(std::string_view in) {
  size_t total = 0;
  while (!busy_ && !closing_ && !gone_ && !starttls_) {
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
    case Id::kStarttls: return CmdStarttls();
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
    case Id::kSort: return CmdSort(cmd);
    case Id::kThread: return CmdThread(cmd);
    case Id::kGetQuota: return CmdGetQuota(cmd);
    case Id::kGetQuotaRoot: return CmdGetQuotaRoot(cmd);
    case Id::kSetQuota: return CmdSetQuota(cmd);
    case Id::kSetAcl: return CmdSetAcl(cmd, false);
    case Id::kDeleteAcl: return CmdSetAcl(cmd, true);
    case Id::kGetAcl: return CmdGetAcl(cmd);
    case Id::kListRights: return CmdListRights(cmd);
    case Id::kMyRights: return CmdMyRights(cmd);
  }
  FinishBad("Unknown command");
}

void ImapSession::Finish(ringmail::imap::Status status, std::string_view code,
                         std::string_view text) {
  if (gone_) return;
  ReleaseCommandOwners();  // guest MailUsers leased by this command
  std::string modseq_code;  // RFC 7162 HIGHESTMODSEQ for the tagged OK
  if (view_) {
    FlushOwnVanished();
    // RFC 3501 §7.4.1: no EXPUNGE during FETCH, STORE or SEARCH (the
    // client may be relying on sequence numbers); UID forms are exempt.
    bool msn_command = spec_ != nullptr && spec_->uses_msn && !uid_cmd_;
    view_->Flush(&out(), !msn_command);
    modseq_code = ModSeqAfterCommand(status == ringmail::imap::Status::kOk && code.empty());
  }
  modseq_.vanished.clear();  // the mailbox they belonged to is closed
  ringmail::imap::AppendTagged(&out(), tag_, status,
                               code.empty() ? std::string_view(modseq_code) : code, text);
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
  svc_->loop()->Defer([this, alive = gate_.token()] {
    if (alive) PumpPending();
  });
}

void ImapSession::FlushOutput() {
  if (!gone_) stream_->Flush();
}

void ImapSession::CloseConnection() {
  if (closing_ || gone_) return;
  closing_ = true;
  stream_->Close();
}

void ImapSession::OnPeerClosed() { CloseConnection(); }

void ImapSession::OnClosed() {
  gone_ = true;
  svc_->loop()->CancelTimer(idle_timer_);
  svc_->ctx().limits->Release(carry_.ip);
  // Commands still waiting on I/O hold a token of gate_ and see it closed.
  delete this;
}

void ImapSession::ArmIdleTimer() {
  absl::Duration timeout = user_ != nullptr ? svc_->ctx().config->imap.idle_timeout
                                            : svc_->ctx().config->imap.login_timeout;
  idle_timer_ = svc_->loop()->AddTimer(timeout, [this] { OnIdleTimer(); });
}

void ImapSession::OnIdleTimer() {
  absl::Duration timeout = user_ != nullptr ? svc_->ctx().config->imap.idle_timeout
                                            : svc_->ctx().config->imap.login_timeout;
  // RFC 2177 §3: clients re-issue IDLE at least every 29 minutes, so an
  // IDLE session is never logged out sooner than that, whatever the
  // configured timer; the extra minute keeps a client that re-IDLEs on
  // the dot from racing the timer.
  if (raw_mode_ == RawMode::kIdle) timeout = std::max(timeout, kMinIdleCommandTimeout);
  // Before login the time counts from the connection, as in Dovecot's login
  // processes: were any byte to restart it, a client dripping one now and
  // then would hold its connection slot for ever.
  absl::Duration idle = svc_->loop()->steady_now() -
                        (user_ != nullptr ? last_activity_ : connected_);
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
  view_->folder()->Sync([this, alive = gate_.token()](absl::Status) {
    if (alive) Finish(ringmail::imap::Status::kOk, "", "NOOP completed.");
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
    } else if (EnableModSeqExtension(c)) {  // CONDSTORE, QRESYNC (RFC 7162)
      enabled.push_back(absl::AsciiStrToUpper(c));
    }
  }
  ringmail::imap::AppendEnabled(&out(), enabled);
  Finish(ringmail::imap::Status::kOk, "", "Enabled.");
}

// ------------------------------------------------------------ login

bool ImapSession::LoginAllowed() {
  if (!security_.login_allowed()) {
    // RFC 3501 §6.2.3 (LOGINDISABLED) / RFC 5530 PRIVACYREQUIRED.
    FinishNo(ringmail::imap::kCodePrivacyRequired, ringmail::imap::kPlaintextLoginRefused);
    return false;
  }
  return true;
}

void ImapSession::CmdLogin(const ringmail::imap::Command& cmd) {
  std::string user, password;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseLogin(cmd.args, &user, &password, &err)) return FinishBad(err.text);
  if (!LoginAllowed()) return;
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
  if ((mech == "PLAIN" || mech == "LOGIN") && !LoginAllowed()) return;
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
  // A blocked address is refused without a password check, here where the
  // user name is known (after AUTHENTICATE's exchange too), and every
  // refusal is logged as SMTP's are: fail2ban sees each attempt, not only
  // the ones before the block.
  AuthThrottle* blocker = svc_->ctx().throttle;
  if (blocker != nullptr && blocker->Blocked(carry_.ip, svc_->loop()->now())) {
    for (char& c : password) c = 0;
    LogAuthFailure("imap", carry_.ip, login);
    LOG_WARNING("auth: refusing ", carry_.ip, ": too many failed logins");
    return FinishNo("UNAVAILABLE", "Too many failed logins; try again later.");
  }
  svc_->ctx().auth->Verify(
      svc_->loop(), login, std::move(password),
      [this, alive = gate_.token(), login](AuthResult r) {
        if (!alive) return;
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
        LogAuthFailure("imap", carry_.ip, login);
        ++auth_failures_;
        AuthThrottle* throttle = svc_->ctx().throttle;
        absl::Duration delay = throttle != nullptr
                                   ? throttle->RecordFailure(carry_.ip, svc_->loop()->now())
                                   : kAuthFailureDelay;
        svc_->loop()->AddTimer(delay, [this, alive] {
          if (!alive) return;
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
           absl::StrCat("CAPABILITY ", AuthenticatedCapabilities()), "Logged in");
    return;
  }
  // Hand the connection to the home core: reply first (it is sent before
  // the socket leaves), then move the socket with whatever the client has
  // already pipelined.
  ringmail::imap::AppendTagged(&out(), tag_, ringmail::imap::Status::kOk,
                     absl::StrCat("CAPABILITY ", AuthenticatedCapabilities()),
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
  if (tls_ != nullptr) {
    // The TLS session moves whole: socket, SSL state and the ciphertext
    // not yet decrypted; `unread` is plaintext already decrypted here.
    tls_->Release([here, home, target, unread = std::move(unread), user,
                   carry](std::unique_ptr<engine::TlsHandover> h) mutable {
      here->Post(home, [target, h = std::move(h), unread = std::move(unread), user,
                        carry]() mutable {
        target->AdoptTls(std::move(h), std::move(unread), user, carry);
      });
    });
  } else {
    plain_->Release([here, home, target, unread = std::move(unread), user,
                     carry](int fd, std::string held) mutable {
      here->Post(home, [target, fd, data = unread + held, user, carry]() mutable {
        target->Adopt(fd, std::move(data), user, carry);
      });
    });
  }
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
