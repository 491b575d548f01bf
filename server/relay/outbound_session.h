// One outbound SMTP connection of the relay, for one destination domain:
// MX plan -> addresses -> connect (next host on failure) -> SMTP client
// session -> as many queued messages as the destination's policy allows ->
// QUIT. Messages are read from the spool through the ring and streamed.
//
// Owned by the RelayService; it deletes itself after telling the service
// it is gone (RelayService::OnSessionGone).
#ifndef RINGMAIL_SERVER_RELAY_OUTBOUND_SESSION_H_
#define RINGMAIL_SERVER_RELAY_OUTBOUND_SESSION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/dns.h"
#include "engine/gate.h"
#include "engine/loop.h"
#include "engine/stream.h"
#include "engine/tcp.h"
#include "protocols/smtp/client_session.h"
#include "server/relay/mx_plan.h"
#include "server/relay/scheduler.h"

namespace ringmail::server::relay {

class RelayService;

class OutboundSession final : public engine::ConnectionHandler,
                              public smtp::ClientHost {
 public:
  OutboundSession(RelayService* svc, std::string domain);
  ~OutboundSession() override;
  OutboundSession(const OutboundSession&) = delete;
  OutboundSession& operator=(const OutboundSession&) = delete;

  // Resolves and connects; everything after happens in callbacks.
  void Start();
  // Service shutdown: QUIT when idle, cut off a transfer (it stays queued).
  void Shutdown();
  const std::string& domain() const { return domain_; }
  size_t index = 0;  // position in the service's session list

  // ---- engine::ConnectionHandler
  void OnReceive(std::string_view data) override;
  void OnPeerClosed() override;
  void OnClosed() override;

  // ---- smtp::ClientHost
  void OnReady() override;
  void OnStartTls() override;
  void OnWantBody() override;
  void OnMessageDone(absl::Span<const smtp::RecipientResult> results) override;
  void OnSessionFailed(const smtp::ServerReply& why, bool is_421) override;

 private:
  // One MX host and its addresses, tried in order.
  void TryNextHost();
  void TryNextAddress();
  void OnConnected(int fd);
  // Nothing worked before a session was ready: defer (or bounce) the
  // domain's ready mail with `why`.
  void GiveUp(const RecipientResult& why);
  void TakeNextJob();
  // Sends one queued message; true when it was refused locally and the
  // session is still ready for another.
  bool TakeOneJob();
  void LoadBody();
  void ReadMore();
  void OnBodyRead(int res, std::string_view data);
  void FinishJob(std::vector<RecipientResult> results);
  void ArmTimeout(absl::Duration d);
  void OnTimeout();
  void Flush();
  void Close();
  void Done();

  RelayService* svc_;
  const std::string domain_;
  MxPlan plan_;
  size_t host_index_ = 0;
  std::vector<engine::SocketAddress> addresses_;
  size_t address_index_ = 0;
  std::string current_host_;
  uint16_t port_ = 25;
  RecipientResult last_failure_;  // why the latest host did not work
  bool verify_peer_ = false;      // this destination's policy is "verify"
  std::string tls_failure_;       // the handshake's error on this host, if any

  engine::Connection* conn_ = nullptr;  // while plaintext
  engine::Stream* stream_ = nullptr;
  std::unique_ptr<smtp::ClientSession> client_;
  bool ever_ready_ = false;
  bool closing_ = false;
  bool shutdown_ = false;
  uint32_t sent_ = 0;

  // The message in transfer.
  std::optional<Job> job_;
  int body_fd_ = -1;
  uint64_t body_offset_ = 0;   // next file offset to read
  uint64_t body_end_ = 0;
  // Which message's body the reads in flight belong to: bumped when a job
  // ends, so a read that completes afterwards (its buffer is its own) is
  // dropped instead of landing in the next message.
  uint64_t body_generation_ = 0;
  bool body_wanted_ = false;   // the server said 354
  bool body_reading_ = false;
  bool body_eof_ = false;
  std::string body_pending_;   // read before the 354 arrived

  engine::Loop::TimerId timer_ = 0;
  engine::Loop::TimerId drain_timer_ = 0;
  // DNS answers, connects, queue-file reads and TLS handshakes may complete
  // after the session is deleted; their callbacks hold a token of this gate.
  engine::Gate gate_;
};

}  // namespace ringmail::server::relay

#endif  // RINGMAIL_SERVER_RELAY_OUTBOUND_SESSION_H_
