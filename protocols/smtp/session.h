// One SMTP server session (RFC 5321, with PIPELINING RFC 2920, SIZE RFC 1870,
// 8BITMIME RFC 6152, ENHANCEDSTATUSCODES RFC 2034, SMTPUTF8 RFC 6531 and
// CHUNKING RFC 3030, STARTTLS RFC 3207, AUTH PLAIN/LOGIN RFC 4954, DSN
// parameters RFC 3461 (accepted and handed to the host), the
// submission rules of RFC 6409 §4, §6.1 and §8), or LMTP (RFC 2033).
// Pure protocol logic: bytes in, reply bytes out, and calls to a
// SessionHost for recipient checks and message storage. No I/O, no
// threads, no clocks other than the injected one.
//
// Ownership: the Session does not own the host or the sinks; the host must
// outlive the session. A BodySink returned by BeginMessage is used until the
// session calls EndMessage or AbortMessage, never afterwards.
#ifndef RINGMAIL_PROTOCOLS_SMTP_SESSION_H_
#define RINGMAIL_PROTOCOLS_SMTP_SESSION_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "protocols/smtp/command_parser.h"
#include "protocols/smtp/data_scanner.h"
#include "protocols/smtp/header_block.h"

namespace ringmail::smtp {

struct SessionLimits {
  size_t max_message_size = 50 << 20;  // advertised in EHLO SIZE; CRLF octets
  size_t max_recipients = 1000;        // beyond -> 452 4.5.3
  size_t max_errors = 20;              // beyond -> 421 4.7.0, close
  size_t max_text_line = kDefaultMaxTextLine;  // body line limit incl. CRLF
};

struct SessionConfig {
  std::string hostname;
  SessionLimits limits;
  // STARTTLS can be offered: the server has a certificate. It is advertised
  // only while the connection is not yet TLS.
  bool starttls_available = false;
  // AUTH PLAIN LOGIN can be offered. It is advertised (and accepted) only
  // where plaintext mechanisms are allowed: see Transport.
  bool auth_available = false;
  // Submission (RFC 6409 §4.1, RFC 8314 §3.3): MAIL needs a successful AUTH
  // first (530 5.7.0).
  bool auth_required = false;
  // LMTP (RFC 2033) instead of SMTP: LHLO replaces HELO/EHLO (500), and
  // after the data every accepted recipient gets its own reply, in RCPT
  // order (§4.2).
  bool lmtp = false;
  // RFC 6409 §6.1: an authenticated client may only use its own address
  // (the login, domain compared case-insensitively) or <> in MAIL FROM,
  // unless this is set. Else 553 5.7.1.
  bool allow_any_sender = false;
  // RFC 6409 §8.1/§8.2: add "Date:" and "Message-ID:" to a message whose
  // header lacks them. The header block (up to the first empty line, at
  // most HeaderBlock::kMaxHeaderBlock octets) is held in the session and
  // reaches the sink after the added fields; a longer header is passed on
  // unchanged.
  bool add_missing_headers = false;
};

// What carries the session; the host sets it (SetTransport) before Start.
struct Transport {
  bool tls = false;  // implicit TLS (port 465); STARTTLS sets it later
  // PLAIN/LOGIN may run without TLS (a loopback client, or the
  // auth.allow_plaintext_off_tls policy). Under TLS they always may.
  bool plaintext_auth_ok = false;
};

enum class RecipientVerdict {
  kAccept,
  kUnknownUser,
  kRelayDenied,       // 550 5.7.1 Relay access denied (unauthenticated)
  kRelayUnavailable,  // 550 5.7.1 Relay not available yet (authenticated)
  kTempFail,
  kMailboxFull,  // 452 4.2.2 Mailbox full (over quota; RFC 3463 X.2.2)
  kPending,      // the host answers later with Session::RecipientDone
};

// What became of a committed message for one recipient (MessageDone).
enum class DeliveryOutcome : uint8_t {
  kDelivered,      // 250 2.0.0
  kMailboxFull,    // 452 4.2.2: it does not fit the quota now
  kQuotaExceeded,  // 552 5.2.2: it is larger than the whole quota
  kTempFail,       // 451 4.3.0: not durable (queue file write error)
};

// An AUTH exchange, complete, for the host to verify. Views are valid only
// during SessionHost::Authenticate; the password is wiped right after it.
struct AuthRequest {
  std::string_view mechanism;  // "PLAIN" or "LOGIN"
  std::string_view user;       // authentication identity (authcid)
  std::string_view password;
};

// The host's verdict on an AuthRequest.
enum class AuthOutcome {
  kOk,              // 235 2.7.0
  kBadCredentials,  // 535 5.7.8 (counts as a session error)
  kTempFail,        // 454 4.7.0, e.g. the helper pool is saturated
  kBlocked,         // 421 4.7.0 and close: too many failures from this IP
};

// RFC 3461 DSN parameters of one RCPT.
struct RecipientDsn {
  std::string notify;  // "NEVER" or e.g. "SUCCESS,DELAY" (upper case), or ""
  std::string orcpt;   // ORCPT as received ("rfc822;xtext"), or ""
};

// Valid only during SessionHost::BeginMessage; copy what you keep.
struct Envelope {
  std::string_view helo;
  std::string_view client_ip;
  std::string_view mail_from;  // canonical "local@domain", "" for <>
  // Canonical "local@domain_lower" (local part unquoted), or "postmaster".
  absl::Span<const std::string> recipients;
  bool smtputf8 = false;
  bool eight_bit = false;  // BODY=8BITMIME (or SMTPUTF8)
  std::string_view queue_id;
  std::string_view auth_user;  // AUTH identity, "" when not authenticated
  // Full "Received: ..." field incl. trailing LF, to be stored in front of
  // the body (RFC 5321 §4.4). The session does NOT write it to the sink.
  std::string_view received_header;
  // RFC 3461 (DSN): RET as "FULL"/"HDRS" or ""; ENVID as received (xtext)
  // or ""; per recipient NOTIFY and ORCPT, parallel to `recipients`.
  std::string_view dsn_ret;
  std::string_view dsn_envid;
  absl::Span<const RecipientDsn> recipient_dsn;
};

// Implemented by the storage side; the session writes body bytes straight
// into it (LF line endings, dot-unstuffed).
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Returns writable space of at least min_bytes (min_bytes >= 1). The span
  // stays valid until the next Reserve/Commit.
  virtual absl::Span<char> Reserve(size_t min_bytes) = 0;
  // The first `bytes` octets of the last reserved span now hold body data.
  virtual void Commit(size_t bytes) = 0;
};

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // domain_lower is empty for RCPT TO:<postmaster> (local_part "postmaster").
  // kPending: the host calls Session::RecipientDone later, never from
  // inside this call; meanwhile waiting() is true and Consume takes nothing.
  virtual RecipientVerdict CheckRecipient(std::string_view local_part,
                                          std::string_view domain_lower) = 0;
  // Starts storing a message. nullptr -> the session replies 451 4.3.0.
  virtual BodySink* BeginMessage(const Envelope& env) = 0;
  // The body is complete and acceptable; crlf_size is its size with CRLF line
  // endings. The host makes it durable and then calls Session::MessageDone
  // (possibly from inside this call).
  virtual void EndMessage(uint64_t crlf_size) = 0;
  // Discard the in-progress message (too big, bad octets, RSET/EHLO/QUIT
  // during BDAT, timeout, shutdown, disconnect).
  virtual void AbortMessage() = 0;
  // Verifies AUTH credentials; answer with Session::AuthDone, now (from
  // inside this call) or later. Meanwhile waiting() is true. Only called
  // when SessionConfig::auth_available, so other hosts need not override.
  virtual void Authenticate(const AuthRequest& request) {
    static_cast<void>(request);
  }
};

class Session {
 public:
  // `session_id` must be unique per server process lifetime (e.g. a counter
  // mixed with random bits): queue ids are derived from it. `clock` supplies
  // the time for Received headers. host must outlive the session.
  Session(const SessionConfig& config, SessionHost* host,
          std::string_view client_ip, uint64_t session_id,
          absl::AnyInvocable<absl::Time()> clock);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Before Start: what carries the session (TLS, plaintext AUTH allowed).
  void SetTransport(const Transport& t) { transport_ = t; }

  // Appends the 220 greeting.
  void Start(std::string* out);

  // Consumes client input and appends replies to *out. Returns the octets of
  // `in` consumed: all of them, except that it stops right after an
  // end-of-message while waiting() (the caller re-offers the rest after
  // MessageDone) and consumes nothing once closed(). `in` need only stay
  // valid during the call.
  size_t Consume(std::string_view in, std::string* out);

  // Result of the host's EndMessage: "250 2.0.0 Ok: queued as <id>" or
  // "451 4.3.0 Error: queue file write error". LMTP: one such reply per
  // accepted recipient ("250 2.0.0 <rcpt> Ok" / "451 4.3.0 <rcpt> ..."):
  // the message is committed as a whole, so all share the outcome.
  // Ignored unless waiting().
  void MessageDone(bool durable, std::string* out);
  // The same with an outcome that may be a quota refusal: the reply (SMTP)
  // or every recipient's (LMTP), e.g. "452 4.2.2 Mailbox full".
  void MessageDone(DeliveryOutcome outcome, std::string* out);
  // Each recipient's own outcome, asked for every accepted RCPT (canonical
  // address as in Envelope::recipients) in order: LMTP replies once per
  // recipient (RFC 2033 §4.2); SMTP replies once, with the worst outcome
  // (kTempFail, then kQuotaExceeded, then kMailboxFull).
  void MessageDone(
      absl::FunctionRef<DeliveryOutcome(std::string_view rcpt)> outcome_of,
      std::string* out);

  // Answer to a kPending CheckRecipient (ignored unless rcpt_pending());
  // `verdict` must not be kPending.
  void RecipientDone(RecipientVerdict verdict, std::string* out);

  // Answer to SessionHost::Authenticate (ignored unless auth_pending()).
  void AuthDone(AuthOutcome outcome, std::string* out);

  // STARTTLS was accepted ("220 2.0.0 Ready to start TLS" is in the
  // output): Consume stopped right after the command line. The host must
  // DISCARD all input after it (CVE-2011-0411: it was sent in the clear
  // before the handshake) and start TLS, then call TlsStarted().
  bool tls_requested() const { return mode_ == Mode::kStartTls; }
  // The stream is TLS now. RFC 3207 §4.2: everything learnt from the client
  // is forgotten (HELO, AUTH, transaction); it must send EHLO again.
  void TlsStarted();

  // 421 4.4.2 and close; aborts any in-progress message.
  void OnIdleTimeout(std::string* out);
  // 421 4.3.2 and close; while waiting() the 421 follows MessageDone's reply.
  void OnShutdown(std::string* out);
  // The connection is gone: abort any in-progress message, close, no reply.
  void OnDisconnect();

  bool closed() const { return mode_ == Mode::kClosed; }
  // Waiting for the host (MessageDone, AuthDone or RecipientDone): Consume
  // takes nothing.
  bool waiting() const {
    return mode_ == Mode::kWaiting || mode_ == Mode::kAuthWait ||
           mode_ == Mode::kRcptWait;
  }
  bool auth_pending() const { return mode_ == Mode::kAuthWait; }
  bool rcpt_pending() const { return mode_ == Mode::kRcptWait; }
  bool authenticated() const { return authenticated_; }
  const std::string& auth_user() const { return auth_user_; }
  const Transport& transport() const { return transport_; }
  bool in_data() const {
    return mode_ == Mode::kData || mode_ == Mode::kBdatChunk;
  }
  size_t error_count() const { return errors_; }

 private:
  enum class Mode : uint8_t {
    kCommand, kData, kBdatChunk, kWaiting, kClosed,
    kSaslResponse,  // reading a client response to our 334 challenge
    kAuthWait,      // credentials handed to the host; AuthDone pending
    kStartTls,      // 220 sent; the host switches to TLS
    kRcptWait,      // CheckRecipient said kPending; RecipientDone pending
  };
  enum class SaslStep : uint8_t { kPlain, kLoginUser, kLoginPassword };
  enum class Phase : uint8_t { kConnected, kIdle, kMail, kRcpt, kBdat };

  // session_commands.cc
  void HandleLine(std::string_view line, std::string* out);
  void SequenceError(const CommandSpec& spec, std::string* out);
  void DoHelo(const CommandLine& cmd, std::string* out);
  void DoMail(const CommandLine& cmd, std::string* out);
  void DoRcpt(const CommandLine& cmd, std::string* out);
  // The reply to RCPT for rcpt_, given the host's verdict.
  void AnswerRcpt(RecipientVerdict verdict, std::string* out);
  void DoData(std::string* out);
  void DoBdat(const CommandLine& cmd, std::string* out);

  // session_auth.cc
  void DoStartTls(std::string* out);
  void DoAuth(const CommandLine& cmd, std::string* out);
  void HandleSaslResponse(std::string_view line, std::string* out);
  // One step of PLAIN/LOGIN on decoded client data.
  void SaslStepWith(std::string* decoded, std::string* out);
  void SubmitAuth(std::string_view user, std::string_view password,
                  std::string* out);
  void EndSasl();  // wipes SASL buffers
  bool PlaintextAuthOk() const {
    return transport_.tls || transport_.plaintext_auth_ok;
  }

  // session.cc
  void Reply(std::string_view text, std::string* out);
  void Fail(std::string_view text, std::string* out);  // reply + count error
  void CountError(std::string* out);  // 421 and close past max_errors
  void Close(std::string_view text, std::string* out);
  bool BeginMessage();
  void AbortMessage();
  void ResetTransaction();
  size_t FeedBody(std::string_view in, std::string* out);
  void FinishBody(bool last, std::string* out);
  // The reply refusing the body just received, or "" when it is fine.
  std::string_view BodyError() const;
  // Writes `data` to the sink (or, while the header is held, to header_).
  void Emit(std::string_view data);
  // The held header is complete: writes the missing fields, then it.
  void FlushHeader();
  // RFC 6409 §6.1: `addr` is the authenticated user's own address.
  bool OwnsSender(std::string_view canonical) const;

  SessionConfig config_;
  SessionHost* host_;
  std::string client_ip_;
  uint64_t session_id_;
  absl::AnyInvocable<absl::Time()> clock_;

  Mode mode_ = Mode::kCommand;
  Phase phase_ = Phase::kConnected;
  bool esmtp_ = false;
  bool shutdown_pending_ = false;
  size_t errors_ = 0;
  uint32_t message_count_ = 0;
  std::string helo_;

  // Security state (STARTTLS resets all but transport_).
  Transport transport_;
  bool authenticated_ = false;
  std::string auth_user_;
  SaslStep sasl_step_ = SaslStep::kPlain;
  std::string sasl_user_;  // LOGIN: the user between the two challenges
  std::string pending_auth_user_;  // while kAuthWait

  // Transaction.
  std::string mail_from_;
  std::vector<std::string> recipients_;
  std::vector<RecipientDsn> recipient_dsn_;  // parallel to recipients_
  std::string dsn_ret_;
  std::string dsn_envid_;
  bool smtputf8_ = false;
  bool eight_bit_ = false;
  std::string queue_id_;
  std::string received_;

  // Body streaming.
  LineReader reader_;
  DataScanner scanner_;
  BodySink* sink_ = nullptr;     // non-null between BeginMessage and End/Abort
  bool oversize_ = false;        // over max_message_size: discarding
  uint64_t body_bytes_ = 0;      // LF-form octets produced (and added)
  uint64_t added_newlines_ = 0;  // lines of fields the session added
  bool header_held_ = false;     // add_missing_headers: header_ collecting
  HeaderBlock header_;
  // The recipients of the message being committed, for MessageDone (the
  // per-recipient replies of LMTP; the worst outcome of SMTP).
  std::vector<std::string> lmtp_rcpts_;
  // The RCPT being checked (and answered by AnswerRcpt).
  struct PendingRcpt {
    std::string wire;       // as the client wrote it, for replies
    std::string canonical;  // for recipients_
    RecipientDsn dsn;
  };
  PendingRcpt rcpt_;
  uint64_t bdat_remaining_ = 0;  // octets left in the current BDAT chunk
  uint64_t bdat_chunk_ = 0;      // size of the current chunk, for the reply
  bool bdat_last_ = false;
  // A rejected BDAT's chunk is skipped, then this reply is sent.
  std::string_view bdat_skip_reply_;
  std::array<char, 4096> scratch_;  // scanner output while discarding
};

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_SESSION_H_
