#include "engine/tls.h"

#include <gtest/gtest.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/loop.h"
#include "engine/tcp.h"

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

}  // namespace
}  // namespace ringmail::engine
