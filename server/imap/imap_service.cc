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
  auto watcher = engine::FsWatcher::Create(&loop->ring());
  if (watcher.ok()) {
    watcher_ = std::move(*watcher);
  } else {
    LOG_WARNING("imap: core ", loop->id(), ": ", watcher.status().message(),
                "; outside changes to Maildirs are seen on the next command");
  }
  for (int fd : listen_fds) {
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop, fd, [this](int cfd) { OnAccept(cfd, false); }));
  }
}

void ImapService::EnableTls(engine::TlsContext* ctx, std::vector<int> tls_fds) {
  tls_ = ctx;
  for (int fd : tls_fds) {
    listeners_.push_back(std::make_unique<engine::Listener>(
        loop_, fd, [this](int cfd) { OnAccept(cfd, true); }));
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

void ImapService::OnAccept(int fd, bool implicit_tls) {
  auto* conn = new engine::Connection(loop_, fd);
  std::string ip = conn->peer().IpString();
  std::string_view refusal;
  if (sessions_.shutting_down()) {
    refusal = "* BYE Server shutting down\r\n";
  } else if (ctx_.limits->TryAdmit(ip) != ConnectionLimits::Verdict::kAdmitted) {
    LOG_WARNING("imap: connection limit reached, refusing ", ip);
    refusal = "* BYE Too many connections\r\n";
  }
  if (!refusal.empty()) {
    // On an implicit-TLS port a cleartext BYE would only confuse the
    // client's handshake: just close.
    if (!implicit_tls) conn->output() = std::string(refusal);
    conn->Start(new RejectHandler());
    conn->Close();
    return;
  }
  SessionCarry carry;
  carry.plaintext_auth_allowed = ctx_.config->auth.allow_plaintext_off_tls ||
                                 ctx_.trusted == nullptr ||
                                 ctx_.trusted->Contains(conn->peer());
  carry.ip = ip;
  ImapSession* s;
  if (implicit_tls) {
    s = new ImapSession(this, nullptr, new engine::TlsStream(conn, tls_), std::move(carry));
  } else {
    s = new ImapSession(this, conn, nullptr, std::move(carry));
  }
  s->StartFresh();
}

void ImapService::Adopt(int fd, std::string unread, Directory::Mailbox user,
                        SessionCarry carry) {
  if (fd < 0) {  // the client went away during the hand-over
    ctx_.limits->Release(carry.ip);
    return;
  }
  auto* conn = new engine::Connection(loop_, fd);
  StartAdopted(new ImapSession(this, conn, nullptr, std::move(carry)), std::move(user),
               std::move(unread));
}

void ImapService::AdoptTls(std::unique_ptr<engine::TlsHandover> handover,
                           std::string unread, Directory::Mailbox user,
                           SessionCarry carry) {
  engine::TlsStream* t = engine::TlsStream::Adopt(loop_, std::move(handover));
  StartAdopted(new ImapSession(this, nullptr, t, std::move(carry)), std::move(user),
               std::move(unread));
}

void ImapService::StartAdopted(ImapSession* s, Directory::Mailbox user,
                               std::string unread) {
  if (sessions_.shutting_down()) {
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
                               loop_, ctx_.pool, watcher_.get(), key, root.ok() ? *root : std::string(),
                               opts))
             .first;
    it->second->quota = QuotaTargetFor(ctx_.quota, *ctx_.location, user);
  }
  ++it->second->sessions;
  return it->second.get();
}

void ImapService::ReleaseUser(MailUser* user) {
  if (--user->sessions > 0) return;
  // Keep nothing for users without sessions: the index files persist the
  // state, and memory stays proportional to active users.
  if (user->guest()) {
    guests_.erase(user->user());
  } else {
    users_.erase(user->user());
  }
}

MailUser* ImapService::AcquireOwner(const Directory::Mailbox& owner) {
  if (HomeCore(owner) == loop_->id()) return AcquireUser(owner);
  std::string key = UserKey(owner);
  auto it = guests_.find(key);
  if (it == guests_.end()) {
    auto root = ctx_.location->Expand(owner.local_part, owner.domain);
    storage::FolderNameOptions opts;
    opts.delimiter = ctx_.config->imap.hierarchy_delimiter;
    it = guests_
             .emplace(key, std::make_unique<MailUser>(
                               loop_, ctx_.pool, watcher_.get(), key,
                               root.ok() ? *root : std::string(), opts,
                               /*guest=*/true))
             .first;
    // A guest's APPEND and COPY are charged to the owner's quota.
    it->second->quota = QuotaTargetFor(ctx_.quota, *ctx_.location, owner);
  }
  ++it->second->sessions;
  return it->second.get();
}

std::optional<Directory::Mailbox> ImapService::FindUser(std::string_view login) const {
  return FindMailboxOfLogin(*ctx_.directory, login);
}

std::optional<Directory::Mailbox> FindMailboxOfLogin(const Directory& directory,
                                                     std::string_view login) {
  size_t at = login.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == login.size()) {
    return std::nullopt;
  }
  std::string domain(login.substr(at + 1));
  for (char& c : domain) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return directory.FindMailbox(login.substr(0, at), domain);
}

std::string ImapService::SharedDictPath() const {
  return absl::StrCat(ctx_.config->data_dir, "/shared-mailboxes");
}

void ImapService::OnDelivered(const Directory::Mailbox& user) {
  auto it = users_.find(UserKey(user));
  if (it == users_.end()) return;
  if (FolderState* inbox = it->second->FindOpen("INBOX")) {
    if (inbox->view_count() > 0) inbox->Sync([](absl::Status) {});
  }
}

void ImapService::Shutdown(absl::AnyInvocable<void()> done) {
  for (auto& l : listeners_) l->Stop();
  sessions_.Shutdown([](ImapSession* s) { s->Shutdown(); }, std::move(done));
}

}  // namespace ringmail::server::imap
