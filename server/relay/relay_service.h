// The outbound relay of one core: its queue (spool directory c<N>, state
// log, in-memory Scheduler), its SMTP client sessions, its DNS resolver and
// the bounces it generates. Shared-nothing like every other per-core
// service: a message accepted on core N is queued, sent and bounced by
// core N.
//
// Accepting: the SMTP service adds QueueTarget() to a message's delivery
// targets, so the queue file becomes durable in the same group commit as
// Maildir copies (before the 250), then calls Accepted() with its name.
//
// Everything runs on the core's thread.
#ifndef RINGMAIL_SERVER_RELAY_RELAY_SERVICE_H_
#define RINGMAIL_SERVER_RELAY_RELAY_SERVICE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "engine/dns.h"
#include "engine/loop.h"
#include "engine/tls.h"
#include "engine/tls_client.h"
#include "server/config.h"
#include "server/directory.h"
#include "server/relay/scheduler.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/mail_location.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/spool.h"
#include "storage/queue/state_log.h"

namespace ringmail::server::relay {

class OutboundSession;

// Read-only after start-up; shared by every core.
struct RelayContext {
  const Config* config = nullptr;
  const Directory* directory = nullptr;
  const storage::MailLocation* location = nullptr;
  // Called on this core once a bounce is durable in a local user's INBOX.
  std::function<void(engine::Loop* from, const Directory::Mailbox& user)>
      on_delivered;
};

class RelayService {
 public:
  // `delivery` is the core's delivery queue (queue files and local bounces
  // go through its group commit); it must outlive the service. `loaded` is
  // what storage::queue::LoadCoreSpool found for this core at start-up;
  // `log_file` the opened state log (owned from now on).
  RelayService(engine::Loop* loop, const RelayContext& ctx,
               storage::DeliveryQueue* delivery,
               std::vector<storage::queue::LoadedMessage> loaded,
               storage::queue::StateLogFile log_file);
  ~RelayService();
  RelayService(const RelayService&) = delete;
  RelayService& operator=(const RelayService&) = delete;

  // Starts the resolver and delivery of what was loaded. Fails only when
  // the resolver cannot be set up (then the core cannot relay).
  absl::Status Start();
  // Stops starting sessions, QUITs the open ones (a message in transfer is
  // cut off and stays queued), then calls `done` later.
  void Shutdown(absl::AnyInvocable<void()> done);

  // False when the queue cannot take mail (state log broken, shut down).
  bool accepting() const;
  // The delivery target that writes a queue file for `env`.
  storage::DeliveryTarget QueueTarget(const storage::queue::QueueEnvelope& env,
                                      std::string_view received_lf) const;
  // The queue file `file` (in new/) is durable: schedule it. `crlf_size`
  // is the message's size on the wire (0: unknown).
  void Accepted(std::string file, storage::queue::QueueEnvelope env,
                uint64_t crlf_size);
  // A fresh queue id (unique per process lifetime).
  std::string NewQueueId();

  // ---- administration (ringctl), on this core's thread.
  Scheduler& scheduler() { return scheduler_; }
  // Records `out` durably, then carries out its DSNs and removals.
  void Carry(Outcome out);
  // Makes due and kicks delivery (flush).
  void Kick();

  engine::Loop* loop() const { return loop_; }
  const RelayContext& ctx() const { return ctx_; }
  const std::string& spool_dir() const { return spool_dir_; }

 private:
  friend class OutboundSession;
  // Opens sessions for domains with ready work; re-arms the wake timer.
  void Dispatch();
  void ArmTimer(absl::Time when);
  void OnSessionGone(OutboundSession* s);
  // DSN for one request (read the original, build, deliver).
  void SendDsn(DsnRequest req, absl::AnyInvocable<void(bool ok)> done);
  void DeliverDsn(const Message& m, std::string dsn_text,
                  absl::AnyInvocable<void(bool ok)> done);
  // Appends `removed` for a finished message, then UnlinkRemoved.
  void RemoveFinished(uint64_t seq);
  // Once its `removed` record is durable: unlinks the file, forgets it.
  void UnlinkRemoved(uint64_t seq);
  // Rewrites the state log from the scheduler once it has grown enough.
  void MaybeCompact();
  void AppendRecords(std::vector<storage::queue::StateRecord> records,
                     absl::AnyInvocable<void(absl::Status)> durable);
  engine::TlsClientContext* tls_client() const { return tls_client_.get(); }
  engine::DnsResolver* resolver() const { return resolver_.get(); }

  engine::Loop* loop_;
  RelayContext ctx_;
  storage::DeliveryQueue* delivery_;
  const std::string spool_dir_;
  Scheduler scheduler_;
  std::unique_ptr<storage::queue::StateLog> log_;
  std::unique_ptr<engine::DnsResolver> resolver_;
  std::unique_ptr<engine::TlsClientContext> tls_client_;
  std::vector<storage::queue::LoadedMessage> pending_load_;
  std::vector<OutboundSession*> sessions_;
  // Files removed lately: their `removed` records survive compactions until
  // a journal checkpoint surely covers the unlink (journal replay could
  // otherwise bring a finished file back).
  std::deque<std::pair<absl::Time, std::string>> recently_removed_;
  engine::Loop::TimerId timer_ = 0;
  absl::Time timer_at_ = absl::InfiniteFuture();
  bool dispatching_ = false;
  bool shutting_down_ = false;
  absl::AnyInvocable<void()> shutdown_done_;
  uint64_t id_counter_ = 0;
  uint64_t id_base_ = 0;
  absl::BitGen random_;
};

}  // namespace ringmail::server::relay

#endif  // RINGMAIL_SERVER_RELAY_RELAY_SERVICE_H_
