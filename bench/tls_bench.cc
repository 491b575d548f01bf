// TLS over the ring (engine/tls.h), loopback, one process: a core thread
// serves an implicit-TLS echo, the benchmark thread is a blocking BoringSSL
// client. Handshake figures therefore include the client's side of the
// work (both run on this machine's cores).
//   BM_Handshake/full     connect + full TLS 1.3 handshake + 1-byte echo
//   BM_Handshake/resumed  the same, resuming with a session ticket
//   BM_Echo/N             N-byte write + N-byte read through TlsStream
#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "benchmark/benchmark.h"
#include "engine/loop.h"
#include "engine/tcp.h"
#include "engine/tls.h"

namespace {

using namespace ringmail::engine;

class Echo final : public ConnectionHandler {
 public:
  explicit Echo(Stream* s) : s_(s) {}
  void OnReceive(std::string_view d) override {
    s_->output().append(d);
    s_->Flush();
  }
  void OnPeerClosed() override { s_->Close(); }
  void OnClosed() override { delete this; }

 private:
  Stream* s_;
};

std::pair<std::string, std::string> WriteCert() {
  char dir[] = "/tmp/tls_bench.XXXXXX";
  if (mkdtemp(dir) == nullptr) std::abort();
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EC_KEY_generate_key(ec.get());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  EVP_PKEY_assign_EC_KEY(key.get(), ec.release());
  bssl::UniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const uint8_t*>("bench"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  X509_set_pubkey(x.get(), key.get());
  X509_sign(x.get(), key.get(), EVP_sha256());
  std::string cert = std::string(dir) + "/c.pem", k = std::string(dir) + "/k.pem";
  bssl::UniquePtr<BIO> cb(BIO_new_file(cert.c_str(), "w"));
  PEM_write_bio_X509(cb.get(), x.get());
  bssl::UniquePtr<BIO> kb(BIO_new_file(k.c_str(), "w"));
  PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return {cert, k};
}

// The serving core, started once for all benchmarks.
struct Server {
  Mesh mesh{1, 1};
  SocketAddress addr;
  std::unique_ptr<Loop> loop;
  std::unique_ptr<TlsContext> ctx;
  std::unique_ptr<Listener> listener;
  std::thread thread;

  Server() {
    auto [cert, key] = WriteCert();
    TlsContextOptions o;
    o.cert_chain_file = cert;
    o.key_file = key;
    o.ticket_keys = std::make_shared<TicketKeys>();
    int lfd = *CreateListenSocket(*SocketAddress::Parse("127.0.0.1:0"), 512);
    addr = *BoundAddress(lfd);
    thread = std::thread([this, o, lfd] {
      loop = std::move(*Loop::Create(0, &mesh, LoopOptions{}));
      ctx = std::move(*TlsContext::Create(o));
      listener = std::make_unique<Listener>(loop.get(), lfd, [this](int fd) {
        auto* t = new TlsStream(new Connection(loop.get(), fd), ctx.get());
        t->Start(new Echo(t));
      });
      listener->Start();
      loop->Run();
    });
    mesh.WaitForLoops();
  }
};

Server& TheServer() {
  static Server* s = new Server();  // lives until exit
  return *s;
}

SSL_SESSION* g_ticket = nullptr;

bssl::UniquePtr<SSL_CTX> ClientCtx() {
  bssl::UniquePtr<SSL_CTX> c(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_session_cache_mode(c.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(c.get(), [](SSL*, SSL_SESSION* s) {
    SSL_SESSION_free(g_ticket);
    g_ticket = s;
    return 1;
  });
  return c;
}

bssl::UniquePtr<SSL> Dial(SSL_CTX* c, SSL_SESSION* resume, int* fd_out) {
  const SocketAddress& a = TheServer().addr;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;  // as the server does; else Nagle + delayed ACK adds 40 ms
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.len) != 0) std::abort();
  bssl::UniquePtr<SSL> ssl(SSL_new(c));
  SSL_set_fd(ssl.get(), fd);
  if (resume != nullptr) SSL_set_session(ssl.get(), resume);
  if (SSL_connect(ssl.get()) != 1) std::abort();
  *fd_out = fd;
  return ssl;
}

void BM_Handshake(benchmark::State& state) {
  bool resume = state.range(0) != 0;
  auto c = ClientCtx();
  int fd;
  {
    auto ssl = Dial(c.get(), nullptr, &fd);  // get a first ticket
    char b = 'x';
    SSL_write(ssl.get(), &b, 1);
    SSL_read(ssl.get(), &b, 1);
    close(fd);
  }
  int64_t reused = 0;
  for (auto _ : state) {
    auto ssl = Dial(c.get(), resume ? g_ticket : nullptr, &fd);
    char b = 'x';
    SSL_write(ssl.get(), &b, 1);
    SSL_read(ssl.get(), &b, 1);
    reused += SSL_session_reused(ssl.get());
    SSL_shutdown(ssl.get());
    close(fd);
  }
  state.counters["handshakes/s"] =
      benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
  state.counters["reused"] = static_cast<double>(reused) / state.iterations();
}
BENCHMARK(BM_Handshake)->ArgName("resumed")->Arg(0)->Arg(1)->UseRealTime();

void BM_Echo(benchmark::State& state) {
  auto c = ClientCtx();
  int fd;
  auto ssl = Dial(c.get(), nullptr, &fd);
  std::string msg(state.range(0), 'm');
  std::string buf(16384, '\0');
  for (auto _ : state) {
    for (size_t off = 0; off < msg.size();) {
      int n = SSL_write(ssl.get(), msg.data() + off, std::min<size_t>(msg.size() - off, 65536));
      if (n <= 0) std::abort();
      off += n;
      // Read as we go so neither side's socket buffer fills.
      for (size_t got = 0; got < static_cast<size_t>(n);) {
        int r = SSL_read(ssl.get(), buf.data(), buf.size());
        if (r <= 0) std::abort();
        got += r;
      }
    }
  }
  state.SetBytesProcessed(state.iterations() * msg.size());
  close(fd);
}
BENCHMARK(BM_Echo)->Arg(1024)->Arg(65536)->Arg(1 << 20)->UseRealTime();

}  // namespace
