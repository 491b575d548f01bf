// One POP3 server session (RFC 1939, CAPA RFC 2449, SASL PLAIN RFC 5034,
// response codes RFC 3206). Pure protocol logic: bytes in, responses out,
// and requests to a SessionHost for what needs the outside world (password
// checks and the maildrop lock, message content, the UPDATE deletions).
// No I/O, no threads, no clocks.
//
// The maildrop listing is fixed at login (RFC 1939 §5: message numbers and
// sizes do not change during the session), so STAT, LIST, UIDL, DELE and
// RSET are answered here without the host. A host request puts the session
// in waiting(); Consume then takes no input until the host answers with the
// matching *Done call (which may happen inside the request).
//
// RETR and TOP stream: the host opens the message and answers with
// RetrieveStarted (the status line goes out), then hands over the stored
// message in chunks of any size with RetrieveData, then RetrieveEnd. The
// session encodes each chunk at once (MessageEncoder; nothing is kept
// here) and stays waiting() until RetrieveEnd, so pipelined commands are
// not parsed in the middle of the response.
//
// Ownership: the host must outlive the session.
#ifndef RINGMAIL_PROTOCOLS_POP3_SESSION_H_
#define RINGMAIL_PROTOCOLS_POP3_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/pop3/args.h"
#include "protocols/pop3/command_reader.h"
#include "protocols/pop3/limits.h"
#include "protocols/pop3/message_encoder.h"

namespace ringmail::pop3 {

struct SessionLimits {
  uint32_t max_errors = kDefaultMaxErrors;
  uint32_t max_auth_failures = kDefaultMaxAuthFailures;
};

// One message of the maildrop as the session shows it.
struct MaildropEntry {
  uint64_t size = 0;   // octets with CRLF line ends (RFC 1939 §5 LIST)
  std::string uidl;    // RFC 1939 §7 unique-id
};

enum class LoginResult {
  kOk,              // authenticated, maildrop locked and listed
  kBadCredentials,  // -ERR [AUTH]; counts towards max_auth_failures
  kTempFail,        // -ERR [SYS/TEMP] (password check unavailable)
  kInUse,           // -ERR [IN-USE]: another POP3 session holds the lock
  kMaildropFailed,  // -ERR [SYS/TEMP]: the maildrop could not be opened
};

enum class RetrieveStatus { kOk, kVanished, kFailed };

// What the connection offers; the host sets it (and the session updates it
// when STLS succeeds).
struct SessionSecurity {
  bool tls_available = false;  // a certificate is configured
  bool tls_active = false;     // this connection is encrypted
  // USER/PASS and AUTH PLAIN over this connection without TLS (e.g. on
  // loopback). With TLS active they are always allowed.
  bool plaintext_auth_allowed = true;
};

class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // Check the credentials, then lock and list the maildrop. Answer with
  // Session::LoginDone. `password` is the host's to wipe.
  virtual void Login(std::string_view user, std::string password) = 0;
  // Open message `index` (0-based, in the listing) for reading. `retr` is
  // true for RETR (the host marks the message seen once all of it was
  // given to the session), false for TOP. Answer with
  // Session::RetrieveStarted; after kOk, feed the stored content with
  // RetrieveData (stop early when it returns false) and end with
  // RetrieveEnd, or RetrieveAborted if reading fails half-way.
  // Session::RetrieveDone does all of it for content already in memory.
  virtual void Retrieve(size_t index, bool retr) = 0;
  // QUIT in TRANSACTION with messages marked: delete them (0-based,
  // ascending; never empty). Answer with Session::UpdateDone.
  virtual void Update(std::vector<size_t> deleted) = 0;
};

// What survives a hand-over to another core between the password check
// and the maildrop lock.
struct SessionCarry {
  uint32_t errors = 0;
  uint32_t auth_failures = 0;
};

class Session {
 public:
  Session(const SessionLimits& limits, SessionHost* host)
      : limits_(limits), host_(host) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Appends the greeting.
  void Start(std::string* out);
  // A session continued on another core while its Login is answered there:
  // no greeting; waiting() until LoginDone.
  void ResumeLogin(const SessionCarry& carry);
  SessionCarry carry() const { return {errors_, auth_failures_}; }
  void set_security(const SessionSecurity& s) { security_ = s; }
  const SessionSecurity& security() const { return security_; }

  // STLS (RFC 2595 §4). After a Consume that accepted STLS,
  // tls_requested() is true: "+OK Begin TLS negotiation" is in `out`,
  // Consume has stopped right after the command line and takes nothing
  // more. The host sends the reply, DISCARDS every input octet after the
  // command (they were sent in the clear before the handshake, and must not
  // be run inside TLS: CVE-2011-0411), starts TLS and calls TlsStarted().
  bool tls_requested() const { return mode_ == Mode::kStartTls; }
  void TlsStarted();

  // Consumes input and appends responses. Returns the octets of `in`
  // consumed: all of them, except that it stops right after a command that
  // made the session wait (the caller offers the rest again after the
  // *Done call) and consumes nothing once closed(). `in` need only stay
  // valid during the call.
  size_t Consume(std::string_view in, std::string* out);

  // Host answers. Each is ignored unless the session waits for it.
  void LoginDone(LoginResult result, std::vector<MaildropEntry> maildrop,
                 std::string* out);
  // Streaming RETR/TOP (see SessionHost::Retrieve). RetrieveStarted: for
  // kOk appends the status line ("+OK <listed size> octets" for RETR, as
  // LIST showed it; "+OK" for TOP) and the session starts streaming;
  // otherwise appends -ERR and the wait ends.
  void RetrieveStarted(RetrieveStatus status, std::string* out);
  // The next stored octets, in order (`chunk` need only stay valid during
  // the call): LF becomes CRLF, leading dots are stuffed. Returns false once
  // no more input is wanted (TOP has sent its last line, or not streaming):
  // the host stops reading and calls RetrieveEnd.
  bool RetrieveData(std::string_view chunk, std::string* out);
  // The message is complete: ends the last line, appends ".\r\n"; the wait
  // ends (a pending shutdown closes now).
  void RetrieveEnd(std::string* out);
  // Reading failed after the status line went out: a -ERR cannot follow
  // part of a multi-line response, so the session closes without another
  // octet (the client sees the connection drop before the terminator).
  void RetrieveAborted();
  // All of the above for content in memory: RetrieveStarted, then for kOk
  // RetrieveData(content) and RetrieveEnd.
  void RetrieveDone(RetrieveStatus status, std::string_view content,
                    std::string* out);
  // Between an accepted RetrieveStarted and RetrieveEnd/RetrieveAborted.
  bool streaming() const { return streaming_; }
  // `failed` messages could not be removed.
  void UpdateDone(size_t failed, std::string* out);

  // -ERR and close, without UPDATE (RFC 1939 §3: the autologout timer
  // must not cause deletions). While streaming, closes without output (as
  // RetrieveAborted).
  void OnIdleTimeout(std::string* out);
  // -ERR and close; while waiting, after the pending answer.
  void OnShutdown(std::string* out);
  // The connection is gone: close; nothing is deleted.
  void OnDisconnect();

  bool closed() const { return mode_ == Mode::kClosed; }
  bool waiting() const { return mode_ == Mode::kWaiting; }
  bool authenticated() const { return state_ != State::kAuthorization; }
  uint32_t error_count() const { return errors_; }
  // True when the client is in the middle of a line (for idle handling).
  bool mid_line() const { return reader_.mid_line(); }

 private:
  enum class Mode : uint8_t { kCommand, kAuthResponse, kWaiting, kStartTls, kClosed };
  enum class State : uint8_t { kAuthorization, kTransaction, kUpdate };
  enum class Wait : uint8_t { kNone, kLogin, kRetr, kTop, kUpdate };

  void HandleLine(std::string_view line, std::string* out);
  void HandleAuthResponse(std::string_view line, std::string* out);
  void Dispatch(const CommandLine& cmd, std::string* out);
  void DoPass(const CommandLine& cmd, std::string* out);
  void DoAuth(const CommandLine& cmd, std::string* out);
  void DoPlain(std::string_view base64, std::string* out);
  void DoQuit(std::string* out);
  void DoStls(std::string* out);
  // False (and -ERR [AUTH] sent) when plaintext authentication is not
  // allowed on this connection now.
  bool PlaintextAuthOk(std::string* out);
  void DoStat(std::string* out);
  void DoList(const CommandLine& cmd, bool uidl, std::string* out);
  void DoRetr(const CommandLine& cmd, bool top, std::string* out);
  void DoDele(const CommandLine& cmd, std::string* out);
  void DoRset(std::string* out);
  // Resolves a message-number argument to a 0-based index of a message not
  // marked deleted; answers -ERR and returns false otherwise.
  bool ResolveMessage(std::string_view arg, size_t* index, std::string* out);
  void StartLogin(std::string_view user, std::string password);
  void Fail(std::string_view code, std::string_view text, std::string* out);
  void Close(std::string_view code, std::string_view text, std::string* out);
  void Wait(enum Wait w);
  void AfterWait(std::string* out);

  SessionLimits limits_;
  SessionHost* host_;
  SessionSecurity security_;
  LineReader reader_;
  Mode mode_ = Mode::kCommand;
  State state_ = State::kAuthorization;
  enum Wait wait_ = Wait::kNone;
  bool shutdown_pending_ = false;
  uint32_t errors_ = 0;
  uint32_t auth_failures_ = 0;
  std::string user_;  // from USER, for PASS

  std::vector<MaildropEntry> maildrop_;
  std::vector<bool> deleted_;
  size_t deleted_count_ = 0;
  size_t retr_index_ = 0;   // RETR/TOP in progress
  uint64_t top_lines_ = 0;
  bool streaming_ = false;  // RETR/TOP body being fed (RetrieveData)
  MessageEncoder encoder_;  // its state across chunks
};

}  // namespace ringmail::pop3

#endif  // RINGMAIL_PROTOCOLS_POP3_SESSION_H_
