#include "server/relay/outbound_session.h"

#include <fcntl.h>

#include <algorithm>
#include <cassert>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/connect.h"
#include "engine/log.h"
#include "engine/tls.h"
#include "engine/tls_client.h"
#include "protocols/smtp/dsn.h"
#include "server/relay/relay_service.h"
#include "server/relay/tls_policy.h"

namespace ringmail::server::relay {
namespace {

// Body bytes read from the spool per ring read.
constexpr size_t kBodyChunk = 256 << 10;
// Above this much unsent output, stop reading the spool until it drains.
constexpr size_t kMaxBodyBacklog = 1 << 20;
constexpr absl::Duration kDrainPoll = absl::Milliseconds(2);

RecipientResult Deferred(std::string reply, std::string status) {
  RecipientResult r;
  r.kind = RecipientResult::Kind::kDeferred;
  r.reply = std::move(reply);
  r.status = std::move(status);
  return r;
}

RecipientResult Failed(std::string reply, std::string status) {
  RecipientResult r;
  r.kind = RecipientResult::Kind::kFailed;
  r.reply = std::move(reply);
  r.status = std::move(status);
  return r;
}

// "host", "host:port", "[ip]:port" (brackets: no MX lookup, as in
// Postfix's relayhost; we never look up MX for a relayhost anyway).
void ParseRelayhost(const std::string& text, std::string* host, uint16_t* port) {
  std::string_view t = text;
  if (!t.empty() && t.front() == '[') {
    size_t close = t.find(']');
    *host = std::string(t.substr(1, close - 1));
    t = close == std::string_view::npos ? std::string_view() : t.substr(close + 1);
  } else {
    size_t colon = t.rfind(':');
    *host = std::string(t.substr(0, colon));
    t = colon == std::string_view::npos ? std::string_view() : t.substr(colon);
  }
  uint32_t p = 0;
  if (t.size() > 1 && t.front() == ':' &&
      absl::SimpleAtoi(absl::string_view(t.data() + 1, t.size() - 1), &p) &&
      p > 0 && p < 65536) {
    *port = static_cast<uint16_t>(p);
  }
}

}  // namespace

OutboundSession::OutboundSession(RelayService* svc, std::string domain)
    : svc_(svc), domain_(std::move(domain)) {}

OutboundSession::~OutboundSession() {
  gate_.Close();
  svc_->loop()->CancelTimer(timer_);
  svc_->loop()->CancelTimer(drain_timer_);
}

void OutboundSession::Start() {
  const RelayConfig& rc = svc_->ctx().config->relay;
  if (!rc.relayhost.empty()) {
    std::string host;
    uint16_t port = rc.port;
    ParseRelayhost(rc.relayhost, &host, &port);
    plan_.status = absl::OkStatus();
    plan_.hosts = {MxHost{host, 0}};
    port_ = port;
    TryNextHost();
    return;
  }
  port_ = rc.port;
  svc_->resolver()->ResolveMx(
      domain_, [this, alive = gate_.token()](const engine::MxAnswer& answer) {
        if (!alive) return;
        plan_ = PlanFromMx(domain_, answer,
                           [this] { return absl::Uniform<uint64_t>(svc_->random_); });
        if (plan_.status.ok()) {
          TryNextHost();
        } else if (absl::IsFailedPrecondition(plan_.status)) {
          // RFC 7505 §3: a null MX says the domain takes no mail.
          GiveUp(Failed(absl::StrCat("556 5.1.10 Domain ", domain_,
                                     " does not accept mail (null MX)"),
                        "5.1.10"));
        } else if (absl::IsNotFound(plan_.status)) {
          GiveUp(Failed(absl::StrCat("550 5.1.2 Host or domain name not found: ",
                                     domain_),
                        "5.1.2"));
        } else {
          GiveUp(Deferred(absl::StrCat("451 4.4.3 DNS lookup of ", domain_,
                                       " failed: ", plan_.status.message()),
                          "4.4.3"));
        }
      });
}

void OutboundSession::TryNextHost() {
  if (shutdown_) {
    Done();
    return;
  }
  if (host_index_ >= plan_.hosts.size()) {
    if (last_failure_.reply.empty()) {
      last_failure_ = Deferred(
          absl::StrCat("451 4.4.4 No usable mail exchanger for ", domain_), "4.4.4");
    }
    GiveUp(last_failure_);
    return;
  }
  current_host_ = plan_.hosts[host_index_++].host;
  svc_->resolver()->ResolveAddresses(
      current_host_, [this, alive = gate_.token()](const engine::AddressAnswer& a) {
        if (!alive) return;
        if (!a.status.ok() || a.addresses.empty()) {
          last_failure_ = Deferred(
              absl::StrCat("451 4.4.4 No address for ", current_host_, ": ",
                           a.status.ok() ? "no A/AAAA records"
                                         : std::string(a.status.message())),
              "4.4.4");
          TryNextHost();
          return;
        }
        addresses_ = a.addresses;
        for (engine::SocketAddress& s : addresses_) s.set_port(port_);
        address_index_ = 0;
        TryNextAddress();
      });
}

void OutboundSession::TryNextAddress() {
  if (shutdown_) {
    Done();
    return;
  }
  if (address_index_ >= addresses_.size()) {
    TryNextHost();
    return;
  }
  const engine::SocketAddress target = addresses_[address_index_++];
  const RelayPolicy& policy = svc_->scheduler().PolicyFor(domain_);
  engine::ConnectOptions opts;
  opts.timeout = svc_->ctx().config->relay.connect_timeout;
  if (!policy.bind_address.empty()) {
    auto src = engine::SocketAddress::Parse(
        policy.bind_address.find(':') != std::string::npos
            ? absl::StrCat("[", policy.bind_address, "]:0")
            : absl::StrCat(policy.bind_address, ":0"));
    if (src.ok()) opts.source = *src;
  }
  engine::AsyncConnect(
      svc_->loop(), target, opts,
      [this, alive = gate_.token(), target](absl::StatusOr<int> fd) {
        if (!alive) {
          if (fd.ok()) close(*fd);
          return;
        }
        if (!fd.ok()) {
          last_failure_ = Deferred(
              absl::StrCat("451 4.4.1 Connect to ", current_host_, "[",
                           target.ToString(), "] failed: ", fd.status().message()),
              "4.4.1");
          LOG_DEBUG("relay: ", last_failure_.reply);
          TryNextAddress();
          return;
        }
        OnConnected(*fd);
      });
}

void OutboundSession::OnConnected(int fd) {
  conn_ = new engine::Connection(svc_->loop(), fd);
  stream_ = conn_;
  smtp::ClientConfig cc;
  cc.helo_name = svc_->ctx().config->hostname;
  const TlsMode mode = TlsModeFor(svc_->scheduler().PolicyFor(domain_).tls);
  cc.tls = mode.policy;
  verify_peer_ = mode.verify_peer;
  tls_failure_.clear();
  cc.tls_available = svc_->tls_client() != nullptr;
  client_ = std::make_unique<smtp::ClientSession>(cc, this);
  closing_ = false;
  conn_->Start(this);
  ArmTimeout(svc_->ctx().config->relay.command_timeout);
}

void OutboundSession::GiveUp(const RecipientResult& why) {
  LOG_INFO("relay: ", domain_, ": ", why.reply);
  svc_->Carry(svc_->scheduler().FailDomain(domain_, why, svc_->loop()->now()));
  Done();
}

void OutboundSession::Shutdown() {
  shutdown_ = true;
  if (stream_ == nullptr) return;  // between connections: ends at next step
  if (client_ != nullptr && client_->ready()) {
    client_->Quit(&stream_->output());
    Flush();
    return;
  }
  if (client_ != nullptr && !client_->closed()) {
    client_->Quit(&stream_->output());  // reports the transfer as deferred
  }
  Close();
}

// ---- engine::ConnectionHandler

void OutboundSession::OnReceive(std::string_view data) {
  if (client_ == nullptr || stream_ == nullptr) return;
  ArmTimeout(svc_->ctx().config->relay.command_timeout);
  client_->Consume(data, &stream_->output());
  Flush();
  if (client_ != nullptr && client_->closed()) Close();
}

void OutboundSession::OnPeerClosed() { Close(); }

void OutboundSession::OnClosed() {
  conn_ = nullptr;
  stream_ = nullptr;
  svc_->loop()->CancelTimer(timer_);
  timer_ = 0;
  if (client_ != nullptr && !client_->closed()) client_->OnDisconnect();
  if (job_.has_value()) {
    // The client reported nothing (e.g. quit while idle): nothing to do,
    // but make sure no job leaks.
    std::vector<RecipientResult> r(
        job_->rcpts.size(),
        Deferred("451 4.4.2 Connection lost", "4.4.2"));
    FinishJob(std::move(r));
  }
  client_.reset();
  if (!ever_ready_ && !shutdown_) {
    TryNextAddress();  // this host did not work out: next address or MX
    return;
  }
  Done();
}

// ---- smtp::ClientHost

void OutboundSession::OnReady() {
  ever_ready_ = true;
  TakeNextJob();
}

void OutboundSession::TakeNextJob() {
  // A message refused locally (e.g. over the server's SIZE) is reported
  // inside SendMessage and leaves the session ready: take the next one.
  while (TakeOneJob()) {
  }
}

bool OutboundSession::TakeOneJob() {
  if (stream_ == nullptr || client_ == nullptr || !client_->ready()) return false;
  Scheduler& sched = svc_->scheduler();
  const absl::Time now = svc_->loop()->now();
  std::optional<Job> job;
  if (!shutdown_ && sched.MayTakeJob(domain_, sent_, now)) {
    job = sched.TakeJob(domain_, now);
  }
  const Message* m = job ? sched.Find(job->seq) : nullptr;
  if (m == nullptr) {
    client_->Quit(&stream_->output());
    return false;
  }
  job_ = std::move(job);
  ++sent_;
  smtp::OutboundEnvelope env;
  env.mail_from = m->env.sender;
  for (uint32_t i : job_->rcpts) {
    const auto& r = m->env.recipients[i];
    env.recipients.push_back({r.address, r.notify, r.orcpt});
  }
  // Exact when known; else the stored size, a slight underestimate (LF).
  env.size = m->size != 0                        ? m->size
             : m->file_bytes == kUnknownFileBytes ? 0
                                                  : m->file_bytes - m->content_offset;
  env.eight_bit = m->env.eight_bit;
  env.smtputf8 = m->env.smtputf8;
  env.ret = m->env.ret;
  env.envid = m->env.envid;
  body_offset_ = m->content_offset;
  body_end_ = m->file_bytes;
  body_wanted_ = false;
  body_eof_ = false;
  body_pending_.clear();
  LoadBody();
  if (client_->SendMessage(env, &stream_->output())) return false;
  return !job_.has_value() && client_ != nullptr && client_->ready();
}

void OutboundSession::LoadBody() {
  const Message* m = svc_->scheduler().Find(job_->seq);
  std::string path = absl::StrCat(svc_->spool_dir(), "/new/", m->file);
  body_reading_ = true;
  svc_->loop()->file_io().OpenAt(
      AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0,
      [this, alive = gate_.token(), generation = body_generation_](int fd) {
        if (!alive || !job_.has_value() || body_generation_ != generation) {
          if (fd >= 0) close(fd);  // NOLINT: the session is gone
          return;
        }
        body_reading_ = false;
        if (fd < 0) {
          LOG_ERROR("relay: open queue file failed: ", strerror(-fd));
          Close();  // the transfer cannot go on; stays queued
          return;
        }
        body_fd_ = fd;
        ReadMore();
      });
}

void OutboundSession::ReadMore() {
  if (body_fd_ < 0 || body_reading_ || body_eof_) return;
  if (body_offset_ >= body_end_) {
    body_eof_ = true;
    if (body_wanted_ && client_ != nullptr && stream_ != nullptr) {
      client_->EndBody(&stream_->output());
      Flush();
    }
    return;
  }
  if (body_wanted_ && stream_ != nullptr &&
      stream_->pending_output() > kMaxBodyBacklog) {
    // Back-pressure: the socket is behind; look again shortly.
    drain_timer_ = svc_->loop()->AddTimer(kDrainPoll, [this] {
      drain_timer_ = 0;
      ReadMore();
    });
    return;
  }
  if (!body_wanted_ && body_pending_.size() >= kBodyChunk) return;
  size_t want = static_cast<size_t>(std::min<uint64_t>(kBodyChunk, body_end_ - body_offset_));
  // The kernel writes into the buffer until the completion, which may come
  // after this session or its job is gone: the callback owns it.
  auto buf = std::make_shared<std::string>(want, '\0');
  body_reading_ = true;
  svc_->loop()->file_io().Read(
      body_fd_, buf->data(), want, body_offset_,
      [this, alive = gate_.token(), buf, generation = body_generation_](int res) {
        if (!alive || body_generation_ != generation) return;
        body_reading_ = false;
        const size_t got = res > 0 ? static_cast<size_t>(res) : 0;
        OnBodyRead(res, std::string_view(*buf).substr(0, got));
      });
}

void OutboundSession::OnBodyRead(int res, std::string_view data) {
  if (!job_.has_value()) return;
  if (res < 0) {
    LOG_ERROR("relay: read queue file failed: ", strerror(-res));
    Close();
    return;
  }
  if (res == 0) body_end_ = body_offset_;  // shorter than it said
  body_offset_ += static_cast<uint64_t>(res);
  if (body_wanted_ && client_ != nullptr && stream_ != nullptr) {
    client_->BodyChunk(data, &stream_->output());
    Flush();
  } else {
    body_pending_.append(data);
  }
  ReadMore();
}

void OutboundSession::OnStartTls() {
  // Only offered to the client when a TLS client context exists.
  assert(svc_->tls_client() != nullptr && conn_ != nullptr);
  engine::TlsClientParams params;
  params.server_name = current_host_;
  // Opportunistic and "required" encrypt without authenticating the MX
  // (RFC 7435); "verify" checks the chain and the MX host name.
  params.verify_peer = verify_peer_;
  engine::TlsStream* tls = engine::TlsStream::StartClient(
      conn_, svc_->tls_client(), params, this,
      [this, alive = gate_.token()](absl::Status s) {
        if (!alive || client_ == nullptr || stream_ == nullptr) return;
        if (!s.ok()) {
          LOG_INFO("relay: TLS with ", current_host_, " failed: ", s.message());
          // Kept for the deferral reply (the disconnect that follows would
          // otherwise only say the connection was lost).
          tls_failure_ = std::string(s.message().data(), s.message().size());
          return;  // the stream closes; OnClosed reports it
        }
        client_->TlsStarted(&stream_->output());
        Flush();
      });
  stream_ = tls;
  conn_ = nullptr;
}

void OutboundSession::OnWantBody() {
  body_wanted_ = true;
  if (!body_pending_.empty()) {
    client_->BodyChunk(body_pending_, &stream_->output());
    body_pending_.clear();
  }
  if (body_eof_) {
    client_->EndBody(&stream_->output());
  } else if (body_fd_ >= 0) {
    ReadMore();
  }
}

void OutboundSession::OnMessageDone(absl::Span<const smtp::RecipientResult> results) {
  if (!job_.has_value()) return;
  std::vector<RecipientResult> out;
  out.reserve(results.size());
  const bool remote_dsn = client_ != nullptr && client_->capabilities().dsn;
  for (const smtp::RecipientResult& r : results) {
    RecipientResult x;
    x.kind = r.outcome == smtp::RecipientOutcome::kDelivered
                 ? RecipientResult::Kind::kDelivered
             : r.outcome == smtp::RecipientOutcome::kFailed
                 ? RecipientResult::Kind::kFailed
                 : RecipientResult::Kind::kDeferred;
    x.reply = r.reply.ToString();
    // Without ENHANCEDSTATUSCODES the text may still start with a code
    // (many servers, e.g. aiosmtpd, do that): use it, as Postfix does.
    x.status = smtp::StatusForReply(
        r.reply.code, r.reply.enhanced.empty() ? r.reply.text : r.reply.enhanced);
    x.remote_host = r.reply.synthetic ? std::string() : current_host_;
    x.remote_has_dsn = remote_dsn;
    out.push_back(std::move(x));
  }
  out.resize(job_->rcpts.size(), Deferred("451 4.3.0 No result", "4.3.0"));
  FinishJob(std::move(out));
}

void OutboundSession::FinishJob(std::vector<RecipientResult> results) {
  Job job = std::move(*job_);
  job_.reset();
  if (body_fd_ >= 0) {
    svc_->loop()->file_io().Close(body_fd_, [](int) {});
    body_fd_ = -1;
  }
  svc_->loop()->CancelTimer(drain_timer_);
  drain_timer_ = 0;
  body_pending_.clear();
  ++body_generation_;
  body_reading_ = false;
  svc_->Carry(svc_->scheduler().Complete(job, results, svc_->loop()->now()));
}

void OutboundSession::OnSessionFailed(const smtp::ServerReply& why, bool is_421) {
  const std::string text = why.ToString();
  if (is_421) {
    svc_->scheduler().BackOff(domain_, text, svc_->loop()->now());
  }
  if (!ever_ready_ && !tls_failure_.empty()) {
    // RFC 3463 §3.8: X.7.5 "cryptographic failure". Still temporary (the
    // certificate may be fixed), as in Postfix.
    last_failure_ = Deferred(
        absl::StrCat("451 4.7.5 TLS with ", current_host_, " failed: ", tls_failure_),
        "4.7.5");
  } else if (!ever_ready_) {
    // Greeting, EHLO or TLS trouble: this host failed; the next MX may do.
    last_failure_ = Deferred(
        absl::StrCat(text, " (host ", current_host_, ")"),
        smtp::StatusForReply(why.code, why.enhanced));
    if (last_failure_.status.empty() || last_failure_.status[0] != '4') {
      last_failure_.status = "4.4.0";  // a session failure never bounces
    }
  }
  LOG_DEBUG("relay: session with ", current_host_, " ended: ", text);
}

// ---- internals

void OutboundSession::ArmTimeout(absl::Duration d) {
  svc_->loop()->CancelTimer(timer_);
  timer_ = svc_->loop()->AddTimer(d, [this] {
    timer_ = 0;
    OnTimeout();
  });
}

void OutboundSession::OnTimeout() {
  if (client_ != nullptr && !client_->closed()) client_->OnTimeout();
  Close();
}

void OutboundSession::Flush() {
  if (stream_ != nullptr) stream_->Flush();
}

void OutboundSession::Close() {
  if (stream_ == nullptr || closing_) return;
  closing_ = true;
  stream_->Close();
}

void OutboundSession::Done() {
  svc_->loop()->CancelTimer(timer_);
  timer_ = 0;
  if (body_fd_ >= 0) {
    svc_->loop()->file_io().Close(body_fd_, [](int) {});
    body_fd_ = -1;
  }
  svc_->OnSessionGone(this);  // deletes this
}

}  // namespace ringmail::server::relay
