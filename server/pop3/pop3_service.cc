#include "server/pop3/pop3_service.h"

#include <algorithm>

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
        loop, fd, [this](int cfd) { OnAccept(cfd); }));
  }
}

Pop3Service::~Pop3Service() = default;

void Pop3Service::Start() {
  for (auto& l : listeners_) l->Start();
}

void Pop3Service::OnAccept(int fd) {
  auto* conn = new engine::Connection(loop_, fd);
  std::string ip = conn->peer().IpString();
  std::string_view refusal;
  if (shutting_down_) {
    refusal = "-ERR [SYS/TEMP] Server shutting down.\r\n";
  } else if (ctx_.limits->TryAdmit(ip) != ConnectionLimits::Verdict::kAdmitted) {
    LOG_WARNING("pop3: connection limit reached, refusing ", ip);
    refusal = "-ERR [SYS/TEMP] Too many connections.\r\n";
  }
  if (!refusal.empty()) {
    conn->output() = std::string(refusal);
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  Pop3Carry carry;
  carry.ip = std::move(ip);
  auto* s = new Pop3Session(this, conn, std::move(carry));
  s->StartFresh();
}

void Pop3Service::Adopt(int fd, std::string unread, Directory::Mailbox user,
                        Pop3Carry carry) {
  auto* conn = new engine::Connection(loop_, fd);
  auto* s = new Pop3Session(this, conn, std::move(carry));
  s->StartHandedOver(user, std::move(unread));
  if (shutting_down_) s->Shutdown();
}

void Pop3Service::Register(Pop3Session* s) { sessions_.push_back(s); }

void Pop3Service::Unregister(Pop3Session* s) {
  sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), s), sessions_.end());
  MaybeFinishShutdown();
}

void Pop3Service::Shutdown(absl::AnyInvocable<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  for (auto& l : listeners_) l->Stop();
  std::vector<Pop3Session*> live = sessions_;
  for (Pop3Session* s : live) s->Shutdown();
  MaybeFinishShutdown();
}

void Pop3Service::MaybeFinishShutdown() {
  if (!shutting_down_ || !sessions_.empty() || !shutdown_done_) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace ringmail::server::pop3
