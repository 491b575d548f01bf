// The SMTP service of one core: its listeners, its sessions, and the glue
// from engine streams (plain TCP, STARTTLS, implicit TLS) to protocol
// sessions to Maildir delivery, with AUTH checked on the helper pool.
//
// Everything here runs on the core's thread. State shared with other cores
// (the user directory, the connection limits) is read-only or atomic.
#ifndef RINGMAIL_SERVER_SMTP_SERVICE_H_
#define RINGMAIL_SERVER_SMTP_SERVICE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "engine/loop.h"
#include "engine/session_registry.h"
#include "engine/tcp.h"
#include "engine/tls.h"
#include "protocols/smtp/session.h"
#include "server/auth_service.h"
#include "server/auth_throttle.h"
#include "server/config.h"
#include "server/connection_limits.h"
#include "server/directory.h"
#include "server/quota_service.h"
#include "server/trusted_networks.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/mail_location.h"

namespace ringmail::server {
namespace relay {
class RelayService;
}

// Read-only after start-up; shared by every core.
struct SmtpContext {
  const Config* config;
  const Directory* directory;
  const storage::MailLocation* location;
  // Per service: port 25 style (`limits`), submission with smtps, LMTP.
  // Null submission_limits/lmtp_limits fall back to `limits`.
  ConnectionLimits* limits;
  ConnectionLimits* submission_limits = nullptr;
  ConnectionLimits* lmtp_limits = nullptr;
  // Called on the delivering core once a message is durable in `user`'s
  // INBOX (may be empty).
  std::function<void(engine::Loop* from, const Directory::Mailbox& user)>
      on_delivered;
  // AUTH (all optional: without `auth` no AUTH is offered). Process-wide.
  AuthService* auth = nullptr;
  AuthThrottle* throttle = nullptr;
  const TrustedNetworks* trusted = nullptr;  // plaintext AUTH without TLS
  // Outbound relay, one per core (index = core id); null: no relaying.
  // Authenticated clients and `relay_trusted` networks may relay.
  const std::vector<relay::RelayService*>* relays = nullptr;
  const TrustedNetworks* relay_trusted = nullptr;
  // Per-user quotas (server/quota_service.h); null: none. `pool` runs the
  // maildirsize recalculations; quotas are off without it.
  const QuotaPolicy* quota = nullptr;
  engine::HelperPool* pool = nullptr;
};

// What a listening socket serves.
enum class SmtpPort : uint8_t {
  kMx,           // port 25 style: AUTH optional, STARTTLS offered
  kSubmission,   // RFC 6409 (587): STARTTLS, AUTH required before MAIL
  kSubmissions,  // RFC 8314 (465): implicit TLS, AUTH required before MAIL
  kLmtp,         // RFC 2033: LHLO, no AUTH/STARTTLS, local recipients only
};

struct SmtpListenSocket {
  int fd;
  SmtpPort port;
};

class SmtpConnection;

// The mailbox RCPT TO:<Postmaster> (RFC 5321 §4.5.1) delivers to: the
// `postmaster` key's address if it is set (nullopt unless it is a local
// mailbox), else postmaster@ the host name or one of its parent domains,
// else of the first of the config's local_domains, else of the first
// passwd-file domain (in file order) that has a postmaster user.
std::optional<Directory::Mailbox> FindPostmaster(const Config& config,
                                                 const Directory& directory);

class SmtpService {
 public:
  // `listen` are this core's SO_REUSEPORT sockets (owned from now on).
  // `tls` is this core's TLS context (null: TLS off; then kSubmissions
  // sockets must not be passed); it must outlive the service.
  SmtpService(engine::Loop* loop, const SmtpContext& ctx,
              std::vector<SmtpListenSocket> listen,
              engine::TlsContext* tls = nullptr);
  ~SmtpService();
  SmtpService(const SmtpService&) = delete;
  SmtpService& operator=(const SmtpService&) = delete;

  void Start();
  // Stops accepting, tells idle sessions 421, lets messages in progress
  // finish, flushes the delivery queue, then calls `done`. Sessions still
  // open after the config's shutdown_grace are dropped.
  void Shutdown(absl::AnyInvocable<void()> done);

  engine::Loop* loop() const { return loop_; }
  const SmtpContext& ctx() const { return ctx_; }
  storage::DeliveryQueue& delivery() { return *delivery_; }
  smtp::SessionConfig& session_config(SmtpPort port) {
    switch (port) {
      case SmtpPort::kMx:
        return session_config_;
      case SmtpPort::kLmtp:
        return lmtp_config_;
      case SmtpPort::kSubmission:
      case SmtpPort::kSubmissions:
        break;
    }
    return submission_config_;
  }
  engine::TlsContext* tls() const { return tls_; }
  // This core's relay, or null when relaying is off.
  relay::RelayService* relay() const {
    return ctx_.relays == nullptr ? nullptr : (*ctx_.relays)[loop_->id()];
  }
  uint64_t NextSessionId();
  // The mailbox an accepted recipient delivers to; an empty `domain` means
  // the bare <postmaster> of RFC 5321 §4.5.1.
  std::optional<Directory::Mailbox> ResolveRecipient(std::string_view local_part,
                                                     std::string_view domain) const;
  // The connection count a listener of `port` admits into.
  ConnectionLimits* LimitsFor(SmtpPort port) const;

 private:
  friend class SmtpConnection;
  void OnAccept(int fd, SmtpPort port);

  engine::Loop* loop_;
  SmtpContext ctx_;
  engine::TlsContext* tls_;
  smtp::SessionConfig session_config_;     // kMx
  smtp::SessionConfig submission_config_;  // kSubmission, kSubmissions
  smtp::SessionConfig lmtp_config_;        // kLmtp
  std::vector<std::unique_ptr<engine::Listener>> listeners_;
  std::unique_ptr<storage::DeliveryQueue> delivery_;
  engine::SessionRegistry<SmtpConnection> sessions_;
  std::optional<Directory::Mailbox> postmaster_;  // for RCPT TO:<Postmaster>
  // The loop's start time in microseconds, shifted: session ids stay unique
  // across restarts of the process without any stored counter.
  const uint64_t session_id_base_;
  uint64_t sessions_started_ = 0;
  absl::AnyInvocable<void()> shutdown_done_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_SMTP_SERVICE_H_
