// One outbound SMTP client session (RFC 5321 client side, with PIPELINING
// RFC 2920, SIZE RFC 1870, 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, STARTTLS
// RFC 3207, DSN RFC 3461 and ENHANCEDSTATUSCODES RFC 2034). Pure protocol
// logic: server bytes in, client bytes out, calls to a ClientHost. No I/O,
// no clocks: the host owns the socket, TLS and timers.
//
// Flow: greeting -> EHLO (HELO when EHLO gets a 5xx) -> STARTTLS per
// policy -> EHLO again under TLS -> OnReady. Then per message: SendMessage
// -> MAIL, RCPT..., DATA (one write with PIPELINING, else lockstep) ->
// OnWantBody -> BodyChunk... EndBody -> OnMessageDone -> OnReady, and so on
// for more messages on the same connection; Quit when done.
//
// Failures: a session that can go no further (421, a bad greeting, TLS
// policy, protocol error, lost connection, timeout) first reports the
// message in flight, if any, through OnMessageDone (recipients without a
// final answer are deferred with the reason), then calls OnSessionFailed
// once, and is closed(). A session failure is never a reason to bounce: the
// host tries the next MX or defers. After a callback the host flushes
// `out` (it may end with a polite QUIT) and, once closed(), drops the
// connection.
//
// Ownership and re-entrancy: the session does not own the host, which must
// outlive it. Callbacks run inside Consume / TlsStarted / SendMessage /
// OnDisconnect / OnTimeout; from a callback the host may call SendMessage,
// Quit, BodyChunk and EndBody (appending to the same output buffer it
// passes to Consume, so bytes stay in order) but must not call Consume or
// destroy the session.
#ifndef RINGMAIL_PROTOCOLS_SMTP_CLIENT_SESSION_H_
#define RINGMAIL_PROTOCOLS_SMTP_CLIENT_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "protocols/smtp/client_body.h"
#include "protocols/smtp/client_command.h"
#include "protocols/smtp/client_reply.h"

namespace ringmail::smtp {

// Recipients per SendMessage. Those beyond are deferred locally ("452 4.5.3
// Too many recipients"), so the host should batch at most this many.
// RFC 5321 §4.5.3.1.8 only promises 100 per transaction; servers that
// accept fewer answer 452 themselves, which defers the rest the same way.
inline constexpr size_t kMaxRecipientsPerMessage = 1000;

enum class TlsPolicy : uint8_t {
  kNone,           // never STARTTLS
  kOpportunistic,  // STARTTLS when offered; plaintext when not, or on 454
  kRequired,       // no TLS -> session failure ("530 5.7.10", synthetic)
};

struct ClientConfig {
  std::string helo_name;  // our FQDN for EHLO/HELO; no CR/LF/SP
  TlsPolicy tls = TlsPolicy::kOpportunistic;
  bool tls_available = true;  // the host can do TLS (has a TLS context)
};

enum class RecipientOutcome : uint8_t {
  kDelivered,  // 2xx to the end of data
  kDeferred,   // 4xx, or the session ended before a final answer
  kFailed,     // 5xx (from the server, or a local refusal: see SendMessage)
};

struct RecipientResult {
  RecipientOutcome outcome = RecipientOutcome::kDeferred;
  ServerReply reply;  // the reply that decided the outcome
};

class ClientHost {
 public:
  virtual ~ClientHost() = default;
  // The session can take a message: call SendMessage (or Quit), now or
  // later. Called after the handshake and after every message ended by the
  // server (not after a local refusal inside SendMessage: ready() is then
  // still true and OnReady is not repeated).
  virtual void OnReady() = 0;
  // The server said 220 to STARTTLS: switch the stream to TLS (the host
  // must not pass any more plaintext to Consume), then call TlsStarted.
  virtual void OnStartTls() = 0;
  // The server said 354: stream the message with BodyChunk... then EndBody.
  virtual void OnWantBody() = 0;
  // One result per SendMessage recipient, in envelope order; the span is
  // valid during the call only. When the session can take the next
  // message, OnReady follows (after an RSET round trip if the transaction
  // was aborted), so send the next message from OnReady, not from here.
  virtual void OnMessageDone(absl::Span<const RecipientResult> results) = 0;
  // The session is over (closed() is true); nothing follows. is_421: the
  // server itself said 421 (it is shutting down or throttling us: back off
  // this destination). `why` may be synthetic (why.synthetic).
  virtual void OnSessionFailed(const ServerReply& why, bool is_421) = 0;
};

class ClientSession {
 public:
  // `host` must outlive the session. Nothing is sent until the greeting.
  ClientSession(const ClientConfig& config, ClientHost* host);
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Server bytes, any chunking; appends client bytes to *out. Replies that
  // arrive when none is due, malformed replies, and a reply that arrives
  // together with (so before) the reply that made us send the next command
  // in lockstep are protocol errors: the session fails ("451 4.5.0",
  // synthetic). A 421 at any point ends the session with is_421. Input
  // after closed() is ignored.
  void Consume(std::string_view in, std::string* out);

  // After OnStartTls: the TLS handshake succeeded. RFC 3207 §4.2: the
  // capabilities learnt in plaintext are forgotten and EHLO is sent again.
  // (A failed handshake: the host calls OnDisconnect.)
  void TlsStarted(std::string* out);

  // Starts one transaction. Only when ready(); otherwise every recipient is
  // deferred at once ("451 4.3.0", synthetic). Refused locally, before
  // anything is sent, with OnMessageDone called before SendMessage returns
  // and the session still ready():
  //  - size > the server's non-zero SIZE limit: every recipient fails with
  //    "552 5.3.4 Message size exceeds fixed limit of the remote server";
  //  - smtputf8 and the server lacks SMTPUTF8: every recipient fails with
  //    "553 5.6.7" (RFC 6531 §3.2; as Postfix does);
  //  - mail_from cannot be written as a path: all fail "501 5.1.7";
  //  - every recipient refused locally (below).
  // Per recipient: an address that cannot be written as a path fails
  // ("501 5.1.3"); beyond kMaxRecipientsPerMessage it is deferred. An 8-bit
  // body to a server without 8BITMIME is sent anyway (Postfix's default:
  // refusing would bounce mail that almost every server accepts).
  // Returns true when the transaction went on the wire (OnMessageDone comes
  // later), false when it was already reported: while ready() stays true
  // the host should offer its next message (a loop, not a recursion).
  bool SendMessage(const OutboundEnvelope& env, std::string* out);

  // Body streaming after OnWantBody: LF-terminated stored bytes, any
  // chunking (see BodyEncoder); EndBody appends <CRLF>.<CRLF>. Ignored once
  // closed() (the message has then been reported already).
  void BodyChunk(std::string_view lf_bytes, std::string* out);
  void EndBody(std::string* out);

  // When ready(): sends QUIT; the session closes on the reply (or on
  // disconnect) without further callbacks. In any other open state the
  // host is giving up (e.g. shutting down): nothing is sent, a message in
  // flight is reported deferred ("451 4.3.2", synthetic), and the session
  // closes without OnSessionFailed.
  void Quit(std::string* out);

  // The connection is gone (or TLS failed). Unless closed or quitting:
  // recipients in flight are deferred with "451 4.4.2 Connection lost
  // while ..." and OnSessionFailed follows.
  void OnDisconnect();
  // The host's timer for the current step expired: like OnDisconnect with
  // "451 4.4.2 Timed out while ...". The host then closes the connection.
  void OnTimeout();

  bool ready() const { return phase_ == Phase::kReady; }
  bool closed() const { return phase_ == Phase::kClosed; }
  // Body streaming is expected (between OnWantBody and EndBody).
  bool want_body() const { return phase_ == Phase::kBody; }
  const ServerCapabilities& capabilities() const { return caps_; }
  bool tls_active() const { return tls_active_; }
  // Transactions put on the wire (MAIL sent), for connection reuse limits.
  size_t messages_sent() const { return messages_sent_; }

 private:
  // What the next server reply answers (or, for kTlsHandshake, kReady and
  // kBody, that none is due). See kPhaseInfo in client_session.cc.
  enum class Phase : uint8_t {
    kGreeting,
    kEhlo,
    kHelo,
    kStartTls,
    kTlsHandshake,
    kReady,
    kMail,
    kRcpt,
    kData,
    kBody,
    kDot,
    kAbortDot,
    kRset,
    kQuit,
    kClosed,
  };
  // Per recipient progress within a transaction.
  enum class RcptState : uint8_t { kWaiting, kAccepted, kFinal };

  void HandleReply(const ServerReply& reply, std::string* out);
  void OnGreeting(const ServerReply& reply, std::string* out);
  void OnEhlo(const ServerReply& reply, std::string* out);
  void OnHelo(const ServerReply& reply, std::string* out);
  void OnStartTlsReply(const ServerReply& reply, std::string* out);
  void OnMailReply(const ServerReply& reply, std::string* out);
  void OnRcptReply(const ServerReply& reply, std::string* out);
  void OnDataReply(const ServerReply& reply, std::string* out);
  void OnDotReply(const ServerReply& reply, std::string* out);
  void OnRsetReply(const ServerReply& reply, std::string* out);

  void SendEhlo(std::string* out);
  // The (E)HLO handshake is done: STARTTLS if the policy says so, else
  // ready (or a failure under TlsPolicy::kRequired).
  void AfterHandshake(std::string* out);
  void BecomeReady();
  // Lockstep: sends the next line of lockstep_rcpts_.
  void SendNextRcpt(std::string* out);
  // Gives every recipient without a final outcome (`outcome`, `reply`).
  void SettleOpen(const ServerReply& reply, RecipientOutcome outcome);
  // The transaction is over: report it; then RSET if `rset` (the server
  // may still hold envelope state), else become ready.
  void FinishMessage(bool rset, std::string* out);
  // A local refusal of a whole message inside SendMessage.
  void RefuseAll(size_t n, const ServerReply& why);
  void ReportLocally(std::vector<RecipientResult> results);
  // Ends the session: settles and reports any transaction (deferred),
  // closes, then OnSessionFailed. `quit`: append QUIT first (the server is
  // in step with us and `out` is not null).
  void Fail(const ServerReply& why, bool quit, std::string* out);
  // Disconnect / timeout: "451 4.4.2 <prefix><what we were doing>".
  void EndAbruptly(std::string_view prefix);
  void UnexpectedReply(const ServerReply& reply);
  // Fails the session with "451 4.5.0 Remote protocol error: ...".
  void ProtocolError(std::string_view what);
  // Appends a command and counts it (see the lockstep check in Consume).
  void Send(std::string_view line, std::string* out);

  ClientConfig config_;
  ClientHost* host_;
  ReplyParser parser_;
  BodyEncoder body_;
  ServerCapabilities caps_;
  Phase phase_ = Phase::kGreeting;
  bool tls_active_ = false;
  size_t messages_sent_ = 0;
  uint64_t commands_sent_ = 0;  // bumps on every write; see Consume

  // The transaction in flight (valid from SendMessage to FinishMessage).
  bool in_transaction_ = false;
  bool pipelined_ = false;
  bool mail_ok_ = false;
  bool input_left_ = false;  // Consume holds input after the current reply
  std::vector<RecipientResult> results_;
  std::vector<RecipientResult> reported_;  // results_'s buffer, swapped
  std::vector<RcptState> rcpt_state_;
  std::vector<uint32_t> wire_rcpts_;  // results_ index of each RCPT sent
  std::string lockstep_rcpts_;  // lockstep: RCPT lines yet to send, CRLF-ended
  size_t lockstep_pos_ = 0;     // next line in lockstep_rcpts_
  size_t next_reply_ = 0;  // index into wire_rcpts_ of the next RCPT reply
  size_t accepted_ = 0;    // RCPTs that got 2xx
};

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_CLIENT_SESSION_H_
