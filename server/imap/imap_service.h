// The IMAP service of one core: listeners, sessions, and the users whose
// home core this is.
//
// A connection is accepted on any core. After LOGIN/AUTHENTICATE it moves
// to the user's home core (hash of the user name): the socket and its
// unread bytes are handed over by message, so each user's mailboxes are
// only ever touched by one thread.
#ifndef RINGMAIL_SERVER_IMAP_IMAP_SERVICE_H_
#define RINGMAIL_SERVER_IMAP_IMAP_SERVICE_H_

#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "engine/fs_watch.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "engine/session_registry.h"
#include "engine/tcp.h"
#include "engine/tls.h"
#include "server/auth_service.h"
#include "server/auth_throttle.h"
#include "server/config.h"
#include "server/connection_limits.h"
#include "server/directory.h"
#include "server/imap/mail_user.h"
#include "server/trusted_networks.h"
#include "storage/maildir/mail_location.h"

namespace ringmail::server::imap {

class ImapService;
class ImapSession;

// Shared, read-only after start-up (the services vector is filled before
// any core serves).
struct ImapContext {
  const Config* config = nullptr;
  const Directory* directory = nullptr;
  const storage::MailLocation* location = nullptr;
  ConnectionLimits* limits = nullptr;
  AuthService* auth = nullptr;
  engine::HelperPool* pool = nullptr;
  std::vector<ImapService*>* services = nullptr;  // index = core
  // Clients allowed plaintext LOGIN/AUTHENTICATE without TLS; null: all
  // (config auth.allow_plaintext_off_tls also allows all).
  const TrustedNetworks* trusted = nullptr;
  // Shared failed-login throttle; null: a fixed delay per failure.
  AuthThrottle* throttle = nullptr;
  // Per-user quota limits; null: nobody has a quota.
  const QuotaPolicy* quota = nullptr;
};

// Session state carried across a hand-over to the home core.
struct SessionCarry {
  std::string ip;
  bool utf8_accept = false;
  bool plaintext_auth_allowed = true;  // decided once, at accept
};

// The mailbox of a login name (user@domain, the domain compared
// case-insensitively), or nullopt when there is no such user. Reads only
// the immutable directory: safe on a helper thread.
std::optional<Directory::Mailbox> FindMailboxOfLogin(const Directory& directory,
                                                     std::string_view login);

class ImapService {
 public:
  ImapService(engine::Loop* loop, const ImapContext& ctx,
              std::vector<int> listen_fds);
  ~ImapService();
  ImapService(const ImapService&) = delete;
  ImapService& operator=(const ImapService&) = delete;

  // TLS for this core (before Start): `ctx` (owned by the caller, outlives
  // the service) serves STARTTLS and the implicit-TLS listeners `tls_fds`
  // (imaps.listen). Without it STARTTLS is refused and not advertised.
  void EnableTls(engine::TlsContext* ctx, std::vector<int> tls_fds);
  engine::TlsContext* tls() const { return tls_; }

  void Start();
  // Stops accepting, says BYE to every session, then calls `done` once all
  // connections are gone.
  void Shutdown(absl::AnyInvocable<void()> done);

  engine::Loop* loop() const { return loop_; }
  const ImapContext& ctx() const { return ctx_; }

  // The core that owns `user`'s mailboxes.
  int HomeCore(const Directory::Mailbox& user) const;

  // On the home core: takes over an authenticated connection.
  void Adopt(int fd, std::string unread, Directory::Mailbox user,
             SessionCarry carry);
  // Same for a TLS session (TlsStream::Release on the accepting core).
  void AdoptTls(std::unique_ptr<engine::TlsHandover> handover, std::string unread,
                Directory::Mailbox user, SessionCarry carry);

  // On the home core: the user's mail state, shared by their sessions.
  MailUser* AcquireUser(const Directory::Mailbox& user);
  // Releases a MailUser from AcquireUser or AcquireOwner.
  void ReleaseUser(MailUser* user);

  // On any core: the mail of `owner`, for a session of another user that
  // opens one of the owner's shared folders (RFC 4314). On the owner's home
  // core this is the owner's own MailUser (AcquireUser); elsewhere a guest
  // MailUser (mail_user.h), shared by the guests on this core and dropped
  // with the last of them. Release with ReleaseUser.
  MailUser* AcquireOwner(const Directory::Mailbox& owner);

  // The login name (user@domain, as MailUser::user()) of a local user, or
  // nullopt when there is no such user.
  std::optional<Directory::Mailbox> FindUser(std::string_view login) const;

  // <data_dir>/shared-mailboxes: the shared-mailboxes dictionary
  // (storage/mailbox/acl_shared_dict.h).
  std::string SharedDictPath() const;

  // On the home core: new mail was delivered to `user`'s INBOX (by SMTP on
  // any core). Selected and idle sessions learn of it at once.
  void OnDelivered(const Directory::Mailbox& user);

  // Every session of this core registers here for its lifetime.
  engine::SessionRegistry<ImapSession>* sessions() { return &sessions_; }

 private:
  void OnAccept(int fd, bool implicit_tls);
  void StartAdopted(ImapSession* s, Directory::Mailbox user, std::string unread);

  engine::Loop* loop_;
  ImapContext ctx_;
  std::vector<std::unique_ptr<engine::Listener>> listeners_;
  engine::TlsContext* tls_ = nullptr;
  engine::SessionRegistry<ImapSession> sessions_;
  // This core's inotify instance for its users' selected folders; null when
  // inotify is unavailable (changes are then seen on the next command).
  // Declared before users_ so it outlives their folders' watches.
  std::unique_ptr<engine::FsWatcher> watcher_;
  absl::flat_hash_map<std::string, std::unique_ptr<MailUser>> users_;
  // Guest MailUsers of owners whose home core is another one.
  absl::flat_hash_map<std::string, std::unique_ptr<MailUser>> guests_;
};

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_IMAP_SERVICE_H_
