// One POP3 connection: feeds input to ringmail::pop3::Session and serves
// its host requests (AuthService for passwords, the hand-over to the home
// core, the maildrop lock, and a Maildrop for content and UPDATE).
//
// Input that arrives while the protocol session waits for the host is kept
// (bounded: reading pauses above kMaxPendingInput) and offered again once
// the host answers. Host answers are delivered from callbacks, never from
// inside Session::Consume.
//
// RETR / TOP stream the message file: one chunk (kRetrChunkBytes) is read
// through the ring, encoded into the stream's output and flushed; the next
// is read only once the output has drained below kRetrMaxPendingOutput
// (OnOutputDrained), so a session holds about one chunk plus what the
// socket queues, whatever the message size.
#ifndef RINGMAIL_SERVER_POP3_POP3_SESSION_H_
#define RINGMAIL_SERVER_POP3_POP3_SESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/gate.h"
#include "engine/session_registry.h"
#include "engine/tcp.h"
#include "engine/tls.h"
#include "protocols/pop3/session.h"
#include "server/directory.h"
#include "server/pop3/maildrop.h"
#include "server/pop3/message_file.h"
#include "server/pop3/pop3_service.h"

namespace ringmail::server::pop3 {

class Pop3Session final : public engine::ConnectionHandler,
                          public ringmail::pop3::SessionHost {
 public:
  // Exactly one of `plain` (port 110, may upgrade with STLS) and `tls`
  // (implicit TLS, or a TLS session handed over) is non-null; neither has
  // been started. The session starts it and owns it until OnClosed.
  Pop3Session(Pop3Service* svc, engine::Connection* plain, engine::TlsStream* tls,
              Pop3Carry carry);
  ~Pop3Session() override;

  // A new connection: greeting, AUTHORIZATION state.
  void StartFresh();
  // On the home core, after the password was checked on another core:
  // locks and opens `user`'s maildrop, then answers the login.
  void StartHandedOver(const Directory::Mailbox& user, std::string unread);
  // Service shutdown: -ERR and close (no UPDATE).
  void Shutdown();

  // engine::ConnectionHandler
  void OnReceive(std::string_view data) override;
  void OnPeerClosed() override;
  void OnClosed() override;
  void OnOutputDrained() override;

  // ringmail::pop3::SessionHost
  void Login(std::string_view user, std::string password) override;
  void Retrieve(size_t index, bool retr) override;
  void Update(std::vector<size_t> deleted) override;

 private:
  void Pump();
  void AfterAnswer();  // output, more input, or close
  void LoggedIn(const Directory::Mailbox& mailbox);
  void OpenMaildrop(const Directory::Mailbox& mailbox);
  // RETR/TOP streaming: reads and encodes the next chunk when the output
  // has room; at the end marks a RETR seen and ends the response.
  void ContinueRetrieve();
  void FinishRetrieve();
  std::string& out() { return stream_->output(); }
  void StartStream();
  // The session accepted STLS: drop the `discarded` octets pipelined after
  // it (already removed from pending_) and switch the stream to TLS.
  void UpgradeToTls(size_t discarded);
  void CloseConnection();
  void ArmIdleTimer();
  void OnIdleTimer();
  absl::Duration Timeout() const;

  Pop3Service* svc_;
  engine::Connection* plain_;  // non-null while plaintext (STLS source)
  engine::TlsStream* tls_;     // non-null once TLS
  engine::Stream* stream_;     // the one in use
  Pop3Carry carry_;
  ringmail::pop3::Session session_;
  std::unique_ptr<Maildrop> maildrop_;
  std::string lock_key_;  // non-empty while this session holds the lock
  std::unique_ptr<MessageFile> retr_file_;  // RETR/TOP being streamed
  size_t retr_index_ = 0;
  bool retr_seen_ = false;  // RETR (not TOP): mark seen at the end

  std::string pending_;   // input not yet consumed
  bool in_consume_ = false;
  absl::Time last_activity_;  // Loop::steady_now() clock
  absl::Time connected_;      // same clock; pop3.login_timeout counts from it
  engine::Loop::TimerId idle_timer_ = 0;
  bool gone_ = false;     // the connection is closed or handed over
  bool closing_ = false;
  // Completions (auth, maildrop, file reads, timers) may arrive after the
  // session is deleted; each captures a token of this gate and touches
  // nothing once it reads closed. Closed first thing in the destructor.
  engine::Gate gate_;
  engine::SessionRegistry<Pop3Session>::Membership membership_;
};

}  // namespace ringmail::server::pop3

#endif  // RINGMAIL_SERVER_POP3_POP3_SESSION_H_
