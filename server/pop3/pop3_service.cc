#include "server/pop3/pop3_service.h"

#include "engine/log.h"
#include "server/pop3/pop3_session.h"

namespace ringmail::server::pop3 {
namespace {

class RejectHandler final : public engine::ConnectionHandler {
 public:
  void OnReceive(std::string_view) override {}
  void OnPeerClosed() override {}
  void OnClosed() override { delete this; }
};

}  // namespace

Pop3Service::Pop3Service(engine::Loop* loop, const Pop3Context& ctx,
                         std::vector<int> listen_fds)
    : loop_(loop), ctx_(ctx) {
  for (int fd : listen_fds) {
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop, fd, [this](int cfd) { OnAccept(cfd, false); }));
  }
}

void Pop3Service::EnableTls(engine::TlsContext* ctx, std::vector<int> tls_fds) {
  tls_ = ctx;
  for (int fd : tls_fds) {
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop_, fd, [this](int cfd) { OnAccept(cfd, true); }));
  }
}

Pop3Service::~Pop3Service() = default;

void Pop3Service::Start() {
  for (auto& l : listeners_) l->Start();
}

void Pop3Service::OnAccept(int fd, bool implicit_tls) {
  auto* conn = new engine::Connection(loop_, fd);
  std::string ip = conn->peer().IpString();
  std::string_view refusal;
  if (sessions_.shutting_down()) {
    refusal = "-ERR [SYS/TEMP] Server shutting down.\r\n";
  } else if (ctx_.limits->TryAdmit(ip) != ConnectionLimits::Verdict::kAdmitted) {
    LOG_WARNING("pop3: connection limit reached, refusing ", ip);
    refusal = "-ERR [SYS/TEMP] Too many connections.\r\n";
  }
  if (!refusal.empty()) {
    // Not in the clear on an implicit-TLS port: just close.
    if (!implicit_tls) conn->output() = std::string(refusal);
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  Pop3Carry carry;
  carry.plaintext_auth_allowed = ctx_.config->auth.allow_plaintext_off_tls ||
                                 ctx_.trusted == nullptr ||
                                 ctx_.trusted->Contains(conn->peer());
  carry.ip = std::move(ip);
  Pop3Session* s;
  if (implicit_tls) {
    s = new Pop3Session(this, nullptr, new engine::TlsStream(conn, tls_), std::move(carry));
  } else {
    s = new Pop3Session(this, conn, nullptr, std::move(carry));
  }
  s->StartFresh();
}

void Pop3Service::Adopt(int fd, std::string unread, Directory::Mailbox user,
                        Pop3Carry carry) {
  if (fd < 0) {  // the client went away during the hand-over
    ctx_.limits->Release(carry.ip);
    return;
  }
  auto* conn = new engine::Connection(loop_, fd);
  auto* s = new Pop3Session(this, conn, nullptr, std::move(carry));
  s->StartHandedOver(user, std::move(unread));
  if (sessions_.shutting_down()) s->Shutdown();
}

void Pop3Service::AdoptTls(std::unique_ptr<engine::TlsHandover> handover,
                           std::string unread, Directory::Mailbox user, Pop3Carry carry) {
  engine::TlsStream* t = engine::TlsStream::Adopt(loop_, std::move(handover));
  auto* s = new Pop3Session(this, nullptr, t, std::move(carry));
  s->StartHandedOver(user, std::move(unread));
  if (sessions_.shutting_down()) s->Shutdown();
}

void Pop3Service::Shutdown(absl::AnyInvocable<void()> done) {
  for (auto& l : listeners_) l->Stop();
  sessions_.Shutdown([](Pop3Session* s) { s->Shutdown(); }, std::move(done));
}

}  // namespace ringmail::server::pop3
