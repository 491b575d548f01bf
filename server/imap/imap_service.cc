#include "server/imap/imap_service.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "server/imap/imap_session.h"

namespace ringmail::server::imap {
namespace {

class RejectHandler final : public engine::ConnectionHandler {
 public:
  void OnReceive(std::string_view) override {}
  void OnPeerClosed() override {}
  void OnClosed() override { delete this; }
};

std::string UserKey(const Directory::Mailbox& m) {
  return absl::StrCat(m.local_part, "@", m.domain);
}

}  // namespace

ImapService::ImapService(engine::Loop* loop, const ImapContext& ctx,
                         std::vector<int> listen_fds)
    : loop_(loop), ctx_(ctx) {
  for (int fd : listen_fds) {
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop, fd, [this](int cfd) { OnAccept(cfd); }));
  }
}

ImapService::~ImapService() = default;

void ImapService::Start() {
  for (auto& l : listeners_) l->Start();
}

int ImapService::HomeCore(const Directory::Mailbox& user) const {
  // A stable hash (not absl::Hash, which is seeded per process): the same
  // user maps to the same core on every run, which keeps caches warm.
  std::string key = UserKey(user);
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int>(h % ctx_.services->size());
}

void ImapService::OnAccept(int fd) {
  auto* conn = new engine::Connection(loop_, fd);
  std::string ip = conn->peer().IpString();
  if (shutting_down_) {
    conn->output() = "* BYE Server shutting down\r\n";
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  if (ctx_.limits->TryAdmit(ip) != ConnectionLimits::Verdict::kAdmitted) {
    LOG_WARNING("imap: connection limit reached, refusing ", ip);
    conn->output() = "* BYE Too many connections\r\n";
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  SessionCarry carry;
  carry.ip = ip;
  auto* s = new ImapSession(this, conn, std::move(carry));
  s->StartFresh();
}

void ImapService::Adopt(int fd, std::string unread, Directory::Mailbox user,
                        SessionCarry carry) {
  auto* conn = new engine::Connection(loop_, fd);
  auto* s = new ImapSession(this, conn, std::move(carry));
  if (shutting_down_) {
    s->StartAuthenticated(AcquireUser(user), "");
    s->Shutdown();
    return;
  }
  s->StartAuthenticated(AcquireUser(user), std::move(unread));
}

MailUser* ImapService::AcquireUser(const Directory::Mailbox& user) {
  std::string key = UserKey(user);
  auto it = users_.find(key);
  if (it == users_.end()) {
    auto root = ctx_.location->Expand(user.local_part, user.domain);
    storage::FolderNameOptions opts;
    opts.delimiter = ctx_.config->imap.hierarchy_delimiter;
    it = users_
             .emplace(key, std::make_unique<MailUser>(
                               loop_, ctx_.pool, key, root.ok() ? *root : std::string(),
                               opts))
             .first;
  }
  ++it->second->sessions;
  return it->second.get();
}

void ImapService::ReleaseUser(MailUser* user) {
  if (--user->sessions > 0) return;
  // Keep nothing for users without sessions: the index files persist the
  // state, and memory stays proportional to active users.
  users_.erase(user->user());
}

void ImapService::OnDelivered(const Directory::Mailbox& user) {
  auto it = users_.find(UserKey(user));
  if (it == users_.end()) return;
  if (FolderState* inbox = it->second->FindOpen("INBOX")) {
    if (inbox->view_count() > 0) inbox->Sync([](absl::Status) {});
  }
}

void ImapService::Register(ImapSession* s) { sessions_.push_back(s); }

void ImapService::Unregister(ImapSession* s) {
  sessions_.erase(std::remove(sessions_.begin(), sessions_.end(), s), sessions_.end());
  MaybeFinishShutdown();
}

void ImapService::Shutdown(absl::AnyInvocable<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  for (auto& l : listeners_) l->Stop();
  std::vector<ImapSession*> live = sessions_;
  for (ImapSession* s : live) s->Shutdown();
  MaybeFinishShutdown();
}

void ImapService::MaybeFinishShutdown() {
  if (!shutting_down_ || !sessions_.empty() || !shutdown_done_) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace ringmail::server::imap
