// TLS over the ring: BoringSSL on in-memory I/O, ciphertext carried by an
// engine::Connection.
//
// TicketKeys   process-wide session-ticket keys (current + previous), shared
//              by every core so a ticket minted on one core resumes on any.
// TlsContext   one per core (never shared, so no locks): the SSL_CTX built
//              from the certificate chain and key files, ALPN list, ticket
//              keys. Reload() swaps in freshly read files for new sessions.
// TlsStream    a Stream whose bytes are TLS records on a Connection. It is
//              the Connection's handler and calls the session's handler with
//              plaintext. Implicit TLS: wrap a fresh Connection. STARTTLS:
//              StartTls() on a running one; as the client (the outbound
//              relay), TlsStream::StartClient() (engine/tls_client.h).
#ifndef RINGMAIL_ENGINE_TLS_H_
#define RINGMAIL_ENGINE_TLS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/loop.h"
#include "engine/stream.h"
#include "engine/tcp.h"

// BoringSSL types, forward-declared so users of this header need not see
// <openssl/ssl.h>.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace ringmail::engine {

class TlsClientContext;  // engine/tls_client.h
struct TlsClientParams;  // engine/tls_client.h

// Session-ticket encryption keys (RFC 5077 §4 layout: 16-byte name, AES-256
// key, HMAC-SHA256 key). A ticket is accepted while its key is current or
// previous, so a ticket lives between one and two rotation intervals.
//
// Readers (the cores' ticket callbacks, on every full handshake and every
// resumption) never block and never write shared memory: the keys sit
// behind a seqlock whose payload is atomic words. Why not an atomic
// shared_ptr swap: libstdc++'s std::atomic<std::shared_ptr> is not
// lock-free (it spins on a lock bit), and every reader would bump the same
// reference count, bouncing its cache line between cores. A rotation (one
// every few hours) makes concurrent readers retry a 160-byte copy once.
class TicketKeys {
 public:
  static constexpr size_t kNameLen = 16;
  static constexpr size_t kAesKeyLen = 32;
  static constexpr size_t kHmacKeyLen = 32;
  struct Key {
    uint8_t name[kNameLen];
    uint8_t aes[kAesKeyLen];
    uint8_t hmac[kHmacKeyLen];
  };
  struct Snapshot {
    Key current;
    Key previous;
    bool has_previous = false;
  };

  // Starts with a fresh random current key and no previous one.
  explicit TicketKeys(absl::Duration rotation_interval = absl::Hours(12));
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // Current becomes previous; a new random key becomes current. Any thread;
  // concurrent Rotate calls serialize on a writer-only mutex.
  void Rotate();
  // Rotates if `now` is at least one interval past the last rotation; the
  // owner of a timer (e.g. the main thread) calls this periodically.
  // Returns whether it rotated.
  bool RotateIfDue(absl::Time now);
  // A consistent copy of the keys. Lock-free; any thread.
  Snapshot Read() const;
  absl::Duration rotation_interval() const { return interval_; }

 private:
  static constexpr size_t kWords = (sizeof(Snapshot) + 7) / 8;
  void Publish(const Snapshot& s);  // writer, under mu_

  const absl::Duration interval_;
  std::mutex mu_;           // writers only
  absl::Time last_rotation_;  // guarded by mu_
  std::atomic<uint64_t> seq_{0};  // odd while a writer is publishing
  std::atomic<uint64_t> words_[kWords];
};

// Reads a PEM file of at most 1 MiB whole. NotFound or InvalidArgument with
// one line naming `what` and the file.
absl::StatusOr<std::string> ReadTlsPemFile(const std::string& path, std::string_view what);

struct TlsContextOptions {
  // PEM files: the certificate chain (leaf first) and its private key.
  std::string cert_chain_file;
  std::string key_file;
  // When set, the files' contents as read earlier (by a process that could
  // read them before it dropped root): Create uses these bytes instead of
  // opening the files; Reload always reads the files again.
  std::string cert_chain_pem;
  std::string key_pem;
  // ALPN protocol ids the server accepts, in preference order (RFC 7301).
  // Empty: ALPN is not negotiated. Non-empty: a client that offers ALPN but
  // none of these gets a fatal no_application_protocol alert (RFC 7301
  // §3.2), which also shuts out cross-protocol attacks (ALPACA).
  std::vector<std::string> alpn;
  // TLS 1.2 is allowed unless this is false (then TLS 1.3 only). Nothing
  // older is ever negotiated.
  bool allow_tls12 = true;
  // Session tickets for resumption; null disables resumption. Shared by the
  // contexts of all cores; must outlive them.
  std::shared_ptr<TicketKeys> ticket_keys;
  // A handshake not finished by then is abandoned (slow or idle clients).
  absl::Duration handshake_timeout = absl::Seconds(30);
};

class TlsContext {
 public:
  // Reads and checks the certificate chain and key. Errors are one line
  // naming the file: unreadable file, no PEM certificate/key in it, or a key
  // that does not match the certificate.
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(
      const TlsContextOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Re-reads the files (SIGHUP; as the process's current user, who may no
  // longer be allowed to read a key only root can). On success new handshakes use the new
  // certificate; sessions already open keep theirs (each SSL holds a
  // reference to the SSL_CTX it started with). On error nothing changes.
  absl::Status Reload();

  const TlsContextOptions& options() const { return options_; }
  // The SSL_CTX for the next handshake.
  ssl_ctx_st* ssl_ctx() const { return ctx_; }

 private:
  explicit TlsContext(const TlsContextOptions& options);
  static absl::StatusOr<ssl_ctx_st*> Build(const TlsContextOptions& options,
                                           const std::string* alpn_wire);

  TlsContextOptions options_;
  std::string alpn_wire_;  // length-prefixed list; the SSL_CTXs point here
  ssl_ctx_st* ctx_ = nullptr;
};

// A TLS session in transit between cores (TlsStream::Release → Adopt): the
// socket, the BoringSSL session and the ciphertext that arrived but was not
// yet decrypted. Plaintext the app had already received is the app's to
// carry. Owns what it holds: a hand-over that is dropped (the target core
// shut down) frees the SSL and closes the socket.
//
// An SSL object may move between threads as long as one thread uses it at a
// time (BoringSSL keeps no thread-affine state in it; the error queue is per
// thread and always cleared before use). The session keeps the SSL_CTX of
// the core that accepted it: SSL_CTX is reference counted, so it outlives
// that core's TlsContext (even a Reload), and every core's context is built
// from the same files and options, so it makes no difference to the peer.
// After the handshake the SSL_CTX is used for nothing the source core could
// change: handshake configuration is shed and renegotiation is refused.
struct TlsHandover {
  TlsHandover() = default;
  ~TlsHandover();
  TlsHandover(const TlsHandover&) = delete;
  TlsHandover& operator=(const TlsHandover&) = delete;

  int fd = -1;
  ssl_st* ssl = nullptr;
  SocketAddress peer;
  std::string ciphertext;  // received, not yet given to BoringSSL, in order
};

// A TLS stream over a Connection: the server side (constructor, StartTls)
// or the client side (StartClient). Lifetime: deletes itself when the
// Connection closes, just before calling the app's OnClosed. The app's
// handler gets only plaintext; it never sees the handshake.
//
// Failures never escalate: a failed handshake is logged ("tls: handshake
// with PEER failed: REASON") and the connection closed; the app then gets
// OnClosed (and no OnReceive); a client stream's handshake_done gets the
// reason first. Renegotiation is refused (BoringSSL servers reject any
// ClientHello after the handshake, BoringSSL clients any HelloRequest); a
// close_notify from the peer reaches the app as OnPeerClosed.
class TlsStream final : public Stream, public ConnectionHandler {
 public:
  // Implicit TLS (e.g. port 993/995/465): wraps `conn`, which must not have
  // been started. Call Start(app) to begin the handshake. (For an adopted
  // stream Start may call app->OnReceive before it returns.)
  TlsStream(Connection* conn, TlsContext* ctx);
  void Start(ConnectionHandler* app);

  // Continues a session released on another core (see Release), on `loop`
  // (the calling thread's). Call Start(app) next: it decrypts what came
  // with the hand-over and then reads the socket. Never null; if the
  // hand-over is unusable the stream closes and the app gets OnClosed.
  static TlsStream* Adopt(Loop* loop, std::unique_ptr<TlsHandover> handover);

  // Hands the session over (usually to another core) without ending it:
  // encrypts and sends what the app queued, stops reading, then calls
  // `done` with the socket, the SSL and the ciphertext not yet decrypted.
  // Only after the handshake (asserted) and not while closing. The app gets
  // no further calls, and this stream is destroyed before `done` runs. If
  // the connection fails first, `done` is dropped and the app is not called
  // either (it let go of the session when it called Release).
  // Server streams only (asserted): a client stream's session cache entry
  // belongs to its core.
  using ReleaseFn = absl::AnyInvocable<void(std::unique_ptr<TlsHandover>)>;
  void Release(ReleaseFn done);

  // STARTTLS as the client (RFC 3207 §4; the outbound relay): upgrades the
  // running plaintext `conn` in place after the server's "220 Ready to start
  // TLS" and sends the ClientHello. Returns the stream the session uses from
  // now on (never null); `app` (usually the Connection's current handler)
  // gets all later callbacks. See engine/tls_client.h for `params` and for
  // what `handshake_done` gets when.
  using HandshakeFn = absl::AnyInvocable<void(absl::Status)>;
  static TlsStream* StartClient(Connection* conn, TlsClientContext* ctx,
                                const TlsClientParams& params,
                                ConnectionHandler* app,
                                HandshakeFn handshake_done);

  // --- Stream
  std::string& output() override { return out_; }
  void Flush() override;
  size_t pending_output() const override;
  void PauseReading() override;
  void ResumeReading() override;
  void Close() override;
  void Abort() override;
  Loop* loop() const override { return loop_; }
  const SocketAddress& peer() const override { return peer_; }
  bool is_tls() const override { return true; }

  // After the handshake: the negotiated version ("TLSv1.3"), cipher, ALPN
  // protocol ("" if none), and whether the session was resumed.
  bool handshake_done() const { return handshake_done_; }
  std::string version() const;
  std::string cipher() const;
  std::string alpn() const;
  bool session_reused() const;
  // Client streams: whether the server's certificate chained to a trust
  // anchor of the TlsClientContext and matched the server name. Also
  // computed when verification was not required (opportunistic TLS), for
  // logs and Received headers. False on server streams (no client
  // certificates are requested).
  bool peer_verified() const;
  // Why the certificate did not verify ("hostname mismatch", "self signed
  // certificate", ...); "" when peer_verified().
  std::string verify_error() const;
  // Client streams: the server name as given (trailing dot removed).
  const std::string& server_name() const { return server_name_; }

  // --- ConnectionHandler (the Connection's callbacks; not for the app)
  void OnReceive(std::string_view data) override;
  void OnPeerClosed() override;
  void OnClosed() override;
  // The Connection sent everything: tells the app when no plaintext is
  // waiting either (after the handshake, not while closing or released).
  void OnOutputDrained() override;

 private:
  friend TlsStream* StartTls(Connection*, TlsContext*, ConnectionHandler*,
                             size_t);
  friend struct TlsBio;
  // A fresh session (owning `ssl`, which may be null: Start/StartTls/
  // StartClient then abort the connection) in server or client state.
  TlsStream(Connection* conn, ssl_st* ssl, bool client,
            absl::Duration handshake_timeout);
  TlsStream(Connection* conn, ssl_st* adopted);  // Adopt
  ~TlsStream() override;

  // Feeds in_, then held_, to BoringSSL until it needs more ciphertext, the
  // app pauses, or the stream ends; keeps what is left in held_.
  void Pump();
  void ProcessInput();   // the handshake, then SSL_read → app OnReceive
  bool DoHandshake();    // false: not finished (or failed)
  void EncryptOutput();  // out_ → SSL_write → conn_->output()
  void Fail(int ssl_ret);  // logs, closes; the app gets OnClosed
  void OnHandshakeTimeout();
  // Client: records why the handshake did not finish (first reason wins);
  // OnClosed hands it to handshake_done.
  void SetHandshakeError(absl::Status status);
  std::string PeerName() const;  // "mx.example.com [192.0.2.1:25]" / "192.0.2.1:25"
  int BioRead(char* buf, int len);
  int BioWrite(const char* buf, int len);

  Connection* conn_;
  Loop* loop_;
  SocketAddress peer_;
  ssl_st* ssl_ = nullptr;
  ConnectionHandler* app_ = nullptr;
  std::string out_;        // plaintext from the app, not yet encrypted
  std::string_view in_;    // ciphertext being fed to BoringSSL
  std::string held_;       // ciphertext received while the app is paused
  Loop::TimerId handshake_timer_ = 0;
  bool handshake_done_ = false;
  bool app_paused_ = false;
  bool in_pump_ = false;
  bool closing_ = false;      // Close/Abort called, or failed
  bool shutdown_sent_ = false;
  bool peer_closed_ = false;  // close_notify or TCP EOF
  bool released_ = false;     // Release called: no more app callbacks
  // Client side only.
  bool client_ = false;
  std::string server_name_;
  HandshakeFn handshake_cb_;       // pending until the handshake ends
  absl::Status handshake_error_;   // why it did not finish, once known
};

// STARTTLS: upgrades a running plaintext `conn` in place and returns the
// stream the session must use from now on; `app` (usually the same session
// object that was the Connection's handler) receives all later callbacks.
//
// Call it right after queueing the positive reply ("220 Ready to start
// TLS", "OK Begin TLS"), in the same callback that parsed the command and
// before returning to the loop: the reply already in conn->output() goes
// out in the clear, every later byte is TLS.
//
// Command injection (CVE-2011-0411): any plaintext the client sent after the
// STARTTLS command line was sent before the reply, so it was not protected
// by TLS; it MUST be discarded, never processed after the handshake. The
// caller drops what it has buffered and passes its length as
// `discarded_plaintext`; StartTls drops what the Connection holds itself and
// logs a warning naming the peer when anything was discarded.
TlsStream* StartTls(Connection* conn, TlsContext* ctx, ConnectionHandler* app,
                    size_t discarded_plaintext);

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_TLS_H_
