#include "server/smtp_service.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/log.h"
#include "server/relay/relay_service.h"
#include "storage/maildir/journal_format.h"
#include "storage/maildir/journal_recovery.h"

namespace ringmail::server {
namespace {

// Input a session may leave unconsumed while it waits for a delivery to
// become durable (pipelined commands after the final dot). Above this we
// stop reading the socket until the wait ends.
constexpr size_t kMaxPendingInput = 64 << 10;
// When smtp.max_session_time runs out while a delivery, AUTH or quota check
// is in progress, its reply is owed first; look again this much later.
constexpr absl::Duration kSessionLimitRecheck = absl::Seconds(1);

std::string ToLf(std::string_view s) {
  return absl::StrReplaceAll(absl::string_view(s.data(), s.size()),
                             {{"\r\n", "\n"}});
}

// Answers a connection refused at admission with one reply, then closes.
class RejectHandler final : public engine::ConnectionHandler {
 public:
  void OnReceive(std::string_view) override {}
  void OnPeerClosed() override {}
  void OnClosed() override { delete this; }
};

}  // namespace

// One SMTP connection: stream callbacks in, session replies out, body bytes
// straight from the session's scanner into the delivery queue's buffers.
//
// The session writes to stream_: the plain Connection until STARTTLS, then
// the TlsStream wrapped around it (implicit TLS: the TlsStream from the
// start). conn_ is kept only while the stream is plaintext, for StartTls.
class SmtpConnection final : public engine::ConnectionHandler,
                             public smtp::SessionHost,
                             public smtp::BodySink {
 public:
  SmtpConnection(SmtpService* svc, engine::Connection* conn, std::string ip,
                 SmtpPort port)
      : svc_(svc),
        conn_(conn),
        stream_(conn),
        ip_(std::move(ip)),
        port_(port),
        session_(svc->session_config(port), this, ip_, svc->NextSessionId(),
                 [loop = svc->loop()] { return loop->now(); }),
        membership_(&svc->sessions_, this) {
    const SmtpContext& ctx = svc->ctx();
    smtp::Transport t;
    t.tls = port == SmtpPort::kSubmissions;
    t.plaintext_auth_ok =
        ctx.config->auth.allow_plaintext_off_tls ||
        (ctx.trusted != nullptr && ctx.trusted->Contains(conn->peer()));
    session_.SetTransport(t);
    relay_client_ = ctx.relay_trusted != nullptr &&
                    ctx.relay_trusted->Contains(conn->peer());
    if (t.tls) {
      auto* tls = new engine::TlsStream(conn, svc->tls());
      stream_ = tls;
      conn_ = nullptr;
    }
  }

  void Start() {
    last_activity_ = svc_->loop()->steady_now();
    if (conn_ != nullptr) {
      conn_->Start(this);
    } else {
      static_cast<engine::TlsStream*>(stream_)->Start(this);
    }
    // Implicit TLS: the greeting waits in the stream until the handshake.
    session_.Start(&stream_->output());
    stream_->Flush();
    ArmIdleTimer(svc_->ctx().config->smtp.idle_timeout);
    ArmSessionTimer(svc_->ctx().config->smtp.max_session_time);
  }

  // Service shutdown: idle sessions get 421 now; a message in progress is
  // allowed to finish first.
  void Shutdown() {
    shutdown_requested_ = true;
    if (!session_.in_data() && !session_.waiting() && !gone_) {
      session_.OnShutdown(&stream_->output());
      AfterOutput();
    }
  }

  // Grace period over: drop the connection whatever it is doing.
  void ForceClose() {
    if (!gone_ && !conn_closing_) {
      conn_closing_ = true;
      stream_->Abort();
    }
  }

  // ---- engine::ConnectionHandler
  void OnReceive(std::string_view data) override {
    last_activity_ = svc_->loop()->steady_now();
    if (!pending_.empty() || session_.waiting()) {
      pending_.append(data);
      if (pending_.size() > kMaxPendingInput) stream_->PauseReading();
      if (session_.waiting()) return;
      ProcessPending();
      return;
    }
    size_t used = session_.Consume(data, &stream_->output());
    if (session_.tls_requested()) {
      StartTls(data.size() - used);
      AfterOutput();
      return;
    }
    if (used < data.size() && !session_.closed()) {
      pending_.assign(data.substr(used));
      if (pending_.size() > kMaxPendingInput) stream_->PauseReading();
    }
    AfterOutput();
    ResumeReadingUnlessHeld();
  }

  void OnPeerClosed() override {
    // A client that half-closes mid-transaction has abandoned it; a message
    // already handed to the queue still completes (its reply just has
    // nowhere to go).
    AbortMessageIfAny();
    CloseConnection();
  }

  void OnClosed() override {
    gone_ = true;
    svc_->loop()->CancelTimer(idle_timer_);
    svc_->loop()->CancelTimer(session_timer_);
    session_.OnDisconnect();
    AbortMessageIfAny();
    MaybeDestroy();
    // else: the delivery or auth callback destroys us when it completes.
  }

  // ---- smtp::SessionHost
  smtp::RecipientVerdict CheckRecipient(std::string_view local_part,
                                        std::string_view domain) override {
    const Directory& dir = *svc_->ctx().directory;
    if (!domain.empty() && !dir.IsLocalDomain(domain)) {
      // LMTP is the last hop into local mailboxes: it never relays.
      if (port_ == SmtpPort::kLmtp) {
        return smtp::RecipientVerdict::kUnknownUser;
      }
      // Never an open relay: only authenticated users and the configured
      // relay networks (Postfix's permit_sasl_authenticated, mynetworks).
      if (!session_.authenticated() && !relay_client_) {
        return smtp::RecipientVerdict::kRelayDenied;
      }
      relay::RelayService* relay = svc_->relay();
      if (relay == nullptr) return smtp::RecipientVerdict::kRelayUnavailable;
      if (!relay->accepting()) return smtp::RecipientVerdict::kTempFail;
      return smtp::RecipientVerdict::kAccept;
    }
    auto mbox = svc_->ResolveRecipient(local_part, domain);
    if (!mbox) return smtp::RecipientVerdict::kUnknownUser;
    // Quota (server/quota_service.h): a full mailbox is refused now.
    if (Quota().CheckRecipient(*mbox, [this](storage::QuotaVerdict v) {
          FinishRecipient(v == storage::QuotaVerdict::kFits
                              ? smtp::RecipientVerdict::kAccept
                              : smtp::RecipientVerdict::kMailboxFull);
        })) {
      rcpt_inflight_ = true;
      return smtp::RecipientVerdict::kPending;
    }
    return smtp::RecipientVerdict::kAccept;
  }

  smtp::BodySink* BeginMessage(const smtp::Envelope& env) override {
    std::vector<storage::DeliveryTarget> targets;
    std::string received = ToLf(env.received_header);
    std::vector<std::string> seen;
    rcpt_mailboxes_.clear();
    queue_target_ = -1;
    queue_env_ = storage::queue::QueueEnvelope();
    for (size_t i = 0; i < env.recipients.size(); ++i) {
      const std::string& rcpt = env.recipients[i];
      size_t at = rcpt.rfind('@');
      std::string_view local = std::string_view(rcpt).substr(0, at);
      std::string domain = at == std::string::npos
                               ? std::string()
                               : absl::AsciiStrToLower(rcpt.substr(at + 1));
      if (!domain.empty() && !svc_->ctx().directory->IsLocalDomain(domain)) {
        // Accepted at RCPT for relaying (checked there).
        storage::queue::QueueRecipient q;
        q.address = rcpt;
        if (i < env.recipient_dsn.size()) {
          q.notify = env.recipient_dsn[i].notify;
          q.orcpt = env.recipient_dsn[i].orcpt;
        }
        queue_env_.recipients.push_back(std::move(q));
        continue;
      }
      auto mbox = svc_->ResolveRecipient(local, domain);
      if (!mbox) continue;  // checked at RCPT; the passwd-file cannot change
      std::string user = absl::StrCat(mbox->local_part, "@", mbox->domain);
      // One copy per mailbox, however often it was named (RFC 5321 §3.3
      // leaves duplicates to the server; Postfix delivers once too).
      if (std::find(seen.begin(), seen.end(), user) != seen.end()) continue;
      auto path = svc_->ctx().location->Expand(mbox->local_part, mbox->domain);
      if (!path.ok()) {
        LOG_ERROR("mail location for ", user, ": ", path.status().ToString());
        return nullptr;
      }
      storage::DeliveryTarget t;
      t.maildir = std::move(*path);
      // RFC 5321 §4.4: Return-Path is added at final delivery.
      t.header_prefix = absl::StrCat("Return-Path: <", std::string(env.mail_from),
                                     ">\nDelivered-To: ", user, "\n", received);
      targets.push_back(std::move(t));
      seen.push_back(std::move(user));
      rcpt_mailboxes_.push_back(*mbox);
    }
    if (!queue_env_.recipients.empty()) {
      relay::RelayService* relay = svc_->relay();
      if (relay == nullptr || !relay->accepting()) return nullptr;
      queue_env_.id = std::string(env.queue_id);
      queue_env_.arrival = svc_->loop()->now();
      queue_env_.sender = std::string(env.mail_from);
      queue_env_.ret = std::string(env.dsn_ret);
      queue_env_.envid = std::string(env.dsn_envid);
      queue_env_.eight_bit = env.eight_bit;
      queue_env_.smtputf8 = env.smtputf8;
      queue_env_.client_ip = ip_;
      queue_env_.helo = std::string(env.helo);
      queue_env_.auth_user = std::string(env.auth_user);
      queue_target_ = static_cast<int>(targets.size());
      queued_header_bytes_ = received.size() +
                             static_cast<uint64_t>(std::count(
                                 received.begin(), received.end(), '\n'));
      targets.push_back(relay->QueueTarget(queue_env_, received));
    }
    if (targets.empty()) return nullptr;
    auto msg = svc_->delivery().Begin(std::move(targets));
    if (!msg.ok()) {
      LOG_ERROR("delivery begin from ", ip_, ": ", msg.status().ToString());
      return nullptr;
    }
    message_ = std::move(*msg);
    message_->SetResumeCallback([this] {
      if (!gone_ && !session_.waiting()) stream_->ResumeReading();
    });
    return this;
  }

  void EndMessage(uint64_t crlf_size) override {
    finishing_ = true;
    finishing_message_ = std::move(message_);
    // Quota (server/quota_service.h): checked for every local recipient
    // before the commit; quota_verdicts_ parallels rcpt_mailboxes_.
    quota_verdicts_.assign(rcpt_mailboxes_.size(), storage::QuotaVerdict::kFits);
    if (Quota().CheckMessage(rcpt_mailboxes_, crlf_size,
                             [this, crlf_size](std::vector<storage::QuotaVerdict> v) {
                               quota_verdicts_ = std::move(v);
                               CommitMessage(crlf_size);
                             })) {
      return;
    }
    CommitMessage(crlf_size);
  }

  void CommitMessage(uint64_t crlf_size) {
    if (RefusedByQuota()) {  // only ever from the quota check's callback
      finishing_message_->Abort();
      finishing_ = false;
      finishing_message_.reset();
      if (gone_) {
        MaybeDestroy();
        return;
      }
      AnswerMessage(true);
      if (shutdown_requested_ && !session_.closed()) {
        session_.OnShutdown(&stream_->output());
      }
      ProcessPending();
      return;
    }
    finishing_message_->Finish([this, crlf_size](storage::DeliveryResult result) {
      finishing_message_.reset();
      if (!result.status.ok()) {
        LOG_ERROR("delivery from ", ip_, " failed: ", result.status.ToString());
      } else {
        if (svc_->ctx().on_delivered) {
          for (size_t i = 0; i < rcpt_mailboxes_.size(); ++i) {
            if (quota_verdicts_[i] != storage::QuotaVerdict::kFits) continue;
            svc_->ctx().on_delivered(svc_->loop(), rcpt_mailboxes_[i]);
          }
        }
        if (queue_target_ >= 0) {
          svc_->relay()->Accepted(result.new_names.at(queue_target_),
                                  std::move(queue_env_),
                                  crlf_size + queued_header_bytes_);
        }
      }
      // The maildirsize lines are written before the reply (targets[i] is
      // rcpt_mailboxes_[i]; the relay's queue file, if any, comes after).
      const bool ok = result.status.ok();
      Quota().Settle(rcpt_mailboxes_, quota_verdicts_,
                     ok ? result.new_names : std::vector<std::string>(),
                     [this, ok] {
                       finishing_ = false;
                       if (gone_) {
                         MaybeDestroy();
                         return;
                       }
                       AnswerMessage(ok);
                       if (shutdown_requested_ && !session_.closed()) {
                         session_.OnShutdown(&stream_->output());
                       }
                       ProcessPending();
                     });
    });
  }

  void AbortMessage() override { AbortMessageIfAny(); }

  void Authenticate(const smtp::AuthRequest& req) override {
    const SmtpContext& ctx = svc_->ctx();
    auth_inflight_ = true;
    std::string user(req.user);
    if (ctx.throttle != nullptr && ctx.throttle->Blocked(ip_, svc_->loop()->now())) {
      LogAuthFailure("smtp", ip_, user);
      LOG_WARNING("auth: refusing ", ip_, ": too many failed logins");
      svc_->loop()->Defer([this] { FinishAuth(smtp::AuthOutcome::kBlocked); });
      return;
    }
    if (ctx.auth == nullptr) {
      svc_->loop()->Defer([this] { FinishAuth(smtp::AuthOutcome::kTempFail); });
      return;
    }
    // The password copy goes to the helper, which wipes it after hashing.
    ctx.auth->Verify(
        svc_->loop(), user, std::string(req.password),
        [this, user](AuthResult r) {
          const SmtpContext& c = svc_->ctx();
          switch (r.code) {
            case AuthResult::Code::kOk:
              LOG_INFO("auth ok: service=smtp rip=", ip_, " user=<", user, ">");
              FinishAuth(smtp::AuthOutcome::kOk);
              return;
            case AuthResult::Code::kTempFail:
              FinishAuth(smtp::AuthOutcome::kTempFail);
              return;
            case AuthResult::Code::kBadCredentials:
              break;
          }
          LogAuthFailure("smtp", ip_, user);
          absl::Duration delay = c.throttle != nullptr
                                     ? c.throttle->RecordFailure(ip_, svc_->loop()->now())
                                     : absl::ZeroDuration();
          // The reply waits: a guesser gets one try per delay per
          // connection, and the delay doubles with every failure.
          svc_->loop()->AddTimer(delay, [this] {
            FinishAuth(smtp::AuthOutcome::kBadCredentials);
          });
        });
  }

  // ---- smtp::BodySink
  absl::Span<char> Reserve(size_t min_bytes) override {
    return message_->Reserve(min_bytes);
  }
  void Commit(size_t bytes) override {
    message_->Commit(bytes);
    if (message_->WantsPause()) stream_->PauseReading();
  }

 private:
  void ProcessPending() {
    if (!pending_.empty() && !session_.closed()) {
      std::string input;
      input.swap(pending_);
      size_t used = session_.Consume(input, &stream_->output());
      if (session_.tls_requested()) {
        StartTls(input.size() - used);
      } else if (used < input.size() && !session_.closed()) {
        pending_.assign(input, used, std::string::npos);
      }
    }
    AfterOutput();
    ResumeReadingUnlessHeld();
  }

  // Reading is paused for two reasons: too much unconsumed input
  // (pending_), or the message's writes lagging behind (WantsPause, undone
  // by the message's resume callback). A message the session gives up
  // before its end (552 too big, 554 bad content, RSET or an error between
  // BDAT chunks) is destroyed and never calls back, so whenever the session
  // has consumed input, reading resumes here unless one of the two still
  // holds (or a reply is pending: its completion resumes). Call it last:
  // input the stream held back is delivered from inside ResumeReading.
  void ResumeReadingUnlessHeld() {
    if (gone_ || conn_closing_ || session_.closed() || session_.waiting()) return;
    if (pending_.size() > kMaxPendingInput) return;
    if (message_ != nullptr && message_->WantsPause()) return;
    stream_->ResumeReading();
  }

  // The session accepted STARTTLS; its 220 is in the plaintext output.
  // `unconsumed` octets of input followed the command, plus whatever is in
  // pending_: all of it was sent in the clear before the handshake and is
  // discarded, never executed (RFC 3207 §4.2, CVE-2011-0411).
  void StartTls(size_t unconsumed) {
    assert(conn_ != nullptr && svc_->tls() != nullptr);
    const size_t discarded = unconsumed + pending_.size();
    pending_.clear();
    stream_ = engine::StartTls(conn_, svc_->tls(), this, discarded);
    conn_ = nullptr;
    session_.TlsStarted();
  }

  // ---- Quota (server/quota_service.h)
  DeliveryQuota Quota() const {
    const SmtpContext& c = svc_->ctx();
    return DeliveryQuota(c.pool != nullptr ? c.quota : nullptr, c.location,
                         QuotaEnv{svc_->loop(), c.pool});
  }

  // Answers a RCPT whose quota check completed.
  void FinishRecipient(smtp::RecipientVerdict verdict) {
    rcpt_inflight_ = false;
    if (gone_) {
      MaybeDestroy();
      return;
    }
    session_.RecipientDone(verdict, &stream_->output());
    if (shutdown_requested_ && !session_.closed()) {
      session_.OnShutdown(&stream_->output());
    }
    ProcessPending();
  }

  // SMTP has one reply per message: it is refused when it does not fit one
  // recipient. LMTP answers per recipient: refused only when it fits none
  // (the others get it; SettleQuota takes the rest's copies back).
  bool RefusedByQuota() const {
    const size_t fits = static_cast<size_t>(std::count(
        quota_verdicts_.begin(), quota_verdicts_.end(), storage::QuotaVerdict::kFits));
    if (fits == quota_verdicts_.size()) return false;
    return port_ != SmtpPort::kLmtp || fits == 0;
  }

  // The session's reply: per recipient when a quota refused someone.
  void AnswerMessage(bool durable) {
    const bool all_fit =
        std::all_of(quota_verdicts_.begin(), quota_verdicts_.end(),
                    [](storage::QuotaVerdict v) { return v == storage::QuotaVerdict::kFits; });
    if (!durable || all_fit) {
      session_.MessageDone(durable, &stream_->output());
      return;
    }
    session_.MessageDone(
        [this](std::string_view rcpt) { return OutcomeFor(rcpt); },
        &stream_->output());
  }

  // The outcome for one accepted recipient (canonical address).
  smtp::DeliveryOutcome OutcomeFor(std::string_view rcpt) const {
    const size_t at = rcpt.rfind('@');
    const std::string domain =
        at == std::string_view::npos
            ? std::string()
            : absl::AsciiStrToLower(absl::string_view(rcpt.data() + at + 1,
                                                      rcpt.size() - at - 1));
    auto mbox = svc_->ResolveRecipient(rcpt.substr(0, at), domain);
    for (size_t i = 0; mbox && i < rcpt_mailboxes_.size(); ++i) {
      if (rcpt_mailboxes_[i].local_part != mbox->local_part ||
          rcpt_mailboxes_[i].domain != mbox->domain) {
        continue;
      }
      switch (quota_verdicts_[i]) {
        case storage::QuotaVerdict::kFits:
          break;
        case storage::QuotaVerdict::kFull:
          return smtp::DeliveryOutcome::kMailboxFull;
        case storage::QuotaVerdict::kTooBig:
          return smtp::DeliveryOutcome::kQuotaExceeded;
      }
    }
    return smtp::DeliveryOutcome::kDelivered;
  }

  // Answers the session's AUTH, unless the connection went away meanwhile.
  void FinishAuth(smtp::AuthOutcome outcome) {
    auth_inflight_ = false;
    if (gone_) {
      MaybeDestroy();
      return;
    }
    session_.AuthDone(outcome, &stream_->output());
    if (shutdown_requested_ && !session_.closed()) {
      session_.OnShutdown(&stream_->output());
    }
    ProcessPending();
  }

  void AfterOutput() {
    if (gone_) return;
    stream_->Flush();
    if (session_.closed()) CloseConnection();
  }

  void CloseConnection() {
    if (conn_closing_ || gone_) return;
    conn_closing_ = true;
    stream_->Close();
  }

  void AbortMessageIfAny() {
    if (message_ != nullptr) {
      message_->Abort();
      message_.reset();
    }
  }

  void ArmIdleTimer(absl::Duration in) {
    idle_timer_ = svc_->loop()->AddTimer(in, [this] { OnIdleTimer(); });
  }

  void OnIdleTimer() {
    absl::Duration timeout = svc_->ctx().config->smtp.idle_timeout;
    absl::Duration idle = svc_->loop()->steady_now() - last_activity_;
    // A session waiting for its own delivery is not idle.
    if (idle < timeout || session_.waiting()) {
      ArmIdleTimer(std::max(timeout - idle, absl::Seconds(1)));
      return;
    }
    AbortMessageIfAny();
    session_.OnIdleTimeout(&stream_->output());
    AfterOutput();
    CloseConnection();
  }

  void ArmSessionTimer(absl::Duration in) {
    session_timer_ = svc_->loop()->AddTimer(in, [this] { OnSessionTimer(); });
  }

  // smtp.max_session_time, counted from the connection: the idle timer
  // alone never fires for a client that sends a byte now and then, which
  // could hold its connection slot for ever. Authenticated clients are
  // trusted with long sessions.
  void OnSessionTimer() {
    session_timer_ = 0;
    if (gone_ || conn_closing_ || session_.closed() || session_.authenticated()) {
      return;
    }
    if (session_.waiting()) {
      ArmSessionTimer(kSessionLimitRecheck);
      return;
    }
    LOG_INFO("smtp: session time limit reached, closing connection from ", ip_);
    AbortMessageIfAny();
    session_.OnIdleTimeout(&stream_->output());
    AfterOutput();
    CloseConnection();
  }

  // Once the stream is gone and no delivery or password check still needs
  // this object.
  void MaybeDestroy() {
    if (gone_ && !finishing_ && !auth_inflight_ && !rcpt_inflight_) Destroy();
  }

  void Destroy() {
    svc_->LimitsFor(port_)->Release(ip_);
    membership_.Leave();  // may start the delivery queue's shutdown
    delete this;
  }

  SmtpService* svc_;
  engine::Connection* conn_;  // while plaintext; null once TLS wraps it
  engine::Stream* stream_;    // what the session talks to
  std::string ip_;
  const SmtpPort port_;
  smtp::Session session_;
  std::string pending_;
  std::unique_ptr<storage::IncomingMessage> message_;            // receiving
  std::unique_ptr<storage::IncomingMessage> finishing_message_;  // committing
  std::vector<Directory::Mailbox> rcpt_mailboxes_;  // of the current message
  // Relayed recipients of the current message: its queue file is delivery
  // target number queue_target_ (-1: none).
  storage::queue::QueueEnvelope queue_env_;
  int queue_target_ = -1;
  uint64_t queued_header_bytes_ = 0;  // Received field, CRLF octets
  bool relay_client_ = false;  // from relay.trusted_networks
  absl::Time last_activity_;  // Loop::steady_now() clock
  engine::Loop::TimerId idle_timer_ = 0;
  engine::Loop::TimerId session_timer_ = 0;  // smtp.max_session_time
  bool finishing_ = false;
  bool auth_inflight_ = false;  // Authenticate called, FinishAuth not yet
  bool rcpt_inflight_ = false;  // a RCPT's quota check is running
  std::vector<storage::QuotaVerdict> quota_verdicts_;  // per rcpt_mailboxes_
  bool gone_ = false;
  bool conn_closing_ = false;
  bool shutdown_requested_ = false;
  engine::SessionRegistry<SmtpConnection>::Membership membership_;
};

SmtpService::SmtpService(engine::Loop* loop, const SmtpContext& ctx,
                         std::vector<SmtpListenSocket> listen,
                         engine::TlsContext* tls)
    : loop_(loop),
      ctx_(ctx),
      tls_(tls),
      session_id_base_(static_cast<uint64_t>(absl::ToUnixMicros(loop->now()))
                       << 8) {
  postmaster_ = FindPostmaster(*ctx.config, *ctx.directory);
  const SmtpConfig& sc = ctx.config->smtp;
  session_config_.hostname = ctx.config->hostname;
  session_config_.limits.max_message_size = sc.max_message_size;
  session_config_.limits.max_recipients = sc.max_recipients;
  session_config_.limits.max_errors = sc.max_errors;
  session_config_.limits.max_text_line = sc.max_line_length;
  session_config_.starttls_available = tls != nullptr;
  session_config_.auth_available = ctx.auth != nullptr;
  session_config_.allow_any_sender = sc.allow_any_sender;
  submission_config_ = session_config_;
  submission_config_.auth_required = true;  // RFC 6409 §4.1
  submission_config_.add_missing_headers = true;  // RFC 6409 §8.1, §8.2
  // LMTP: a trusted local client (an MDA front-end); nothing to negotiate.
  lmtp_config_ = session_config_;
  lmtp_config_.lmtp = true;
  lmtp_config_.starttls_available = false;
  lmtp_config_.auth_available = false;

  storage::DeliveryOptions opts;
  opts.hostname = ctx.config->hostname;
  opts.core_id = loop->id();
  opts.max_message_bytes = sc.max_message_size + (1 << 20);  // + trace headers
  opts.commit_delay = ctx.config->commit_delay;
  if (ctx.config->durability == "journal") {
    // Blocking open + header read, before this core serves: the file was
    // prepared (recovered, zero-filled) by RecoverMailStore.
    std::string path = storage::JournalPath(ctx.config->data_dir, loop->id());
    auto journal = storage::OpenJournalFile(path, ctx.config->journal_size);
    if (journal.ok()) {
      opts.durability = storage::Durability::kJournal;
      opts.journal = *journal;
      opts.checkpoint_interval = ctx.config->checkpoint_interval;
      opts.tmpfile = true;  // O_TMPFILE + linkat (docs/durability.md)
    } else {
      LOG_WARNING("core ", loop->id(), ": journal unusable (",
                  journal.status().ToString(), "); using fsync durability");
    }
  }
  delivery_ = std::make_unique<storage::DeliveryQueue>(
      &loop->file_io(), std::move(opts), [loop] { return loop->now(); },
      [loop](absl::Duration delay, absl::AnyInvocable<void()> fn) {
        if (delay <= absl::ZeroDuration()) {
          loop->Defer(std::move(fn));
        } else {
          loop->AddTimer(delay, std::move(fn));
        }
      });
  for (const SmtpListenSocket& l : listen) {
    assert(l.port != SmtpPort::kSubmissions || tls != nullptr);
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop, l.fd, [this, port = l.port](int cfd) { OnAccept(cfd, port); }));
  }
}

SmtpService::~SmtpService() = default;

uint64_t SmtpService::NextSessionId() {
  // Unique per process: the core in the top byte, a per-core counter below,
  // offset by the start time so ids (and the queue ids derived from them)
  // do not repeat across restarts within a log's lifetime.
  return (uint64_t{static_cast<uint8_t>(loop_->id())} << 56) ^
         (session_id_base_ + ++sessions_started_);
}

std::optional<Directory::Mailbox> FindPostmaster(const Config& config,
                                                 const Directory& dir) {
  if (!config.postmaster.empty()) {
    const size_t at = config.postmaster.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    return dir.FindMailbox(
        std::string_view(config.postmaster).substr(0, at),
        absl::AsciiStrToLower(config.postmaster.substr(at + 1)));
  }
  std::string_view host = config.hostname;
  while (true) {
    if (auto m = dir.FindMailbox(
            "postmaster", absl::AsciiStrToLower(absl::string_view(host.data(), host.size())))) {
      return m;
    }
    size_t dot = host.find('.');
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  for (const std::string& d : config.local_domains) {
    if (auto m = dir.FindMailbox("postmaster", absl::AsciiStrToLower(d))) return m;
  }
  // The passwd-file's domains: its first postmaster user.
  for (const auth::PasswdEntry& e : dir.passwd().entries()) {
    if (e.local_part == "postmaster" && !e.domain.empty()) {  // lower-cased
      return Directory::Mailbox{e.local_part, e.domain};
    }
  }
  return std::nullopt;
}

std::optional<Directory::Mailbox> SmtpService::ResolveRecipient(
    std::string_view local_part, std::string_view domain) const {
  if (!domain.empty()) return ctx_.directory->FindMailbox(local_part, domain);
  // RCPT TO:<Postmaster> without a domain (RFC 5321 §4.5.1); the session
  // passes no other address without a domain.
  return postmaster_;
}

ConnectionLimits* SmtpService::LimitsFor(SmtpPort port) const {
  switch (port) {
    case SmtpPort::kMx:
      break;
    case SmtpPort::kSubmission:
    case SmtpPort::kSubmissions:
      if (ctx_.submission_limits != nullptr) return ctx_.submission_limits;
      break;
    case SmtpPort::kLmtp:
      if (ctx_.lmtp_limits != nullptr) return ctx_.lmtp_limits;
      break;
  }
  return ctx_.limits;
}

void SmtpService::Start() {
  for (auto& l : listeners_) l->Start();
}

void SmtpService::OnAccept(int fd, SmtpPort port) {
  auto* conn = new engine::Connection(loop_, fd);
  std::string ip = conn->peer().IpString();
  ConnectionLimits* limits = LimitsFor(port);
  if (port == SmtpPort::kSubmissions &&
      (sessions_.shutting_down() ||
       limits->TryAdmit(ip) != ConnectionLimits::Verdict::kAdmitted)) {
    // A plaintext 421 would be garbage to a TLS client: just close.
    if (!sessions_.shutting_down()) LOG_WARNING("connection limit reached, refusing ", ip);
    conn->Start(new RejectHandler());
    conn->Abort();
    return;
  }
  if (port == SmtpPort::kSubmissions) {
    auto* c = new SmtpConnection(this, conn, ip, port);
    c->Start();
    return;
  }
  if (sessions_.shutting_down()) {
    conn->output() = absl::StrCat("421 4.3.2 ", ctx_.config->hostname,
                                  " Service shutting down\r\n");
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  switch (limits->TryAdmit(ip)) {
    case ConnectionLimits::Verdict::kAdmitted:
      break;
    case ConnectionLimits::Verdict::kTooManyTotal:
    case ConnectionLimits::Verdict::kTooManyFromIp:
      LOG_WARNING("connection limit reached, refusing ", ip);
      conn->output() = absl::StrCat("421 4.7.0 ", ctx_.config->hostname,
                                    " Error: too many connections from ", ip,
                                    "\r\n");
      conn->Start(new RejectHandler());
      conn->Close();
      return;
  }
  auto* c = new SmtpConnection(this, conn, ip, port);
  c->Start();
}

void SmtpService::Shutdown(absl::AnyInvocable<void()> done) {
  shutdown_done_ = std::move(done);
  for (auto& l : listeners_) l->Stop();
  loop_->AddTimer(ctx_.config->shutdown_grace, [this] {
    std::vector<SmtpConnection*> left = sessions_.Sessions();
    if (!left.empty()) {
      LOG_WARNING("core ", loop_->id(), ": dropping ", left.size(),
                  " sessions after the shutdown grace period");
    }
    for (SmtpConnection* c : left) c->ForceClose();
  });
  // Messages still being received finish first; once the last connection
  // is gone, the queue commits what it holds, then `done`.
  sessions_.Shutdown([](SmtpConnection* c) { c->Shutdown(); }, [this] {
    delivery_->Shutdown([this] {
      if (shutdown_done_) {
        auto done = std::move(shutdown_done_);
        shutdown_done_ = nullptr;
        done();
      }
    });
  });
}

}  // namespace ringmail::server
