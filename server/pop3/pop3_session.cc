#include "server/pop3/pop3_session.h"

#include <algorithm>
#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "server/auth_throttle.h"

namespace ringmail::server::pop3 {
namespace {

using ringmail::pop3::LoginResult;
using ringmail::pop3::MaildropEntry;
using ringmail::pop3::RetrieveStatus;

// Unconsumed input kept while the session waits; above it reading pauses.
constexpr size_t kMaxPendingInput = 64 << 10;
// RETR/TOP back-pressure: the next chunk is read only while less than this
// is queued for the client (plaintext and ciphertext).
constexpr size_t kRetrMaxPendingOutput = kRetrChunkBytes;
// Delay before a failed login is answered, to slow down guessing.
constexpr absl::Duration kAuthFailureDelay = absl::Seconds(1);

std::string UserKey(const Directory::Mailbox& m) {
  return absl::StrCat(m.local_part, "@", m.domain);
}

ringmail::pop3::SessionLimits Limits() { return ringmail::pop3::SessionLimits(); }

}  // namespace

Pop3Session::Pop3Session(Pop3Service* svc, engine::Connection* plain,
                         engine::TlsStream* tls, Pop3Carry carry)
    : svc_(svc),
      plain_(plain),
      tls_(tls),
      stream_(tls != nullptr ? static_cast<engine::Stream*>(tls) : plain),
      carry_(std::move(carry)),
      session_(Limits(), this),
      membership_(svc->sessions(), this) {
  assert((plain_ == nullptr) != (tls_ == nullptr));
  ringmail::pop3::SessionSecurity security;
  security.tls_available = svc_->tls() != nullptr;
  security.tls_active = tls_ != nullptr;
  security.plaintext_auth_allowed = carry_.plaintext_auth_allowed;
  session_.set_security(security);
}

void Pop3Session::StartStream() {
  if (tls_ != nullptr) {
    tls_->Start(this);
  } else {
    plain_->Start(this);
  }
}

Pop3Session::~Pop3Session() {
  gate_.Close();
  // A session that ends without QUIT deletes nothing (RFC 1939 §6): the
  // marks live only in session_.
  maildrop_.reset();
  if (!lock_key_.empty()) svc_->Unlock(lock_key_);
  membership_.Leave();  // last: may end the service's shutdown
}

void Pop3Session::StartFresh() {
  last_activity_ = svc_->loop()->steady_now();
  connected_ = last_activity_;
  // Queued before Start: an implicit-TLS stream holds it until the
  // handshake is done.
  session_.Start(&out());
  StartStream();
  stream_->Flush();
  ArmIdleTimer();
}

void Pop3Session::StartHandedOver(const Directory::Mailbox& user, std::string unread) {
  last_activity_ = svc_->loop()->steady_now();
  connected_ = last_activity_;  // the login was verified; only the maildrop is left
  session_.ResumeLogin(carry_.session);
  pending_ = std::move(unread);
  StartStream();  // may deliver decrypted bytes; they queue behind pending_
  ArmIdleTimer();
  OpenMaildrop(user);
}

void Pop3Session::Shutdown() {
  if (gone_ || closing_) return;
  session_.OnShutdown(&out());
  // While waiting, the protocol session closes after the pending answer.
  AfterAnswer();
}

// ------------------------------------------------------------ input

void Pop3Session::OnReceive(std::string_view data) {
  last_activity_ = svc_->loop()->steady_now();
  pending_.append(data.data(), data.size());
  Pump();
}

void Pop3Session::Pump() {
  if (gone_ || closing_ || in_consume_) return;
  in_consume_ = true;
  const size_t used = session_.Consume(pending_, &out());
  in_consume_ = false;
  if (gone_) return;  // handed over inside Consume
  pending_.erase(0, used);
  if (session_.tls_requested()) return UpgradeToTls(pending_.size());
  if (session_.closed()) {
    CloseConnection();
    return;
  }
  if (pending_.size() > kMaxPendingInput) {
    stream_->PauseReading();
  } else {
    stream_->ResumeReading();
  }
  stream_->Flush();
}

void Pop3Session::UpgradeToTls(size_t discarded) {
  assert(plain_ != nullptr && svc_->tls() != nullptr);
  // RFC 2595 §4 / CVE-2011-0411: input after STLS was sent in the clear
  // and is dropped unparsed (StartTls logs the count).
  pending_.clear();
  tls_ = engine::StartTls(plain_, svc_->tls(), this, discarded);
  plain_ = nullptr;
  stream_ = tls_;
  session_.TlsStarted();
}

void Pop3Session::AfterAnswer() {
  if (gone_ || closing_) return;
  if (session_.closed()) {
    CloseConnection();
    return;
  }
  if (in_consume_) return;  // the running Consume continues
  Pump();
}

void Pop3Session::CloseConnection() {
  if (closing_ || gone_) return;
  closing_ = true;
  // A QUIT that ends the session (nothing to delete, or UPDATE done) frees
  // the maildrop now, before the +OK is flushed: a client that logs in again
  // as soon as it reads the reply must not get [IN-USE] from a lock that
  // only the socket's close would release (RFC 1939 §6, §8). While an
  // UPDATE is still running the lock stays until the session is destroyed.
  if (session_.closed() && !lock_key_.empty()) {
    svc_->Unlock(lock_key_);
    lock_key_.clear();
  }
  stream_->Close();  // flushes first
}

void Pop3Session::OnPeerClosed() { CloseConnection(); }

void Pop3Session::OnClosed() {
  gone_ = true;
  session_.OnDisconnect();
  svc_->loop()->CancelTimer(idle_timer_);
  svc_->ctx().limits->Release(carry_.ip);
  delete this;
}

absl::Duration Pop3Session::Timeout() const {
  return session_.authenticated() ? svc_->ctx().config->pop3.idle_timeout
                                  : svc_->ctx().config->pop3.login_timeout;
}

void Pop3Session::ArmIdleTimer() {
  idle_timer_ = svc_->loop()->AddTimer(Timeout(), [this] { OnIdleTimer(); });
}

void Pop3Session::OnIdleTimer() {
  // Before login the time counts from the connection (as IMAP's): were any
  // byte to restart it, a client dripping one now and then would hold its
  // connection slot for ever.
  const absl::Duration idle =
      svc_->loop()->steady_now() -
      (session_.authenticated() ? last_activity_ : connected_);
  // A host request in progress does not count as idle, but a client that
  // stops taking a streamed RETR does (last_activity_ moves per chunk).
  if (idle < Timeout() || (session_.waiting() && !session_.streaming())) {
    idle_timer_ = svc_->loop()->AddTimer(std::max(Timeout() - idle, absl::Seconds(1)),
                                         [this] { OnIdleTimer(); });
    return;
  }
  idle_timer_ = 0;
  const bool stalled = session_.streaming();  // the client stopped reading
  session_.OnIdleTimeout(&out());
  if (stalled) {
    // Close() would wait for the send queue the client does not read.
    closing_ = true;
    retr_file_.reset();
    stream_->Abort();
    return;
  }
  CloseConnection();
}

// ------------------------------------------------------------ host

void Pop3Session::Login(std::string_view user, std::string password) {
  std::string login = absl::AsciiStrToLower(absl::string_view(user.data(), user.size()));
  AuthThrottle* throttle = svc_->ctx().throttle;
  if (throttle != nullptr && throttle->Blocked(carry_.ip, svc_->loop()->now())) {
    // Refused without a password check: -ERR [SYS/TEMP]. Logged as SMTP's
    // refusals are, so fail2ban sees every attempt, not only the first ones.
    for (char& c : password) c = 0;
    LogAuthFailure("pop3", carry_.ip, login);
    LOG_WARNING("auth: refusing ", carry_.ip, ": too many failed logins");
    session_.LoginDone(LoginResult::kTempFail, {}, &out());
    return AfterAnswer();
  }
  svc_->ctx().auth->Verify(
      svc_->loop(), login, std::move(password),
      [this, alive = gate_.token(), login](AuthResult r) {
        if (!alive) return;
        switch (r.code) {
          case AuthResult::Code::kOk:
            LOG_INFO("pop3: login ", login, " from ", carry_.ip);
            return LoggedIn(r.mailbox);
          case AuthResult::Code::kTempFail:
            session_.LoginDone(LoginResult::kTempFail, {}, &out());
            return AfterAnswer();
          case AuthResult::Code::kBadCredentials:
            break;
        }
        // One line per failure, in a form fail2ban can match.
        LogAuthFailure("pop3", carry_.ip, login);
        AuthThrottle* throttle = svc_->ctx().throttle;
        absl::Duration delay = throttle != nullptr
                                   ? throttle->RecordFailure(carry_.ip, svc_->loop()->now())
                                   : kAuthFailureDelay;
        svc_->loop()->AddTimer(delay, [this, alive] {
          if (!alive) return;
          session_.LoginDone(LoginResult::kBadCredentials, {}, &out());
          AfterAnswer();
        });
      });
}

void Pop3Session::LoggedIn(const Directory::Mailbox& mailbox) {
  const int home = svc_->HomeCore(mailbox);
  if (home == svc_->loop()->id()) return OpenMaildrop(mailbox);
  // Move the connection, with whatever the client already pipelined, to
  // the home core; the login is answered there once the maildrop is open.
  Pop3Service* target = (*svc_->ctx().services)[home];
  engine::Loop* here = svc_->loop();
  Pop3Carry carry = carry_;
  carry.session = session_.carry();
  std::string unread = std::move(pending_);
  gone_ = true;  // this object no longer owns the connection
  svc_->loop()->CancelTimer(idle_timer_);
  if (tls_ != nullptr) {
    // The TLS session moves whole: socket, SSL state and the ciphertext
    // not yet decrypted; `unread` is plaintext already decrypted here.
    tls_->Release([here, home, target, unread = std::move(unread), mailbox,
                   carry = std::move(carry)](std::unique_ptr<engine::TlsHandover> h) mutable {
      here->Post(home, [target, h = std::move(h), unread = std::move(unread), mailbox,
                        carry = std::move(carry)]() mutable {
        target->AdoptTls(std::move(h), std::move(unread), mailbox, std::move(carry));
      });
    });
  } else {
    plain_->Release([here, home, target, unread = std::move(unread), mailbox,
                     carry = std::move(carry)](int fd, std::string held) mutable {
      here->Post(home, [target, fd, data = unread + held, mailbox,
                        carry = std::move(carry)]() mutable {
        target->Adopt(fd, std::move(data), mailbox, std::move(carry));
      });
    });
  }
  delete this;
}

void Pop3Session::OpenMaildrop(const Directory::Mailbox& mailbox) {
  std::string key = UserKey(mailbox);
  if (!svc_->TryLock(key)) {
    session_.LoginDone(LoginResult::kInUse, {}, &out());
    return AfterAnswer();
  }
  lock_key_ = std::move(key);
  const Config& config = *svc_->ctx().config;
  MaildropOptions options;
  options.uidl_format = config.pop3.uidl_format;
  maildrop_ = std::make_unique<Maildrop>(svc_->loop(), svc_->ctx().pool, svc_->imap(),
                                         mailbox, std::move(options));
  maildrop_->Open([this, alive = gate_.token()](
                      absl::StatusOr<std::vector<MaildropEntry>> listing) mutable {
    if (!alive) return;
    if (!listing.ok()) {
      LOG_WARNING("pop3: opening INBOX of ", lock_key_, ": ", listing.status().ToString());
      maildrop_.reset();
      svc_->Unlock(lock_key_);
      lock_key_.clear();
      session_.LoginDone(LoginResult::kMaildropFailed, {}, &out());
    } else {
      session_.LoginDone(LoginResult::kOk, std::move(*listing), &out());
      // From now on the configured idle timeout applies, not the pre-login one.
      svc_->loop()->CancelTimer(idle_timer_);
      ArmIdleTimer();
    }
    AfterAnswer();
  });
}

void Pop3Session::Retrieve(size_t index, bool retr) {
  assert(maildrop_ != nullptr && retr_file_ == nullptr);
  maildrop_->OpenMessage(index, [this, alive = gate_.token(), index, retr](
                                    RetrieveStatus st,
                                    std::unique_ptr<MessageFile> file) mutable {
    if (!alive) return;
    session_.RetrieveStarted(st, &out());
    if (!session_.streaming()) return AfterAnswer();  // -ERR sent
    retr_file_ = std::move(file);
    retr_index_ = index;
    retr_seen_ = retr;
    stream_->Flush();  // the status line goes out while the file is read
    ContinueRetrieve();
  });
}

void Pop3Session::OnOutputDrained() { ContinueRetrieve(); }

void Pop3Session::ContinueRetrieve() {
  if (gone_ || closing_ || retr_file_ == nullptr || retr_file_->reading()) return;
  if (stream_->pending_output() >= kRetrMaxPendingOutput) return;  // drain first
  retr_file_->ReadNext([this, alive = gate_.token()](absl::StatusOr<std::string_view> chunk) {
    if (!alive || gone_ || closing_) return;
    if (!chunk.ok()) {
      LOG_WARNING("pop3: ", lock_key_, " RETR/TOP message ", retr_index_ + 1, ": ",
                  chunk.status().ToString());
      retr_file_.reset();
      session_.RetrieveAborted();  // a -ERR cannot follow part of a response
      return AfterAnswer();        // closes
    }
    if (chunk->empty()) return FinishRetrieve();
    last_activity_ = svc_->loop()->steady_now();  // the client is taking the response
    const bool more = session_.RetrieveData(*chunk, &out());
    stream_->Flush();
    if (!more) return FinishRetrieve();  // TOP has all it needs
    ContinueRetrieve();
  });
}

void Pop3Session::FinishRetrieve() {
  retr_file_.reset();
  auto end = [this] {
    session_.RetrieveEnd(&out());
    AfterAnswer();  // pipelined commands run now
  };
  if (!retr_seen_) return end();
  // As before streaming: the whole message is in the output when the
  // message becomes seen, and the next command waits for the rename.
  maildrop_->MarkRetrieved(retr_index_, [this, alive = gate_.token(), end]() {
    if (alive && !gone_ && !closing_) end();
  });
}

void Pop3Session::Update(std::vector<size_t> deleted) {
  assert(maildrop_ != nullptr);
  maildrop_->Delete(std::move(deleted), [this, alive = gate_.token()](size_t failed) {
    if (!alive) return;
    // The UPDATE state is over: release the maildrop lock before the +OK
    // goes out (RFC 1939 §6), so a client that logs in again right after
    // QUIT's reply does not find it still locked. The Maildrop itself goes
    // later: its own call is still on the stack.
    svc_->loop()->Defer([this, alive] {
      if (alive) maildrop_.reset();
    });
    if (!lock_key_.empty()) {
      svc_->Unlock(lock_key_);
      lock_key_.clear();
    }
    session_.UpdateDone(failed, &out());
    AfterAnswer();
  });
}

}  // namespace ringmail::server::pop3
