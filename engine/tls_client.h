// TLS as the client: STARTTLS for the outbound relay (RFC 3207 §4 from the
// client's side; RFC 7435 opportunistic security).
//
// TlsClientContext  one per core (never shared, so no locks): the client
//                   SSL_CTX (TLS 1.2+), the trust anchors for verified
//                   handshakes, and a bounded cache of sessions for
//                   resumption keyed by destination.
// TlsClientParams   per connection: the MX host name (SNI, name check,
//                   cache key) and whether the certificate must verify.
// TlsStream::StartClient (engine/tls.h) upgrades a plaintext Connection.
//
// Verification policy. Opportunistic STARTTLS (verify_peer = false) encrypts
// without authenticating, as MTAs do (RFC 7435 §1.3: an unauthenticated
// encrypted session beats cleartext); the chain and name are still checked
// and the outcome reported (TlsStream::peer_verified / verify_error) for
// logs and Received headers. verify_peer = true ("required+verify" policies,
// e.g. MTA-STS RFC 8461 §4.2): the chain must lead to a trust anchor and the
// certificate must name the MX host (RFC 6125 via X509_VERIFY_PARAM), or the
// handshake fails.
#ifndef RINGMAIL_ENGINE_TLS_CLIENT_H_
#define RINGMAIL_ENGINE_TLS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/tls.h"

struct ssl_session_st;

namespace ringmail::engine {

struct TlsClientOptions {
  // Trust anchors for verify_peer handshakes (and for the peer_verified
  // report of opportunistic ones). `ca_file`: a PEM bundle, read once by
  // Create (Debian: /etc/ssl/certs/ca-certificates.crt). `ca_dir`: an
  // OpenSSL hashed directory (/etc/ssl/certs), searched during each
  // verification, i.e. small blocking reads on the core: prefer ca_file.
  // Both empty: no trust anchors; verify_peer handshakes then fail at once
  // (FailedPrecondition) and no certificate counts as verified.
  std::string ca_file;
  std::string ca_dir;
  // TLS 1.2 is allowed unless this is false (then TLS 1.3 only). Nothing
  // older is ever offered.
  bool allow_tls12 = true;
  // A handshake not finished by then fails with DeadlineExceeded.
  absl::Duration handshake_timeout = absl::Seconds(60);
  // Sessions kept for resumption, at most one per destination (server name,
  // port, verification mode); each holds the server's certificate chain
  // (a few KB). 0 disables resumption.
  size_t max_cached_sessions = 512;
};

// Per-connection parameters of StartClient.
struct TlsClientParams {
  // The MX host name as found in DNS (one trailing dot is ignored), or an IP
  // address (no brackets) for a domain-literal destination. Sent as SNI
  // (never for an IP address: RFC 6066 §3), checked against the certificate
  // (DNS name, or IP address), and part of the session cache key.
  std::string server_name;
  // See the policy note at the top of this file.
  bool verify_peer = false;
  // As for StartTls: plaintext the caller had buffered after the server's
  // "220" reply. It was not protected by TLS (a man in the middle may have
  // injected it, cf. CVE-2011-0411) and is dropped; StartClient drops what
  // the Connection holds itself and logs a warning if anything was dropped.
  size_t discarded_plaintext = 0;
};

// What handshake_done gets (StartClient calls it exactly once, never before
// it returns, and before any other call to `app`):
//   OK                 handshake finished; the app may write (RFC 3207 §4.2:
//                      forget what the server said before, send EHLO again).
//                      The stream is usable during and after the call.
//   PermissionDenied   verify_peer and the certificate did not verify
//                      (message ends "certificate not verified: REASON").
//   Unavailable        the server refused or broke the handshake, closed the
//                      connection, or the connection failed.
//   DeadlineExceeded   options.handshake_timeout passed.
//   FailedPrecondition verify_peer but the context has no trust anchors.
//   InvalidArgument    server_name is empty, too long or not a host name.
//   Cancelled          the app closed the stream during the handshake.
//   ResourceExhausted  out of memory creating the session.
// On an error it runs from the stream's OnClosed, right before app->OnClosed,
// when the stream and the Connection are already destroyed: it must not use
// them. (The relay then defers, or retries without TLS, per its policy.)

class TlsClientContext {
 public:
  // Builds the SSL_CTX and loads the trust anchors. Errors are one line
  // naming the file: unreadable, not a directory, or no certificate in it.
  static absl::StatusOr<std::unique_ptr<TlsClientContext>> Create(
      const TlsClientOptions& options);
  // Streams already started keep the SSL_CTX alive (reference counted) but
  // stop caching sessions.
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  const TlsClientOptions& options() const { return options_; }
  bool has_trust_anchors() const {
    return !options_.ca_file.empty() || !options_.ca_dir.empty();
  }
  size_t cached_sessions() const { return sessions_.size(); }
  ssl_ctx_st* ssl_ctx() const { return ctx_; }

 private:
  friend class TlsStream;  // StartClient calls NewSsl
  struct SessionFree {
    void operator()(ssl_session_st* s) const;
  };
  using SessionPtr = std::unique_ptr<ssl_session_st, SessionFree>;

  explicit TlsClientContext(const TlsClientOptions& options);
  // A client SSL set up for `p` (SNI, name check, verify mode, a cached
  // session to resume); `port` is the destination's, for the cache key.
  // InvalidArgument for a bad server name, FailedPrecondition for
  // verify_peer without trust anchors, ResourceExhausted.
  absl::StatusOr<ssl_st*> NewSsl(const TlsClientParams& p,
                                 std::string_view name, uint16_t port);
  // BoringSSL's new-session callback (TLS 1.2: end of the handshake;
  // TLS 1.3: each NewSessionTicket after it). Runs on the owning core.
  static int OnNewSession(ssl_st* ssl, ssl_session_st* session);
  void Store(const std::string& key, ssl_session_st* session);

  TlsClientOptions options_;
  ssl_ctx_st* ctx_ = nullptr;
  // Destination key → newest session; bounded by max_cached_sessions.
  absl::flat_hash_map<std::string, SessionPtr> sessions_;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_TLS_CLIENT_H_
