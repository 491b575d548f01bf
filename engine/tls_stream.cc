// TlsStream: BoringSSL on a custom in-memory BIO whose reads come from the
// ciphertext the Connection just received and whose writes append straight
// to the Connection's output. Compared with a BIO_s_mem pair this saves a
// copy per direction and holds no buffer while idle (a mem BIO keeps its
// high-water capacity for the life of the connection).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "engine/tls_error.h"
#include "engine/tls.h"

namespace ringmail::engine {
namespace {

// One maximal TLS record of plaintext per SSL_read / SSL_write.
constexpr size_t kRecordPlaintext = 16384;
// Keep an idle stream's buffers small (as Connection does).
constexpr size_t kMaxIdleCapacity = 4096;

std::string Reason(SSL* ssl, int ret) {
  int err = SSL_get_error(ssl, ret);
  uint32_t e = ERR_get_error();
  ERR_clear_error();
  if (e != 0) return TlsReasonText(ERR_reason_error_string(e));
  if (err == SSL_ERROR_SYSCALL) return "unexpected end of stream";
  return absl::StrCat("ssl error ", err);
}

}  // namespace

// The BIO glue; a friend of TlsStream.
struct TlsBio {
  static int Read(BIO* b, char* buf, int len) {
    return static_cast<TlsStream*>(BIO_get_data(b))->BioRead(buf, len);
  }
  static int Write(BIO* b, const char* buf, int len) {
    return static_cast<TlsStream*>(BIO_get_data(b))->BioWrite(buf, len);
  }
  static long Ctrl(BIO* b, int cmd, long num, void* ptr) {
    // BoringSSL flushes after each handshake flight; the bytes are already
    // in the Connection's output, sent when TlsStream calls Flush().
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }
  static const BIO_METHOD* Method() {
    static const BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                   "ringmail connection");
      BIO_meth_set_read(m, Read);
      BIO_meth_set_write(m, Write);
      BIO_meth_set_ctrl(m, Ctrl);
      return m;
    }();
    return method;
  }
};

int TlsStream::BioRead(char* buf, int len) {
  BIO* b = SSL_get_rbio(ssl_);
  BIO_clear_retry_flags(b);
  if (in_.empty()) {
    BIO_set_retry_read(b);  // "need more", not EOF
    return -1;
  }
  size_t n = std::min(in_.size(), static_cast<size_t>(len));
  std::memcpy(buf, in_.data(), n);
  in_.remove_prefix(n);
  return static_cast<int>(n);
}

int TlsStream::BioWrite(const char* buf, int len) {
  BIO_clear_retry_flags(SSL_get_wbio(ssl_));
  conn_->output().append(buf, len);
  return len;
}

TlsStream::TlsStream(Connection* conn, TlsContext* ctx)
    : TlsStream(conn, SSL_new(ctx->ssl_ctx()), /*client=*/false,
                ctx->options().handshake_timeout) {}

TlsStream::TlsStream(Connection* conn, SSL* ssl, bool client,
                     absl::Duration handshake_timeout)
    : conn_(conn), loop_(conn->loop()), peer_(conn->peer()), ssl_(ssl), client_(client) {
  if (ssl_ == nullptr) return;  // Start/StartTls/StartClient abort the connection
  BIO* bio = BIO_new(TlsBio::Method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);  // one reference, used both ways
  if (client) {
    SSL_set_connect_state(ssl_);
  } else {
    SSL_set_accept_state(ssl_);
  }
  // Drop certificate/ALPN/verification configuration once the handshake is
  // done: less memory per idle session (renegotiation, which would need it,
  // is refused on both sides).
  SSL_set_shed_handshake_config(ssl_, 1);
  handshake_timer_ = loop_->AddTimer(handshake_timeout, [this] { OnHandshakeTimeout(); });
}

TlsHandover::~TlsHandover() {
  SSL_free(ssl);
  if (fd >= 0) close(fd);
}

TlsStream::TlsStream(Connection* conn, SSL* adopted)
    : conn_(conn), loop_(conn->loop()), peer_(conn->peer()), ssl_(adopted) {
  handshake_done_ = true;  // only finished sessions are released
  // The BIO is the SSL's; re-point it from the released stream to this one.
  if (ssl_ != nullptr) BIO_set_data(SSL_get_rbio(ssl_), this);
}

TlsStream* TlsStream::Adopt(Loop* loop, std::unique_ptr<TlsHandover> handover) {
  auto* conn = new Connection(loop, handover->fd);
  handover->fd = -1;
  auto* t = new TlsStream(conn, handover->ssl);
  handover->ssl = nullptr;
  t->held_ = std::move(handover->ciphertext);
  return t;
}

void TlsStream::Release(ReleaseFn done) {
  assert(handshake_done_ && !closing_ && !released_ && !client_);
  app_ = nullptr;  // from here on the app is gone, whatever happens
  EncryptOutput();  // what the app queued goes out from this core
  if (closing_) return;  // the write failed: the connection is closing
  released_ = true;
  closing_ = true;  // every Stream call from here on is a no-op
  // Outside Pump in_ is empty; inside it, Pump moves the rest of in_ to the
  // front of held_ when it sees released_. Either way held_ is complete by
  // the time `done` runs (deferred by the Connection, never re-entrant).
  conn_->Release([this, done = std::move(done)](int fd, std::string unread) mutable {
    auto h = std::make_unique<TlsHandover>();
    h->fd = fd;
    h->ssl = ssl_;
    h->peer = peer_;
    h->ciphertext = std::move(held_);
    h->ciphertext += unread;  // received after held_, still undecrypted
    BIO_set_data(SSL_get_rbio(ssl_), nullptr);
    ssl_ = nullptr;
    conn_ = nullptr;  // already destroyed by the Connection
    delete this;
    done(std::move(h));
  });
}

TlsStream::~TlsStream() {
  loop_->CancelTimer(handshake_timer_);
  SSL_free(ssl_);  // also frees the BIO
}

void TlsStream::Start(ConnectionHandler* app) {
  app_ = app;
  conn_->Start(this);
  if (ssl_ == nullptr) {
    LOG_ERROR("tls: cannot create a session for ", peer_.ToString(), ": out of memory");
    closing_ = true;
    conn_->Abort();
    return;
  }
  // Adopted: decrypt what came along (held_, and records BoringSSL itself
  // had buffered) before anything new from the socket.
  if (handshake_done_) Pump();
}

TlsStream* StartTls(Connection* conn, TlsContext* ctx, ConnectionHandler* app,
                    size_t discarded_plaintext) {
  auto* t = new TlsStream(conn, ctx);
  t->app_ = app;
  size_t dropped = conn->SwitchHandler(t) + discarded_plaintext;
  if (dropped > 0) {
    // RFC 3207 §4.2 / CVE-2011-0411: bytes pipelined after STARTTLS were
    // sent in the clear and must not be executed inside the TLS session.
    LOG_WARNING("tls: discarded ", dropped, " bytes that ", t->peer_.ToString(),
                " sent after STARTTLS before the handshake");
  }
  conn->Flush();  // the plaintext reply goes out first
  if (t->ssl_ == nullptr) {
    LOG_ERROR("tls: cannot create a session for ", t->peer_.ToString(), ": out of memory");
    t->closing_ = true;
    conn->Abort();
    return t;
  }
  conn->ResumeReading();  // the glue may have paused; the handshake must read
  return t;
}

// ---------------------------------------------------------------- input

void TlsStream::OnReceive(std::string_view data) {
  if (released_ || closing_ || peer_closed_) return;
  if (in_pump_ || !held_.empty()) {
    // Re-entered (the app resumed reading from inside its OnReceive, and the
    // Connection delivered what it held) or behind older bytes: keep order.
    held_.append(data);
    if (!in_pump_) Pump();
    return;
  }
  in_ = data;  // fast path: decrypt straight from the provided buffer
  Pump();
}

void TlsStream::Pump() {
  if (in_pump_) return;  // the running Pump picks up held_
  in_pump_ = true;
  std::string chunk;
  for (;;) {
    if (in_.empty() && !held_.empty() && !app_paused_) {
      chunk.swap(held_);
      held_.clear();
      in_ = chunk;
    }
    ProcessInput();
    if (released_) {
      // The app released the session from its OnReceive: the ciphertext
      // not yet decrypted travels with it, oldest first.
      held_.insert(0, in_.data(), in_.size());
      break;
    }
    if (closing_ || peer_closed_) {
      held_.clear();  // nothing after close_notify or a fatal error counts
      break;
    }
    if (app_paused_ && !in_.empty()) {
      held_.insert(0, in_.data(), in_.size());
      break;
    }
    if (held_.empty() || app_paused_) break;
  }
  in_ = {};
  in_pump_ = false;
  if (held_.empty() && held_.capacity() > kMaxIdleCapacity) held_.shrink_to_fit();
  if (!closing_) conn_->Flush();  // handshake flights, alerts, TLS 1.3 tickets
}

void TlsStream::ProcessInput() {
  char buf[kRecordPlaintext];
  while (!closing_ && !peer_closed_ && !released_) {
    if (!handshake_done_) {
      if (!DoHandshake()) return;
      continue;
    }
    if (app_paused_) return;
    ERR_clear_error();
    int n = SSL_read(ssl_, buf, sizeof(buf));
    if (n > 0) {
      app_->OnReceive(std::string_view(buf, n));
      continue;
    }
    int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ) return;
    if (err == SSL_ERROR_ZERO_RETURN) {  // close_notify
      peer_closed_ = true;
      app_->OnPeerClosed();
      return;
    }
    Fail(n);
    return;
  }
}

bool TlsStream::DoHandshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    loop_->CancelTimer(handshake_timer_);
    LOG_DEBUG("tls: ", PeerName(), " ", version(), " ", cipher(),
              session_reused() ? " resumed" : "",
              client_ ? (peer_verified() ? " verified" : " not verified") : "");
    if (handshake_cb_) {
      // Usually queues EHLO (RFC 3207 §4.2: everything learnt before the
      // handshake is forgotten). May also Close or Abort.
      HandshakeFn cb = std::move(handshake_cb_);
      handshake_cb_ = nullptr;
      cb(absl::OkStatus());
      if (closing_) return true;  // ProcessInput stops
    }
    if (app_paused_) conn_->PauseReading();
    EncryptOutput();  // what the app queued meanwhile (e.g. a greeting)
    return true;
  }
  int err = SSL_get_error(ssl_, r);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) Fail(r);
  return false;
}

void TlsStream::Fail(int ssl_ret) {
  // Peek before Reason() empties the thread's error queue.
  uint32_t first = ERR_peek_error();
  bool not_verified = client_ && !handshake_done_ && ERR_GET_LIB(first) == ERR_LIB_SSL &&
                      ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  std::string reason = Reason(ssl_, ssl_ret);
  if (not_verified) reason = absl::StrCat("certificate not verified: ", verify_error());
  if (!handshake_done_) {
    LOG_WARNING("tls: handshake with ", PeerName(), " failed: ", reason);
    std::string msg = absl::StrCat("tls: handshake with ", PeerName(), " failed: ", reason);
    // PermissionDenied: the peer is up and speaks TLS but is not who the
    // policy requires; anything else is a broken or refused handshake.
    SetHandshakeError(not_verified ? absl::PermissionDeniedError(msg)
                                   : absl::UnavailableError(msg));
  } else {
    LOG_INFO("tls: connection with ", PeerName(), " failed: ", reason);
  }
  closing_ = true;
  out_.clear();
  loop_->CancelTimer(handshake_timer_);
  conn_->Close();  // sends the alert BoringSSL queued, if any
}

void TlsStream::OnHandshakeTimeout() {
  handshake_timer_ = 0;
  if (handshake_done_ || closing_) return;
  LOG_WARNING("tls: handshake with ", PeerName(), " failed: timed out");
  SetHandshakeError(absl::DeadlineExceededError(
      absl::StrCat("tls: handshake with ", PeerName(), " timed out")));
  closing_ = true;
  conn_->Abort();
}

void TlsStream::OnPeerClosed() {
  if (released_ || closing_ || peer_closed_) return;
  peer_closed_ = true;
  if (!handshake_done_) {
    // Scanners and health checks do this all the time: not a warning.
    LOG_INFO("tls: handshake with ", PeerName(),
             " failed: connection closed by peer");
    SetHandshakeError(absl::UnavailableError(absl::StrCat(
        "tls: handshake with ", PeerName(), " failed: connection closed by peer")));
    closing_ = true;
    conn_->Close();
    return;
  }
  // TCP EOF without close_notify: mail protocols frame their own data, so
  // a truncation is visible to the session anyway.
  app_->OnPeerClosed();
}

void TlsStream::OnClosed() {
  ConnectionHandler* app = app_;
  HandshakeFn cb = std::move(handshake_cb_);
  absl::Status why = handshake_error_;
  if (cb && why.ok()) {
    // Reset, or a socket error: the Connection does not say which.
    why = absl::UnavailableError(absl::StrCat(
        "tls: connection to ", PeerName(), " closed during the handshake"));
  }
  delete this;
  // The stream and the Connection are gone: the callback must not use them.
  if (cb) cb(std::move(why));
  if (app != nullptr) app->OnClosed();
}

void TlsStream::OnOutputDrained() {
  if (released_ || closing_ || !handshake_done_ || app_ == nullptr) return;
  if (out_.empty()) app_->OnOutputDrained();
}

void TlsStream::SetHandshakeError(absl::Status status) {
  if (client_ && !handshake_done_ && handshake_error_.ok()) {
    handshake_error_ = std::move(status);
  }
}

std::string TlsStream::PeerName() const {
  if (server_name_.empty()) return peer_.ToString();
  return absl::StrCat(server_name_, " [", peer_.ToString(), "]");
}

// ---------------------------------------------------------------- output

void TlsStream::EncryptOutput() {
  if (!handshake_done_ || shutdown_sent_ || ssl_ == nullptr) return;
  size_t off = 0;
  while (off < out_.size()) {
    size_t n = std::min(out_.size() - off, kRecordPlaintext);
    ERR_clear_error();
    int r = SSL_write(ssl_, out_.data() + off, static_cast<int>(n));
    if (r <= 0) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) break;
      Fail(r);
      return;
    }
    off += static_cast<size_t>(r);
  }
  out_.erase(0, off);
  if (out_.empty() && out_.capacity() > kMaxIdleCapacity) out_.shrink_to_fit();
}

void TlsStream::Flush() {
  if (closing_) return;
  EncryptOutput();  // before the handshake: kept until it completes
  if (!closing_) conn_->Flush();
}

size_t TlsStream::pending_output() const {
  return released_ ? 0 : out_.size() + conn_->pending_output();
}

void TlsStream::PauseReading() {
  if (app_paused_ || released_) return;
  app_paused_ = true;
  // During the handshake keep reading: the app's pause is about plaintext.
  if (handshake_done_) conn_->PauseReading();
}

void TlsStream::ResumeReading() {
  if (!app_paused_) return;
  app_paused_ = false;
  if (closing_) return;
  // Ciphertext we kept first, then whatever the Connection held.
  if (!in_pump_) Pump();
  if (!app_paused_ && !closing_) conn_->ResumeReading();
}

void TlsStream::Close() {
  if (closing_) return;
  SetHandshakeError(absl::CancelledError("tls: handshake abandoned"));
  closing_ = true;
  loop_->CancelTimer(handshake_timer_);
  if (handshake_done_) {
    EncryptOutput();
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues close_notify; we do not wait for the peer's
    ERR_clear_error();
    shutdown_sent_ = true;
  }
  out_.clear();
  conn_->Close();
}

void TlsStream::Abort() {
  if (released_) return;
  SetHandshakeError(absl::CancelledError("tls: handshake abandoned"));
  closing_ = true;
  out_.clear();
  conn_->Abort();
}

// ---------------------------------------------------------------- details

std::string TlsStream::version() const {
  return ssl_ != nullptr ? SSL_get_version(ssl_) : "";
}

std::string TlsStream::cipher() const {
  const SSL_CIPHER* c = ssl_ != nullptr ? SSL_get_current_cipher(ssl_) : nullptr;
  return c != nullptr ? SSL_CIPHER_get_name(c) : "";
}

std::string TlsStream::alpn() const {
  if (ssl_ == nullptr) return "";
  const uint8_t* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  if (p == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(p), len);
}

bool TlsStream::session_reused() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_);
}

}  // namespace ringmail::engine
