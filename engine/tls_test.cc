#include "engine/tls.h"

#include <gtest/gtest.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/loop.h"
#include "engine/tcp.h"
#include "engine/tls_client.h"
#include "engine/tls_error.h"

namespace ringmail::engine {
namespace {

std::string TmpDir() {
  const char* d = std::getenv("TEST_TMPDIR");
  return d != nullptr ? d : "/tmp";
}

bssl::UniquePtr<EVP_PKEY> NewKey() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EXPECT_TRUE(ec && EC_KEY_generate_key(ec.get()));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(key.get(), ec.release());
  return key;
}

// Writes a fresh self-signed EC P-256 certificate for `cn` and its key to
// TEST_TMPDIR (no key material is checked in). Returns {cert, key} paths.
std::pair<std::string, std::string> MakeCert(const std::string& name,
                                             const std::string& cn,
                                             EVP_PKEY* key = nullptr) {
  bssl::UniquePtr<EVP_PKEY> owned;
  if (key == nullptr) {
    owned = NewKey();
    key = owned.get();
  }
  bssl::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME* n = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), n);
  X509_set_pubkey(x.get(), key);
  EXPECT_TRUE(X509_sign(x.get(), key, EVP_sha256()));
  std::string cert_path = TmpDir() + "/" + name + ".crt";
  std::string key_path = TmpDir() + "/" + name + ".key";
  bssl::UniquePtr<BIO> cb(BIO_new_file(cert_path.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_X509(cb.get(), x.get()));
  bssl::UniquePtr<BIO> kb(BIO_new_file(key_path.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_PrivateKey(kb.get(), key, nullptr, nullptr, 0, nullptr, nullptr));
  return {cert_path, key_path};
}

// Echoes plaintext back; counts closes.
// With `pause`, it stops reading after every chunk and resumes 1 ms later
// (exercises the held-ciphertext path).
class EchoApp final : public ConnectionHandler {
 public:
  EchoApp(Stream* s, std::atomic<int>* closed, bool pause = false)
      : s_(s), closed_(closed), pause_(pause) {}
  void OnReceive(std::string_view data) override {
    s_->output().append(data);
    s_->Flush();
    if (pause_ && timer_ == 0) {
      s_->PauseReading();
      timer_ = s_->loop()->AddTimer(absl::Milliseconds(1), [this] {
        timer_ = 0;
        s_->ResumeReading();
      });
    }
  }
  void OnPeerClosed() override { s_->Close(); }
  void OnClosed() override {
    if (timer_ != 0) loop_->CancelTimer(timer_);
    ++*closed_;
    delete this;
  }

 private:
  Stream* s_;
  std::atomic<int>* closed_;
  bool pause_;
  Loop* loop_ = s_->loop();  // s_ is gone by OnClosed
  Loop::TimerId timer_ = 0;
};

// A line protocol with STARTTLS: "250 plain LINE" before, "250 LINE" after.
// Every line seen over TLS is recorded in `tls_lines` (loop thread only).
class StartTlsApp final : public ConnectionHandler {
 public:
  StartTlsApp(Connection* c, TlsContext* ctx, std::vector<std::string>* tls_lines,
              std::atomic<int>* closed)
      : conn_(c), stream_(c), ctx_(ctx), tls_lines_(tls_lines), closed_(closed) {}
  void OnReceive(std::string_view data) override {
    pending_.append(data);
    size_t pos;
    while ((pos = pending_.find("\r\n")) != std::string::npos) {
      std::string line = pending_.substr(0, pos);
      pending_.erase(0, pos + 2);
      if (!stream_->is_tls() && line == "STARTTLS") {
        stream_->output() += "220 go ahead\r\n";
        // Whatever follows the command was sent in the clear: drop it.
        size_t discarded = pending_.size();
        pending_.clear();
        stream_ = StartTls(conn_, ctx_, this, discarded);
        return;
      }
      if (stream_->is_tls()) tls_lines_->push_back(line);
      stream_->output() += (stream_->is_tls() ? "250 " : "250 plain ") + line + "\r\n";
    }
    stream_->Flush();
  }
  void OnPeerClosed() override { stream_->Close(); }
  void OnClosed() override {
    ++*closed_;
    delete this;
  }

 private:
  Connection* conn_;
  Stream* stream_;
  TlsContext* ctx_;
  std::vector<std::string>* tls_lines_;
  std::atomic<int>* closed_;
  std::string pending_;
};

enum class Mode { kImplicit, kImplicitPausing, kStartTls };

// One core with a listener; its TlsContext lives on the loop thread.
class Server {
 public:
  Server(TlsContextOptions opts, Mode mode) : mesh_(1, 1) {
    auto a = SocketAddress::Parse("127.0.0.1:0");
    auto lfd = CreateListenSocket(*a, 64);
    EXPECT_TRUE(lfd.ok());
    addr_ = *BoundAddress(*lfd);
    thread_ = std::thread([this, opts, mode, fd = *lfd] {
      LoopOptions lo;
      lo.ring.entries = 256;
      auto l = Loop::Create(0, &mesh_, lo);
      ASSERT_TRUE(l.ok()) << l.status();
      loop_ = std::move(*l);
      auto ctx = TlsContext::Create(opts);
      ASSERT_TRUE(ctx.ok()) << ctx.status();
      ctx_ = std::move(*ctx);
      listener_ = std::make_unique<Listener>(loop_.get(), fd, [this, mode](int cfd) {
        auto* c = new Connection(loop_.get(), cfd);
        if (mode != Mode::kStartTls) {
          auto* t = new TlsStream(c, ctx_.get());
          t->Start(new EchoApp(t, &closed, mode == Mode::kImplicitPausing));
        } else {
          c->Start(new StartTlsApp(c, ctx_.get(), &tls_lines, &closed));
        }
      });
      listener_->Start();
      loop_->Run();
      listener_.reset();
    });
    mesh_.WaitForLoops();
  }
  ~Server() {
    mesh_.PostFromThread(1, 0, [this] { loop_->Stop(); });
    thread_.join();
  }
  // Runs `fn` on the loop thread and waits for it.
  void OnLoop(absl::AnyInvocable<void()> fn) {
    std::promise<void> done;
    mesh_.PostFromThread(1, 0, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
  TlsContext* ctx() { return ctx_.get(); }
  Loop* loop() { return loop_.get(); }
  const SocketAddress& addr() const { return addr_; }

  std::atomic<int> closed{0};
  std::vector<std::string> tls_lines;

 private:
  Mesh mesh_;
  SocketAddress addr_;
  std::thread thread_;
  std::unique_ptr<Loop> loop_;
  std::unique_ptr<TlsContext> ctx_;
  std::unique_ptr<Listener> listener_;
};

int Connect(const SocketAddress& a) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.len), 0);
  return fd;
}

// Blocking BoringSSL client. Collects TLS 1.3 tickets through the new
// session callback.
struct Client {
  bssl::UniquePtr<SSL_CTX> ctx{SSL_CTX_new(TLS_client_method())};
  static inline SSL_SESSION* last_session = nullptr;  // test thread only

  explicit Client(uint16_t max_version = TLS1_3_VERSION) {
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx.get(), [](SSL*, SSL_SESSION* s) {
      SSL_SESSION_free(last_session);
      last_session = s;  // takes the reference
      return 1;
    });
  }
  // Handshake on `fd` (owned by the returned SSL); null on failure.
  bssl::UniquePtr<SSL> Handshake(int fd, SSL_SESSION* resume = nullptr,
                                 const char* alpn = nullptr) {
    bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
    SSL_set_fd(ssl.get(), fd);
    if (resume != nullptr) SSL_set_session(ssl.get(), resume);
    if (alpn != nullptr) {
      std::string wire(1, static_cast<char>(strlen(alpn)));
      wire += alpn;
      SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const uint8_t*>(wire.data()), wire.size());
    }
    if (SSL_connect(ssl.get()) != 1) {
      ERR_clear_error();
      return nullptr;
    }
    return ssl;
  }
};

std::string SslReadN(SSL* ssl, size_t n) {
  std::string got;
  char buf[16384];
  while (got.size() < n) {
    int r = SSL_read(ssl, buf, sizeof(buf));
    if (r <= 0) break;
    got.append(buf, r);
  }
  return got;
}

void SslWriteAll(SSL* ssl, std::string_view data) {
  while (!data.empty()) {
    int r = SSL_write(ssl, data.data(), std::min<size_t>(data.size(), 1 << 20));
    ASSERT_GT(r, 0);
    data.remove_prefix(r);
  }
}

// Echo of a small and a 1 MB payload; then a clean close.
void EchoRoundTrip(SSL* ssl) {
  SslWriteAll(ssl, "hello\r\n");
  EXPECT_EQ(SslReadN(ssl, 7), "hello\r\n");
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  SslWriteAll(ssl, big);
  EXPECT_TRUE(SslReadN(ssl, big.size()) == big);
}

TlsContextOptions Options(const std::string& name) {
  auto [cert, key] = MakeCert(name, "localhost");
  TlsContextOptions o;
  o.cert_chain_file = cert;
  o.key_file = key;
  o.ticket_keys = std::make_shared<TicketKeys>(absl::Hours(1));
  return o;
}

void WaitClosed(Server& s, int n) {
  for (int i = 0; i < 5000 && s.closed.load() < n; ++i) usleep(1000);
  EXPECT_EQ(s.closed.load(), n);
}

TEST(Tls, Tls13And12EchoSmallAndLarge) {
  Server server(Options("echo"), Mode::kImplicit);
  for (uint16_t v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Client client(v);
    int fd = Connect(server.addr());
    auto ssl = client.Handshake(fd);
    ASSERT_TRUE(ssl);
    EXPECT_EQ(SSL_version(ssl.get()), v);
    EchoRoundTrip(ssl.get());
    SSL_shutdown(ssl.get());  // close_notify → server OnPeerClosed → Close
    // The server answers with its close_notify, then closes the socket.
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
    }
    EXPECT_EQ(n, 0);
    close(fd);
  }
  WaitClosed(server, 2);
}

TEST(Tls, EchoWithAppPausingAfterEveryChunk) {
  Server server(Options("pause"), Mode::kImplicitPausing);
  Client client;
  int fd = Connect(server.addr());
  auto ssl = client.Handshake(fd);
  ASSERT_TRUE(ssl);
  EchoRoundTrip(ssl.get());
  ssl.reset();
  close(fd);
  WaitClosed(server, 1);
}

TEST(Tls, RefusesTls11) {
  Server server(Options("old"), Mode::kImplicit);
  Client client(TLS1_1_VERSION);
  SSL_CTX_set_min_proto_version(client.ctx.get(), TLS1_VERSION);
  int fd = Connect(server.addr());
  EXPECT_FALSE(client.Handshake(fd));
  close(fd);
  WaitClosed(server, 1);
}

TEST(Tls, SessionResumptionWithTickets) {
  Server server(Options("resume"), Mode::kImplicit);
  for (uint16_t v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Client client(v);
    SSL_SESSION_free(Client::last_session);
    Client::last_session = nullptr;
    int fd = Connect(server.addr());
    auto ssl = client.Handshake(fd);
    ASSERT_TRUE(ssl);
    EXPECT_FALSE(SSL_session_reused(ssl.get()));
    SslWriteAll(ssl.get(), "x");
    EXPECT_EQ(SslReadN(ssl.get(), 1), "x");  // TLS 1.3 tickets arrive here
    ASSERT_NE(Client::last_session, nullptr) << "no ticket, version " << v;
    ssl.reset();
    close(fd);

    fd = Connect(server.addr());
    ssl = client.Handshake(fd, Client::last_session);
    ASSERT_TRUE(ssl);
    EXPECT_TRUE(SSL_session_reused(ssl.get())) << "version " << v;
    SslWriteAll(ssl.get(), "y");
    EXPECT_EQ(SslReadN(ssl.get(), 1), "y");
    ssl.reset();
    close(fd);
  }
  SSL_SESSION_free(Client::last_session);
  Client::last_session = nullptr;
  WaitClosed(server, 4);
}

TEST(Tls, TicketsSurviveOneRotationAndAreSharedAcrossContexts) {
  TlsContextOptions opts = Options("rotate");
  std::shared_ptr<TicketKeys> keys = opts.ticket_keys;
  Server a(opts, Mode::kImplicit);
  Server b(opts, Mode::kImplicit);  // "another core": own context, same keys
  Client client(TLS1_3_VERSION);
  auto ticket_from = [&](Server& s) {
    SSL_SESSION_free(Client::last_session);
    Client::last_session = nullptr;
    int fd = Connect(s.addr());
    auto ssl = client.Handshake(fd);
    SslWriteAll(ssl.get(), "t");
    SslReadN(ssl.get(), 1);
    close(fd);
    SSL_SESSION* t = Client::last_session;
    Client::last_session = nullptr;
    return bssl::UniquePtr<SSL_SESSION>(t);
  };
  auto resumes_on = [&](Server& s, SSL_SESSION* t) {
    int fd = Connect(s.addr());
    auto ssl = client.Handshake(fd, t);
    bool reused = ssl && SSL_session_reused(ssl.get());
    close(fd);
    return reused;
  };
  auto t = ticket_from(a);
  ASSERT_TRUE(t);
  EXPECT_TRUE(resumes_on(b, t.get()));
  keys->Rotate();
  EXPECT_TRUE(resumes_on(b, t.get()));  // previous key still accepted
  keys->Rotate();
  EXPECT_FALSE(resumes_on(a, t.get()));  // two rotations: gone
  EXPECT_FALSE(keys->RotateIfDue(absl::Now()));
  EXPECT_TRUE(keys->RotateIfDue(absl::Now() + absl::Hours(2)));
  // Stopping a loop with sessions still open would leak them.
  WaitClosed(a, 2);
  WaitClosed(b, 2);
}

TEST(Tls, Alpn) {
  TlsContextOptions opts = Options("alpn");
  opts.alpn = {"imap", "pop3"};
  Server server(opts, Mode::kImplicit);
  Client client;
  int fd = Connect(server.addr());
  auto ssl = client.Handshake(fd, nullptr, "pop3");
  ASSERT_TRUE(ssl);
  const uint8_t* p;
  unsigned len;
  SSL_get0_alpn_selected(ssl.get(), &p, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), len), "pop3");
  close(fd);
  fd = Connect(server.addr());
  EXPECT_FALSE(client.Handshake(fd, nullptr, "h2"));  // RFC 7301 §3.2
  close(fd);
  fd = Connect(server.addr());
  EXPECT_TRUE(client.Handshake(fd));  // no ALPN offered: fine
  close(fd);
  WaitClosed(server, 3);
}

TEST(Tls, GarbageInsteadOfClientHelloClosesAndServerLives) {
  Server server(Options("garbage"), Mode::kImplicit);
  int fd = Connect(server.addr());
  std::string junk = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
  }  // an alert, then EOF
  EXPECT_LE(n, 0);
  close(fd);
  // A client that connects and leaves is fine too.
  close(Connect(server.addr()));
  Client client;
  fd = Connect(server.addr());
  auto ssl = client.Handshake(fd);
  ASSERT_TRUE(ssl);
  EchoRoundTrip(ssl.get());
  close(fd);
  WaitClosed(server, 3);
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (read(fd, &c, 1) == 1) {
    line += c;
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) break;
  }
  return line;
}

TEST(Tls, StartTlsDiscardsInjectedPlaintext) {
  Server server(Options("starttls"), Mode::kStartTls);
  int fd = Connect(server.addr());
  std::string plain = "EHLO x\r\n";
  ASSERT_EQ(write(fd, plain.data(), plain.size()), static_cast<ssize_t>(plain.size()));
  EXPECT_EQ(ReadLine(fd), "250 plain EHLO x\r\n");
  // CVE-2011-0411: RSET rides in the same packet as STARTTLS.
  std::string inject = "STARTTLS\r\nRSET\r\n";
  ASSERT_EQ(write(fd, inject.data(), inject.size()), static_cast<ssize_t>(inject.size()));
  EXPECT_EQ(ReadLine(fd), "220 go ahead\r\n");
  Client client;
  auto ssl = client.Handshake(fd);
  ASSERT_TRUE(ssl);
  SslWriteAll(ssl.get(), "NOOP\r\n");
  EXPECT_EQ(SslReadN(ssl.get(), 10), "250 NOOP\r\n");
  SSL_shutdown(ssl.get());
  close(fd);
  WaitClosed(server, 1);
  std::vector<std::string> lines;
  server.OnLoop([&] { lines = server.tls_lines; });
  EXPECT_EQ(lines, std::vector<std::string>{"NOOP"});  // no RSET
}

TEST(Tls, ReloadAffectsNewSessionsOnly) {
  TlsContextOptions opts = Options("reload");
  Server server(opts, Mode::kImplicit);
  Client client;
  auto subject_cn = [](SSL* ssl) {
    bssl::UniquePtr<X509> x(SSL_get_peer_certificate(ssl));
    char buf[128] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, buf, sizeof(buf));
    return std::string(buf);
  };
  int fd1 = Connect(server.addr());
  auto old_ssl = client.Handshake(fd1);
  ASSERT_TRUE(old_ssl);
  EXPECT_EQ(subject_cn(old_ssl.get()), "localhost");
  MakeCert("reload", "renewed");  // overwrites the same files
  absl::Status st;
  server.OnLoop([&] { st = server.ctx()->Reload(); });
  ASSERT_TRUE(st.ok()) << st;
  int fd2 = Connect(server.addr());
  auto new_ssl = client.Handshake(fd2);
  ASSERT_TRUE(new_ssl);
  EXPECT_EQ(subject_cn(new_ssl.get()), "renewed");
  EchoRoundTrip(old_ssl.get());  // the old session still works
  close(fd1);
  close(fd2);
  WaitClosed(server, 2);
}

TEST(TlsContext, MismatchedKeyIsAClearError) {
  auto [cert, key] = MakeCert("mismatch", "localhost");
  auto [cert2, key2] = MakeCert("other", "localhost");
  TlsContextOptions o;
  o.cert_chain_file = cert;
  o.key_file = key2;
  auto ctx = TlsContext::Create(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().message(),
            "tls: private key " + key2 + " does not match the certificate in " + cert);
}

// One reason text for the server, the client and the stream: lower case,
// '_' as a space, "unknown error" (never "") when nothing is queued, and
// the queue cleared after.
TEST(TlsError, ReasonTextAndEmptyQueue) {
  ERR_clear_error();
  EXPECT_EQ(TakeTlsErrorReason(), "unknown error");
  EXPECT_EQ(TlsReasonText("WRONG_VERSION_NUMBER"), "wrong version number");
  EXPECT_EQ(TlsReasonText(nullptr), "unknown error");
  OPENSSL_PUT_ERROR(SSL, SSL_R_WRONG_VERSION_NUMBER);
  OPENSSL_PUT_ERROR(SSL, SSL_R_NO_CIPHERS_AVAILABLE);
  EXPECT_EQ(TakeTlsErrorReason(), "wrong version number");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsContext, MissingOrBadFilesNameThePath) {
  auto [cert, key] = MakeCert("files", "localhost");
  TlsContextOptions o;
  o.cert_chain_file = TmpDir() + "/nonexistent.crt";
  o.key_file = key;
  auto ctx = TlsContext::Create(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.status().message(), "tls: cannot read certificate chain file " +
                                        o.cert_chain_file + ": No such file or directory");
  o.cert_chain_file = key;  // a key where the certificate should be
  ctx = TlsContext::Create(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("no PEM certificate in " + key),
            absl::string_view::npos)
      << ctx.status();
  o.cert_chain_file = cert;
  o.key_file = cert;
  ctx = TlsContext::Create(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("no PEM private key in " + cert),
            absl::string_view::npos)
      << ctx.status();
}


// ---------------------------------------------------------------- hand-over

// A line echo that answers "<core>:<line>". On core 0 the line "MOVE" makes
// it answer "moving", then release the TLS session to core 1, where a new
// MovingEcho continues with the plaintext this one had not handled yet.
class MovingEcho final : public ConnectionHandler {
 public:
  MovingEcho(Mesh* mesh, TlsStream* s, std::atomic<int>* closed)
      : mesh_(mesh), s_(s), loop_(s->loop()), closed_(closed) {}
  void OnReceive(std::string_view data) override {
    pending_.append(data);
    size_t pos;
    while ((pos = pending_.find("\r\n")) != std::string::npos) {
      std::string line = pending_.substr(0, pos);
      pending_.erase(0, pos + 2);
      if (line == "MOVE" && loop_->id() == 0) {
        s_->output() += "moving\r\n";
        Mesh* mesh = mesh_;
        Loop* here = loop_;
        std::atomic<int>* closed = closed_;
        s_->Release([mesh, here, rest = std::move(pending_), closed](
                        std::unique_ptr<TlsHandover> h) mutable {
          here->Post(1, [mesh, h = std::move(h), rest = std::move(rest),
                         closed]() mutable {
            TlsStream* t = TlsStream::Adopt(mesh->loop(1), std::move(h));
            auto* app = new MovingEcho(mesh, t, closed);
            app->pending_ = std::move(rest);  // handled before newer bytes
            t->Start(app);
            if (!app->pending_.empty()) app->OnReceive("");
          });
        });
        delete this;  // the session is no longer ours
        return;
      }
      if (line.size() > 64) line = absl::StrCat("len", line.size());
      s_->output() += absl::StrCat(loop_->id(), ":", line, "\r\n");
    }
    s_->Flush();
  }
  void OnPeerClosed() override { s_->Close(); }
  void OnClosed() override {
    ++*closed_;
    delete this;
  }

 private:
  Mesh* mesh_;
  TlsStream* s_;
  Loop* loop_;
  std::string pending_;
  std::atomic<int>* closed_;
};

// Two cores, each with its own TlsContext (as the daemon has); core 0
// listens.
class TwoCores {
 public:
  explicit TwoCores(TlsContextOptions opts) : mesh_(2, 1) {
    auto a = SocketAddress::Parse("127.0.0.1:0");
    auto lfd = CreateListenSocket(*a, 64);
    EXPECT_TRUE(lfd.ok());
    addr_ = *BoundAddress(*lfd);
    for (int i = 0; i < 2; ++i) {
      threads_[i] = std::thread([this, i, opts, fd = *lfd] {
        LoopOptions lo;
        lo.ring.entries = 256;
        auto l = Loop::Create(i, &mesh_, lo);
        ASSERT_TRUE(l.ok()) << l.status();
        loops_[i] = std::move(*l);
        auto ctx = TlsContext::Create(opts);
        ASSERT_TRUE(ctx.ok()) << ctx.status();
        ctxs_[i] = std::move(*ctx);
        std::unique_ptr<Listener> listener;
        if (i == 0) {
          listener = std::make_unique<Listener>(loops_[0].get(), fd, [this](int cfd) {
            auto* t = new TlsStream(new Connection(loops_[0].get(), cfd), ctxs_[0].get());
            t->Start(new MovingEcho(&mesh_, t, &closed));
          });
          listener->Start();
        }
        loops_[i]->Run();
        listener.reset();
      });
    }
    mesh_.WaitForLoops();
  }
  ~TwoCores() {
    for (int i = 0; i < 2; ++i) {
      mesh_.PostFromThread(2, i, [this, i] { loops_[i]->Stop(); });
    }
    for (auto& t : threads_) t.join();
  }
  const SocketAddress& addr() const { return addr_; }
  std::atomic<int> closed{0};

 private:
  Mesh mesh_;
  SocketAddress addr_;
  std::thread threads_[2];
  std::unique_ptr<Loop> loops_[2];
  std::unique_ptr<TlsContext> ctxs_[2];
};

std::string SslReadLine(SSL* ssl) {
  std::string line;
  char c;
  while (SSL_read(ssl, &c, 1) == 1) {
    line += c;
    if (line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0) break;
  }
  return line;
}

TEST(TlsHandover, SessionMovesToAnotherCoreMidStream) {
  TwoCores cores(Options("handover"));
  for (uint16_t v : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    Client client(v);
    int fd = Connect(cores.addr());
    auto ssl = client.Handshake(fd);
    ASSERT_TRUE(ssl);
    SslWriteAll(ssl.get(), "a\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "0:a\r\n");
    // Pipelined: a line in the same record as MOVE (carried as plaintext by
    // the app) and one in a record of its own (carried as ciphertext, or
    // read by core 1 from the socket).
    SslWriteAll(ssl.get(), "MOVE\r\nb\r\n");
    SslWriteAll(ssl.get(), "c\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "moving\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "1:b\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "1:c\r\n");
    // Large records both ways on the new core.
    std::string big(200000, 'x');
    SslWriteAll(ssl.get(), big + "\r\nd\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "1:len200000\r\n");
    EXPECT_EQ(SslReadLine(ssl.get()), "1:d\r\n");
    SSL_shutdown(ssl.get());
    char buf[256];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
    }
    EXPECT_EQ(n, 0);  // core 1 answered close_notify and closed
    close(fd);
  }
  for (int i = 0; i < 5000 && cores.closed.load() < 2; ++i) usleep(1000);
  EXPECT_EQ(cores.closed.load(), 2);
}

// Many records queued behind MOVE before core 0 lets go: what the socket
// held when the session left must reach core 1 in order.
TEST(TlsHandover, CiphertextBufferedAtReleaseArrivesInOrder) {
  TwoCores cores(Options("handover2"));
  Client client;
  int fd = Connect(cores.addr());
  auto ssl = client.Handshake(fd);
  ASSERT_TRUE(ssl);
  std::string burst = "MOVE\r\n";
  SslWriteAll(ssl.get(), burst);
  for (int i = 0; i < 50; ++i) SslWriteAll(ssl.get(), absl::StrCat("l", i, "\r\n"));
  EXPECT_EQ(SslReadLine(ssl.get()), "moving\r\n");
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(SslReadLine(ssl.get()), absl::StrCat("1:l", i, "\r\n"));
  }
  ssl.reset();
  close(fd);
  for (int i = 0; i < 5000 && cores.closed.load() < 1; ++i) usleep(1000);
  EXPECT_EQ(cores.closed.load(), 1);
}

// ---------------------------------------------------------------- client

// A test CA (kept in memory to sign leaves) and its certificate file.
struct TestCa {
  bssl::UniquePtr<EVP_PKEY> key;
  bssl::UniquePtr<X509> cert;
  std::string cert_path;
};

void AddExtension(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &v3, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  EXPECT_TRUE(X509_add_ext(x, ext, -1));
  X509_EXTENSION_free(ext);
}

bssl::UniquePtr<X509> NewCert(const std::string& cn, EVP_PKEY* key, int serial) {
  bssl::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>(cn.c_str()), -1, -1, 0);
  X509_set_pubkey(x.get(), key);
  return x;
}

TestCa MakeCa(const std::string& name) {
  TestCa ca;
  ca.key = NewKey();
  ca.cert = NewCert("ringmail test CA " + name, ca.key.get(), 1);
  X509_set_issuer_name(ca.cert.get(), X509_get_subject_name(ca.cert.get()));
  AddExtension(ca.cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  EXPECT_TRUE(X509_sign(ca.cert.get(), ca.key.get(), EVP_sha256()));
  ca.cert_path = TmpDir() + "/" + name + "-ca.crt";
  bssl::UniquePtr<BIO> b(BIO_new_file(ca.cert_path.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_X509(b.get(), ca.cert.get()));
  return ca;
}

// A server certificate for `dns_name` (subjectAltName) signed by `ca`.
TlsContextOptions SignedServerOptions(const std::string& name, const TestCa& ca,
                                      const std::string& dns_name) {
  bssl::UniquePtr<EVP_PKEY> key = NewKey();
  bssl::UniquePtr<X509> x = NewCert(dns_name, key.get(), 2);
  X509_set_issuer_name(x.get(), X509_get_subject_name(ca.cert.get()));
  AddExtension(x.get(), ca.cert.get(), NID_subject_alt_name, ("DNS:" + dns_name).c_str());
  EXPECT_TRUE(X509_sign(x.get(), ca.key.get(), EVP_sha256()));
  TlsContextOptions o;
  o.cert_chain_file = TmpDir() + "/" + name + ".crt";
  o.key_file = TmpDir() + "/" + name + ".key";
  bssl::UniquePtr<BIO> cb(BIO_new_file(o.cert_chain_file.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_X509(cb.get(), x.get()));
  bssl::UniquePtr<BIO> kb(BIO_new_file(o.key_file.c_str(), "w"));
  EXPECT_TRUE(PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr));
  o.ticket_keys = std::make_shared<TicketKeys>(absl::Hours(1));
  return o;
}

// Everything the client app saw, in order.
struct ClientResult {
  int handshake_calls = 0;
  absl::Status handshake = absl::UnknownError("handshake_done was not called");
  std::vector<std::string> events;
  std::string version, cipher, verify_error;
  bool verified = false;
  bool reused = false;
  std::string received;  // plaintext after the handshake
};

// The relay's side in miniature: sends STARTTLS in the clear, upgrades on
// "220 ", sends `request` once the handshake is done, and closes (with
// close_notify) after `expect` bytes came back, or when the server closes.
class ClientApp final : public ConnectionHandler {
 public:
  ClientApp(Connection* c, TlsClientContext* ctx, TlsClientParams params,
            std::string request, size_t expect, bool abandon,
            std::promise<ClientResult>* done)
      : conn_(c), stream_(c), ctx_(ctx), params_(std::move(params)),
        request_(std::move(request)), expect_(expect), abandon_(abandon), done_(done) {}
  void Begin() {
    conn_->Start(this);
    conn_->output() += "STARTTLS\r\n";
    conn_->Flush();
  }
  void OnReceive(std::string_view data) override {
    if (tls_ == nullptr) {
      plain_.append(data);
      size_t pos = plain_.find("\r\n");
      if (pos == std::string::npos) return;
      if (plain_.compare(0, 4, "220 ") != 0) {
        r_.events.push_back("refused");
        conn_->Close();
        return;
      }
      // Whatever came with the 220 was not protected: it is not a reply.
      params_.discarded_plaintext = plain_.size() - pos - 2;
      plain_.clear();
      r_.events.push_back("starttls");
      tls_ = TlsStream::StartClient(conn_, ctx_, params_, this,
                                    [this](absl::Status s) { OnHandshake(std::move(s)); });
      stream_ = tls_;
      if (abandon_) tls_->Close();  // changed its mind mid-handshake
      return;
    }
    r_.received.append(data);
    if (r_.received.size() >= expect_ && !closing_) {
      closing_ = true;
      r_.events.push_back("received");
      tls_->Close();
    }
  }
  void OnPeerClosed() override {
    r_.events.push_back("peer closed");
    stream_->Close();
  }
  void OnClosed() override {
    r_.events.push_back("closed");
    done_->set_value(std::move(r_));
    delete this;
  }

 private:
  void OnHandshake(absl::Status s) {
    ++r_.handshake_calls;
    r_.handshake = s;
    r_.events.push_back(s.ok() ? "handshake ok" : "handshake failed");
    if (!s.ok()) return;  // the stream is gone
    r_.version = tls_->version();
    r_.cipher = tls_->cipher();
    r_.verified = tls_->peer_verified();
    r_.verify_error = tls_->verify_error();
    r_.reused = tls_->session_reused();
    tls_->output() += request_;
    tls_->Flush();
  }

  Connection* conn_;
  Stream* stream_;
  TlsStream* tls_ = nullptr;
  TlsClientContext* ctx_;
  TlsClientParams params_;
  std::string request_;
  size_t expect_;
  bool abandon_;
  std::promise<ClientResult>* done_;
  std::string plain_;
  bool closing_ = false;
  ClientResult r_;
};

// A TlsClientContext living on `host`'s loop thread, like a core's.
class ClientContext {
 public:
  ClientContext(Server* host, const TlsClientOptions& o) : host_(host) {
    host_->OnLoop([&] {
      auto c = TlsClientContext::Create(o);
      ASSERT_TRUE(c.ok()) << c.status();
      ctx_ = std::move(*c);
    });
  }
  ~ClientContext() {
    host_->OnLoop([&] { ctx_.reset(); });
  }
  size_t cached_sessions() {
    size_t n = 0;
    host_->OnLoop([&] { n = ctx_->cached_sessions(); });
    return n;
  }

  // Connects from `host`'s loop to `to` and runs a ClientApp to its end.
  ClientResult Run(const SocketAddress& to, TlsClientParams params,
                   std::string request = "", size_t expect = 0, bool abandon = false) {
    std::promise<ClientResult> done;
    host_->OnLoop([&] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      // Blocking connect: loopback completes it at once; then non-blocking
      // as the engine wants.
      ASSERT_EQ(connect(fd, reinterpret_cast<const sockaddr*>(&to.storage), to.len), 0);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      auto* c = new Connection(host_->loop(), fd);
      (new ClientApp(c, ctx_.get(), std::move(params), std::move(request), expect, abandon,
                     &done))
          ->Begin();
    });
    return done.get_future().get();
  }

 private:
  Server* host_;
  std::unique_ptr<TlsClientContext> ctx_;
};

TlsClientParams Params(const std::string& name, bool verify) {
  TlsClientParams p;
  p.server_name = name;
  p.verify_peer = verify;
  return p;
}

using Events = std::vector<std::string>;
const Events kFailedEvents = {"starttls", "handshake failed", "closed"};

TEST(TlsClient, StartTlsWithServerStreamDataBothWaysAndCloseNotify) {
  Server server(Options("client_echo"), Mode::kStartTls);
  ClientContext client(&server, TlsClientOptions{});
  std::string big(200000, 'x');
  std::string request = "NOOP\r\nDATA " + big + "\r\n";
  std::string reply = "250 NOOP\r\n250 DATA " + big + "\r\n";
  ClientResult r = client.Run(server.addr(), Params("localhost", false), request, reply.size());
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_EQ(r.handshake_calls, 1);
  EXPECT_EQ(r.version, "TLSv1.3");
  EXPECT_FALSE(r.cipher.empty());
  EXPECT_FALSE(r.verified);  // opportunistic: self-signed is fine, but reported
  EXPECT_EQ(r.verify_error, "self signed certificate");
  EXPECT_TRUE(r.received == reply);
  EXPECT_EQ(r.events, (Events{"starttls", "handshake ok", "received", "closed"}));
  // The client's close_notify made the server's session close too.
  WaitClosed(server, 1);
  std::vector<std::string> lines;
  server.OnLoop([&] { lines = server.tls_lines; });
  EXPECT_EQ(lines, (std::vector<std::string>{"NOOP", "DATA " + big}));
}

TEST(TlsClient, VerifyPeerChecksChainAndHostName) {
  TestCa ca = MakeCa("verify");
  Server server(SignedServerOptions("verify", ca, "mx.test"), Mode::kStartTls);
  TlsClientOptions o;
  o.ca_file = ca.cert_path;
  ClientContext client(&server, o);

  ClientResult r = client.Run(server.addr(), Params("mx.test", true), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.verify_error, "");
  EXPECT_FALSE(r.reused);
  EXPECT_EQ(r.received, "250 NOOP\r\n");

  // Case and a trailing dot do not matter; the session is resumed.
  r = client.Run(server.addr(), Params("MX.test.", true), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_TRUE(r.verified);
  EXPECT_TRUE(r.reused);

  r = client.Run(server.addr(), Params("wrong.test", true), "NOOP\r\n", 10);
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kPermissionDenied) << r.handshake;
  EXPECT_NE(r.handshake.message().find("wrong.test ["), absl::string_view::npos) << r.handshake;
  EXPECT_NE(r.handshake.message().find("certificate not verified: hostname mismatch"),
            absl::string_view::npos)
      << r.handshake;
  EXPECT_EQ(r.handshake_calls, 1);
  EXPECT_EQ(r.events, kFailedEvents);
  EXPECT_EQ(r.received, "");

  // Opportunistic: the same mismatch is only reported. A session made for
  // "mx.test" with verification is not resumed without it (and vice versa).
  r = client.Run(server.addr(), Params("wrong.test", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.verify_error, "hostname mismatch");
  EXPECT_EQ(r.received, "250 NOOP\r\n");
  r = client.Run(server.addr(), Params("mx.test", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_FALSE(r.reused);
  EXPECT_TRUE(r.verified);  // it would have verified
  WaitClosed(server, 5);
}

TEST(TlsClient, SelfSignedFailsOnlyWhenVerifying) {
  TestCa ca = MakeCa("selfsigned");
  auto [cert, key] = MakeCert("selfsigned", "mx.test");
  TlsContextOptions so;
  so.cert_chain_file = cert;
  so.key_file = key;
  Server server(so, Mode::kStartTls);
  TlsClientOptions o;
  o.ca_file = ca.cert_path;  // some other CA
  ClientContext client(&server, o);
  ClientResult r = client.Run(server.addr(), Params("mx.test", true), "NOOP\r\n", 10);
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kPermissionDenied) << r.handshake;
  EXPECT_NE(r.handshake.message().find("certificate not verified: self signed certificate"),
            absl::string_view::npos)
      << r.handshake;
  EXPECT_EQ(r.events, kFailedEvents);
  r = client.Run(server.addr(), Params("mx.test", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_FALSE(r.verified);
  EXPECT_EQ(r.received, "250 NOOP\r\n");
  WaitClosed(server, 2);
}

TEST(TlsClient, RefusedBeforeTheHandshake) {
  Server server(Options("client_refused"), Mode::kStartTls);
  ClientContext client(&server, TlsClientOptions{});  // no trust anchors
  ClientResult r = client.Run(server.addr(), Params("localhost", true));
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kFailedPrecondition) << r.handshake;
  EXPECT_EQ(r.events, kFailedEvents);
  for (const char* bad : {"", ".", "bad name", "a..b", "a..", "x\r\nRSET"}) {
    r = client.Run(server.addr(), Params(bad, false));
    EXPECT_EQ(r.handshake.code(), absl::StatusCode::kInvalidArgument) << bad << r.handshake;
    EXPECT_EQ(r.handshake.message().find('\n'), absl::string_view::npos);  // escaped
    EXPECT_EQ(r.events, kFailedEvents);
  }
  // An IP address is a valid name (no SNI is sent for it).
  r = client.Run(server.addr(), Params("127.0.0.1", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_EQ(r.verify_error, "self signed certificate");
  // The app closing mid-handshake still gets exactly one handshake_done.
  r = client.Run(server.addr(), Params("localhost", false), "NOOP\r\n", 10, /*abandon=*/true);
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kCancelled) << r.handshake;
  EXPECT_EQ(r.handshake_calls, 1);
  EXPECT_EQ(r.events, kFailedEvents);
  WaitClosed(server, 9);
}

TEST(TlsClient, SessionsResumePerDestination) {
  Server server(Options("client_resume"), Mode::kStartTls);
  ClientContext client(&server, TlsClientOptions{});
  ClientResult r = client.Run(server.addr(), Params("localhost", false), "NOOP\r\n", 10);
  ASSERT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_FALSE(r.reused);
  EXPECT_EQ(client.cached_sessions(), 1u);  // TLS 1.3 tickets, newest kept
  r = client.Run(server.addr(), Params("localhost", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.reused);
  r = client.Run(server.addr(), Params("localhost", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.reused);  // with a ticket from the previous connection
  r = client.Run(server.addr(), Params("other.test", false), "NOOP\r\n", 10);
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_FALSE(r.reused);
  EXPECT_EQ(client.cached_sessions(), 2u);
  WaitClosed(server, 4);
}

TEST(TlsClient, CacheIsBounded) {
  Server server(Options("client_bound"), Mode::kStartTls);
  TlsClientOptions o;
  o.max_cached_sessions = 2;
  ClientContext client(&server, o);
  for (const char* name : {"a.test", "b.test", "c.test"}) {
    ClientResult r = client.Run(server.addr(), Params(name, false), "NOOP\r\n", 10);
    ASSERT_TRUE(r.handshake.ok()) << r.handshake;
  }
  EXPECT_EQ(client.cached_sessions(), 2u);
  o.max_cached_sessions = 0;
  ClientContext uncached(&server, o);
  for (int i = 0; i < 2; ++i) {
    ClientResult r = uncached.Run(server.addr(), Params("a.test", false), "NOOP\r\n", 10);
    EXPECT_FALSE(r.reused);
  }
  EXPECT_EQ(uncached.cached_sessions(), 0u);
  WaitClosed(server, 5);
}

// A blocking BoringSSL server on its own thread, for what a TlsStream
// server does not show (the SNI it got, a close_notify exchange) or will
// not do (misbehave). `script` runs with the accepted socket.
class RawServer {
 public:
  explicit RawServer(absl::AnyInvocable<void(int fd)> script) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(lfd_, 4), 0);
    addr_ = *BoundAddress(lfd_);
    thread_ = std::thread([this, script = std::move(script)]() mutable {
      int fd = accept(lfd_, nullptr, nullptr);
      script(fd);
      close(fd);
    });
  }
  ~RawServer() { Join(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
    if (lfd_ >= 0) close(lfd_);
    lfd_ = -1;
  }
  const SocketAddress& addr() const { return addr_; }

 private:
  int lfd_;
  SocketAddress addr_;
  std::thread thread_;
};

bssl::UniquePtr<SSL_CTX> RawServerCtx(const std::string& name, uint16_t max_version) {
  auto [cert, key] = MakeCert(name, "mx.test");
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  EXPECT_TRUE(SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()));
  EXPECT_TRUE(SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM));
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  return ctx;
}

TEST(TlsClient, SniInjectedPlaintextAndServerInitiatedCloseNotify) {
  bssl::UniquePtr<SSL_CTX> sctx = RawServerCtx("raw_sni", TLS1_2_VERSION);
  std::string sni, got, starttls;
  int second_shutdown = -2;
  RawServer raw([&](int fd) {
    starttls = ReadLine(fd);
    // One write, so the injected line arrives together with the 220.
    std::string reply = "220 go ahead\r\n250 injected\r\n";
    ASSERT_EQ(write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    bssl::UniquePtr<SSL> ssl(SSL_new(sctx.get()));
    SSL_set_fd(ssl.get(), fd);
    ASSERT_EQ(SSL_accept(ssl.get()), 1);
    const char* n = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
    sni = n != nullptr ? n : "(none)";
    got = SslReadN(ssl.get(), 6);
    SslWriteAll(ssl.get(), "250 ok\r\n");
    EXPECT_EQ(SSL_shutdown(ssl.get()), 0);      // close_notify sent
    second_shutdown = SSL_shutdown(ssl.get());  // 1: the client's arrived
    ERR_clear_error();
  });
  Server host(Options("raw_host"), Mode::kStartTls);  // just a loop
  ClientContext client(&host, TlsClientOptions{});
  ClientResult r = client.Run(raw.addr(), Params("mx.test.", false), "NOOP\r\n", SIZE_MAX);
  raw.Join();
  EXPECT_EQ(starttls, "STARTTLS\r\n");
  EXPECT_TRUE(r.handshake.ok()) << r.handshake;
  EXPECT_EQ(r.version, "TLSv1.2");
  EXPECT_EQ(sni, "mx.test");
  EXPECT_EQ(got, "NOOP\r\n");
  EXPECT_EQ(r.received, "250 ok\r\n");  // not "250 injected"
  EXPECT_EQ(r.events, (Events{"starttls", "handshake ok", "peer closed", "closed"}));
  EXPECT_EQ(second_shutdown, 1);
}

TEST(TlsClient, GarbageFromServerFailsTheHandshake) {
  RawServer raw([](int fd) {
    ReadLine(fd);
    std::string reply = "220 go ahead\r\n";
    ASSERT_EQ(write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    char buf[4096];
    ASSERT_GT(read(fd, buf, sizeof(buf)), 0);  // the ClientHello
    std::string junk = "500 this is not TLS\r\n";
    ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
  });
  Server host(Options("garbage_host"), Mode::kStartTls);
  ClientContext client(&host, TlsClientOptions{});
  ClientResult r = client.Run(raw.addr(), Params("mx.test", false), "NOOP\r\n", 10);
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kUnavailable) << r.handshake;
  EXPECT_EQ(r.events, kFailedEvents);
}

TEST(TlsClient, SilentServerTimesOut) {
  RawServer raw([](int fd) {
    ReadLine(fd);
    std::string reply = "220 go ahead\r\n";
    ASSERT_EQ(write(fd, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }  // never answers the ClientHello
  });
  Server host(Options("silent_host"), Mode::kStartTls);
  TlsClientOptions o;
  o.handshake_timeout = absl::Milliseconds(50);
  ClientContext client(&host, o);
  ClientResult r = client.Run(raw.addr(), Params("mx.test", false), "NOOP\r\n", 10);
  EXPECT_EQ(r.handshake.code(), absl::StatusCode::kDeadlineExceeded) << r.handshake;
  EXPECT_EQ(r.events, kFailedEvents);
}

TEST(TlsClientContext, BadTrustAnchorsAreClearErrors) {
  auto [cert, key] = MakeCert("anchors", "localhost");
  TlsClientOptions o;
  o.ca_file = TmpDir() + "/nonexistent-ca.crt";
  auto c = TlsClientContext::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "tls: cannot read CA file " + o.ca_file + ": No such file or directory");
  o.ca_file = key;  // no certificate in it
  c = TlsClientContext::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no usable CA certificate in " + key),
            absl::string_view::npos)
      << c.status();
  o.ca_file = "";
  o.ca_dir = cert;
  c = TlsClientContext::Create(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "tls: CA directory " + cert + " is not a directory");
  o.ca_file = cert;
  o.ca_dir = TmpDir();
  c = TlsClientContext::Create(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->has_trust_anchors());
}

}  // namespace
}  // namespace ringmail::engine
