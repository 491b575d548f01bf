// The POP3 service of one core: listeners, sessions, and the maildrop
// locks of the users whose home core this is.
//
// A connection is accepted on any core. Once its password checks out it
// moves to the user's home core (the same core IMAP uses, see
// imap::ImapService::HomeCore), where the maildrop is locked and INBOX is
// opened through that core's ImapService: POP3 and IMAP share one
// MailUser / FolderState per user, so UIDs are the same and each sees the
// other's changes.
#ifndef RINGMAIL_SERVER_POP3_POP3_SERVICE_H_
#define RINGMAIL_SERVER_POP3_POP3_SERVICE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "engine/session_registry.h"
#include "engine/tcp.h"
#include "engine/tls.h"
#include "protocols/pop3/session.h"
#include "server/auth_service.h"
#include "server/auth_throttle.h"
#include "server/config.h"
#include "server/connection_limits.h"
#include "server/directory.h"
#include "server/imap/imap_service.h"
#include "server/trusted_networks.h"

namespace ringmail::server::pop3 {

class Pop3Service;
class Pop3Session;

// Shared, read-only after start-up (the vectors are filled before any core
// serves).
struct Pop3Context {
  const Config* config = nullptr;
  ConnectionLimits* limits = nullptr;
  AuthService* auth = nullptr;
  engine::HelperPool* pool = nullptr;
  std::vector<Pop3Service*>* services = nullptr;             // index = core
  std::vector<imap::ImapService*>* imap_services = nullptr;  // index = core
  // Clients allowed USER/PASS and AUTH PLAIN without TLS; null: all
  // (config auth.allow_plaintext_off_tls also allows all).
  const TrustedNetworks* trusted = nullptr;
  // Shared failed-login throttle; null: a fixed delay per failure.
  AuthThrottle* throttle = nullptr;
};

// Session state carried across the hand-over to the home core.
struct Pop3Carry {
  std::string ip;
  bool plaintext_auth_allowed = true;  // decided once, at accept
  ringmail::pop3::SessionCarry session;
};

class Pop3Service {
 public:
  Pop3Service(engine::Loop* loop, const Pop3Context& ctx, std::vector<int> listen_fds);
  ~Pop3Service();
  Pop3Service(const Pop3Service&) = delete;
  Pop3Service& operator=(const Pop3Service&) = delete;

  // TLS for this core (before Start): `ctx` (owned by the caller, outlives
  // the service) serves STLS and the implicit-TLS listeners `tls_fds`
  // (pop3s.listen). Without it STLS is refused and not advertised.
  void EnableTls(engine::TlsContext* ctx, std::vector<int> tls_fds);
  engine::TlsContext* tls() const { return tls_; }

  void Start();
  // Stops accepting, ends every session (no UPDATE), then calls `done`
  // once all connections are gone.
  void Shutdown(absl::AnyInvocable<void()> done);

  engine::Loop* loop() const { return loop_; }
  const Pop3Context& ctx() const { return ctx_; }
  // This core's IMAP service, which owns the MailUsers.
  imap::ImapService* imap() const { return (*ctx_.imap_services)[loop_->id()]; }
  int HomeCore(const Directory::Mailbox& user) const { return imap()->HomeCore(user); }

  // On the home core: takes over a connection whose password was checked;
  // the session then locks and opens the maildrop.
  void Adopt(int fd, std::string unread, Directory::Mailbox user, Pop3Carry carry);
  // Same for a TLS session (TlsStream::Release on the accepting core).
  void AdoptTls(std::unique_ptr<engine::TlsHandover> handover, std::string unread,
                Directory::Mailbox user, Pop3Carry carry);

  // RFC 1939 §8 exclusive maildrop lock, on the home core. A user's POP3
  // sessions all run there, so a per-core set is enough.
  bool TryLock(const std::string& user_key) { return locked_.insert(user_key).second; }
  void Unlock(const std::string& user_key) { locked_.erase(user_key); }

  // Every session of this core registers here for its lifetime.
  engine::SessionRegistry<Pop3Session>* sessions() { return &sessions_; }

 private:
  void OnAccept(int fd, bool implicit_tls);

  engine::Loop* loop_;
  Pop3Context ctx_;
  std::vector<std::unique_ptr<engine::Listener>> listeners_;
  engine::TlsContext* tls_ = nullptr;
  absl::flat_hash_set<std::string> locked_;
  engine::SessionRegistry<Pop3Session> sessions_;
};

}  // namespace ringmail::server::pop3

#endif  // RINGMAIL_SERVER_POP3_POP3_SERVICE_H_
