// TlsClientContext, the per-destination session cache, and the client half
// of TlsStream (StartClient and the verification report). The record and
// handshake pumping is shared with the server side in tls_stream.cc.
#include "engine/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "engine/tls_error.h"

namespace ringmail::engine {
namespace {

// RFC 1035 §2.3.4: 255 octets on the wire, 253 as text without the root dot.
constexpr size_t kMaxHostNameLen = 253;
// Certificates above the leaf in a chain we accept (verification depth).
constexpr int kMaxVerifyDepth = 10;

bool IsIpLiteral(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1 || inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// Letters, digits, '-', '_' (seen in real MX names), dots between labels.
bool IsHostName(std::string_view s) {
  if (s.empty() || s.size() > kMaxHostNameLen || s.front() == '.' || s.back() == '.') {
    return false;
  }
  char prev = 0;
  for (char c : s) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
              (c == '.' && prev != '.');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

// For logs and messages: a name that failed IsHostName may hold anything.
std::string Printable(std::string_view s) {
  return absl::CHexEscape(absl::string_view(s.data(), std::min(s.size(), kMaxHostNameLen)));
}

// The SSL's session cache key, owned by the SSL (freed with it).
int KeyIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<std::string*>(ptr);
      });
  return index;
}

}  // namespace

void TlsClientContext::SessionFree::operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }

TlsClientContext::TlsClientContext(const TlsClientOptions& options) : options_(options) {}

TlsClientContext::~TlsClientContext() {
  // SSLs still running hold the SSL_CTX; their new sessions go nowhere.
  SSL_CTX_set_app_data(ctx_, nullptr);
  SSL_CTX_free(ctx_);
}

absl::StatusOr<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(
    const TlsClientOptions& o) {
  struct stat st;
  if (!o.ca_file.empty() && stat(o.ca_file.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrCat("tls: cannot read CA file ", o.ca_file, ": ", std::strerror(errno)));
  }
  if (!o.ca_dir.empty()) {
    if (stat(o.ca_dir.c_str(), &st) != 0) {
      return absl::NotFoundError(absl::StrCat("tls: cannot read CA directory ", o.ca_dir,
                                              ": ", std::strerror(errno)));
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls: CA directory ", o.ca_dir, " is not a directory"));
    }
  }
  if (KeyIndex() < 0) return absl::ResourceExhaustedError("tls: SSL_get_ex_new_index failed");

  std::unique_ptr<TlsClientContext> c(new TlsClientContext(o));
  ERR_clear_error();
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX* ctx = c->ctx_;
  if (ctx == nullptr) return absl::ResourceExhaustedError("tls: SSL_CTX_new failed");
  if (!SSL_CTX_set_min_proto_version(ctx, o.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) ||
      !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
    return absl::InternalError(absl::StrCat("tls: cannot set versions (", TakeTlsErrorReason(), ")"));
  }
  if (c->has_trust_anchors()) {
    const char* file = o.ca_file.empty() ? nullptr : o.ca_file.c_str();
    const char* dir = o.ca_dir.empty() ? nullptr : o.ca_dir.c_str();
    if (!SSL_CTX_load_verify_locations(ctx, file, dir)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tls: no usable CA certificate in ", file != nullptr ? o.ca_file : o.ca_dir, " (",
          TakeTlsErrorReason(), ")"));
    }
  }
  SSL_CTX_set_verify_depth(ctx, kMaxVerifyDepth);
  SSL_CTX_set_app_data(ctx, c.get());
  if (o.max_cached_sessions > 0) {
    // External cache only: BoringSSL's internal one would be unbounded per
    // SSL_CTX and keyed by session id, not by destination.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, OnNewSession);
  }
  // As on the server side: out_ may reallocate between SSL_write retries.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return c;
}

absl::StatusOr<SSL*> TlsClientContext::NewSsl(const TlsClientParams& p, std::string_view name,
                                              uint16_t port) {
  std::string host(name);
  bool ip = IsIpLiteral(host);
  if (!ip && !IsHostName(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls: '", Printable(p.server_name), "' is not a host name or IP address"));
  }
  if (p.verify_peer && !has_trust_anchors()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tls: cannot verify ", host, ": no trust anchors configured (CA file or directory)"));
  }
  ERR_clear_error();
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx_));
  if (!ssl) return absl::ResourceExhaustedError("tls: SSL_new failed");
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
  bool ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
               : (X509_VERIFY_PARAM_set1_host(param, host.data(), host.size()) &&
                  SSL_set_tlsext_host_name(ssl.get(), host.c_str()));
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls: cannot use server name ", host, " (", TakeTlsErrorReason(), ")"));
  }
  // SSL_VERIFY_NONE still runs the verification and keeps its result (see
  // peer_verified); it only makes a failure non-fatal.
  SSL_set_verify(ssl.get(), p.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);

  if (options_.max_cached_sessions > 0) {
    // The mode is part of the key: a session set up without verification
    // must never stand in for a verified one (resumption skips the check).
    std::string key = host;
    for (char& ch : key) ch = absl::ascii_tolower(static_cast<unsigned char>(ch));
    absl::StrAppend(&key, ":", port, p.verify_peer ? "/verify" : "/opportunistic");
    auto it = sessions_.find(key);
    if (it != sessions_.end()) {
      SSL_set_session(ssl.get(), it->second.get());  // takes its own reference
      // RFC 8446 appendix C.4: a TLS 1.3 ticket used twice links the two
      // connections for an observer. The server sends fresh ones.
      if (SSL_SESSION_should_be_single_use(it->second.get())) sessions_.erase(it);
    }
    auto* owned = new std::string(std::move(key));
    if (!SSL_set_ex_data(ssl.get(), KeyIndex(), owned)) {
      delete owned;  // no caching for this one; harmless
      ERR_clear_error();
    }
  }
  return ssl.release();
}

int TlsClientContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsClientContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, KeyIndex()));
  if (self == nullptr || key == nullptr || !SSL_SESSION_is_resumable(session)) return 0;
  self->Store(*key, session);
  return 1;  // the cache owns the reference now
}

void TlsClientContext::Store(const std::string& key, SSL_SESSION* session) {
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    it->second.reset(session);  // the newest ticket replaces the older one
    return;
  }
  if (sessions_.size() >= options_.max_cached_sessions) {
    // Any victim will do: a miss costs one full handshake.
    sessions_.erase(sessions_.begin());
  }
  sessions_.emplace(key, SessionPtr(session));
}

// ---------------------------------------------------------------- TlsStream

TlsStream* TlsStream::StartClient(Connection* conn, TlsClientContext* ctx,
                                  const TlsClientParams& params, ConnectionHandler* app,
                                  HandshakeFn handshake_done) {
  std::string_view name = params.server_name;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  absl::StatusOr<SSL*> ssl = ctx->NewSsl(params, name, conn->peer().port());
  auto* t = new TlsStream(conn, ssl.ok() ? *ssl : nullptr, /*client=*/true,
                          ctx->options().handshake_timeout);
  t->app_ = app;
  t->handshake_cb_ = std::move(handshake_done);
  t->server_name_ = Printable(name);  // the name itself when it is valid
  size_t dropped = conn->SwitchHandler(t) + params.discarded_plaintext;
  if (dropped > 0) {
    // The client-side twin of CVE-2011-0411: bytes after the 220 reply were
    // not protected and must not be read as the server's TLS-era replies.
    LOG_WARNING("tls: discarded ", dropped, " bytes that ", t->PeerName(),
                " sent after its STARTTLS reply before the handshake");
  }
  if (!ssl.ok() || t->ssl_ == nullptr) {
    absl::Status why = ssl.ok() ? absl::ResourceExhaustedError("tls: out of memory")
                                : ssl.status();
    LOG_WARNING("tls: cannot start a handshake with ", t->PeerName(), ": ", why.message());
    t->SetHandshakeError(std::move(why));
    t->closing_ = true;
    conn->Abort();  // OnClosed (from the ring, later) reports it
    return t;
  }
  conn->ResumeReading();  // the glue may have paused; the handshake must read
  t->Pump();  // writes the ClientHello and flushes it
  return t;
}

bool TlsStream::peer_verified() const {
  return handshake_done_ && ssl_ != nullptr && SSL_get_verify_result(ssl_) == X509_V_OK &&
         SSL_get0_peer_certificates(ssl_) != nullptr;
}

std::string TlsStream::verify_error() const {
  if (ssl_ == nullptr) return "no session";
  if (SSL_get0_peer_certificates(ssl_) == nullptr) return "no certificate";
  long r = SSL_get_verify_result(ssl_);
  if (r == X509_V_OK) return "";
  return TlsReasonText(X509_verify_cert_error_string(r));
}

}  // namespace ringmail::engine
