#include "engine/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "engine/tls_error.h"

namespace ringmail::engine {
namespace {

// PEM files larger than this are not certificates or keys we want to parse.
constexpr size_t kMaxPemFileSize = 1 << 20;
// Certificates in one chain file, leaf included.
constexpr int kMaxChainLength = 16;
// The session id context: tickets from another program are not resumed.
constexpr char kSessionIdContext[] = "ringmail";


// RFC 7301 §3.2: the server picks, by its own preference, a protocol the
// client offered. `client` is the wire-format list from the ClientHello.
int SelectAlpn(SSL* ssl, const uint8_t** out, uint8_t* out_len,
               const uint8_t* client, unsigned client_len, void* arg) {
  const auto* ours = static_cast<const std::string*>(arg);
  const auto* o = reinterpret_cast<const uint8_t*>(ours->data());
  for (size_t i = 0; i < ours->size(); i += 1 + o[i]) {
    for (unsigned j = 0; j < client_len; j += 1 + client[j]) {
      if (j + 1 + client[j] > client_len) break;  // malformed: BoringSSL checks too
      if (client[j] == o[i] && std::memcmp(client + j + 1, o + i + 1, o[i]) == 0) {
        *out = o + i + 1;
        *out_len = o[i];
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
}

// Session tickets: RFC 5077 §4 format with the shared TicketKeys. A ticket
// sealed with the previous key is accepted and renewed (return 2).
int TicketKeyCallback(SSL* ssl, uint8_t* key_name, uint8_t* iv,
                      EVP_CIPHER_CTX* cipher, HMAC_CTX* hmac, int encrypt) {
  auto* keys = static_cast<TicketKeys*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (keys == nullptr) return encrypt ? -1 : 0;
  TicketKeys::Snapshot s = keys->Read();
  int ret;
  const TicketKeys::Key* k;
  if (encrypt) {
    k = &s.current;
    std::memcpy(key_name, k->name, TicketKeys::kNameLen);
    ret = RAND_bytes(iv, EVP_CIPHER_iv_length(EVP_aes_256_cbc())) == 1 &&
                  EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->aes, iv) &&
                  HMAC_Init_ex(hmac, k->hmac, TicketKeys::kHmacKeyLen, EVP_sha256(), nullptr)
              ? 1
              : -1;
  } else {
    if (std::memcmp(key_name, s.current.name, TicketKeys::kNameLen) == 0) {
      k = &s.current;
      ret = 1;
    } else if (s.has_previous &&
               std::memcmp(key_name, s.previous.name, TicketKeys::kNameLen) == 0) {
      k = &s.previous;
      ret = 2;  // valid, but re-issue under the current key
    } else {
      k = nullptr;
      ret = 0;  // unknown key: full handshake
    }
    if (k != nullptr &&
        (!HMAC_Init_ex(hmac, k->hmac, TicketKeys::kHmacKeyLen, EVP_sha256(), nullptr) ||
         !EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k->aes, iv))) {
      ret = -1;
    }
  }
  OPENSSL_cleanse(&s, sizeof(s));
  return ret;
}

}  // namespace

absl::StatusOr<std::string> ReadTlsPemFile(const std::string& path,
                                        std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("tls: cannot read ", absl::string_view(what.data(), what.size()),
                                            " file ", path, ": ", std::strerror(errno)));
  }
  std::string data;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxPemFileSize) break;
  }
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: cannot read ", absl::string_view(what.data(), what.size()), " file ", path, ": ", std::strerror(err)));
  }
  if (data.size() > kMaxPemFileSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: ", absl::string_view(what.data(), what.size()), " file ", path, " is larger than ", kMaxPemFileSize, " bytes"));
  }
  return data;
}

// ---------------------------------------------------------------- TicketKeys

TicketKeys::TicketKeys(absl::Duration rotation_interval)
    : interval_(rotation_interval) {
  for (auto& w : words_) w.store(0, std::memory_order_relaxed);
  Snapshot s{};
  RAND_bytes(reinterpret_cast<uint8_t*>(&s.current), sizeof(s.current));
  std::lock_guard<std::mutex> lock(mu_);
  Publish(s);
  last_rotation_ = absl::Now();
  OPENSSL_cleanse(&s, sizeof(s));
}

void TicketKeys::Publish(const Snapshot& s) {
  uint64_t tmp[kWords] = {};
  std::memcpy(tmp, &s, sizeof(s));
  // Seqlock writer (one at a time, under mu_): odd sequence, then the data,
  // then the next even sequence with release so readers that see it also see
  // the data.
  seq_.fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < kWords; ++i) words_[i].store(tmp[i], std::memory_order_relaxed);
  seq_.fetch_add(1, std::memory_order_release);
  OPENSSL_cleanse(tmp, sizeof(tmp));
}

TicketKeys::Snapshot TicketKeys::Read() const {
  uint64_t tmp[kWords];
  for (;;) {
    uint64_t before = seq_.load(std::memory_order_acquire);
    if (before & 1) continue;  // a rotation is being published; it is short
    for (size_t i = 0; i < kWords; ++i) tmp[i] = words_[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) break;
  }
  Snapshot s;
  std::memcpy(&s, tmp, sizeof(s));
  OPENSSL_cleanse(tmp, sizeof(tmp));
  return s;
}

void TicketKeys::Rotate() {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s = Read();
  s.previous = s.current;
  s.has_previous = true;
  RAND_bytes(reinterpret_cast<uint8_t*>(&s.current), sizeof(s.current));
  Publish(s);
  last_rotation_ = absl::Now();
  OPENSSL_cleanse(&s, sizeof(s));
}

bool TicketKeys::RotateIfDue(absl::Time now) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - last_rotation_ < interval_) return false;
  }
  Rotate();
  return true;
}

// ---------------------------------------------------------------- TlsContext

TlsContext::TlsContext(const TlsContextOptions& options) : options_(options) {
  for (const std::string& p : options_.alpn) {
    alpn_wire_.push_back(static_cast<char>(p.size()));
    alpn_wire_ += p;
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(
    const TlsContextOptions& options) {
  for (const std::string& p : options.alpn) {
    if (p.empty() || p.size() > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls: ALPN protocol id '", p, "' must be 1-255 bytes"));
    }
  }
  std::unique_ptr<TlsContext> c(new TlsContext(options));
  auto ctx = Build(c->options_, &c->alpn_wire_);
  if (!ctx.ok()) return ctx.status();
  c->ctx_ = *ctx;
  return c;
}

absl::Status TlsContext::Reload() {
  TlsContextOptions from_files = options_;
  from_files.cert_chain_pem.clear();
  from_files.key_pem.clear();
  auto ctx = Build(from_files, &alpn_wire_);
  if (!ctx.ok()) return ctx.status();
  // Sessions in progress hold their own reference to the old SSL_CTX.
  SSL_CTX_free(ctx_);
  ctx_ = *ctx;
  return absl::OkStatus();
}

absl::StatusOr<SSL_CTX*> TlsContext::Build(const TlsContextOptions& o,
                                           const std::string* alpn_wire) {
  auto cert_pem = o.cert_chain_pem.empty()
                      ? ReadTlsPemFile(o.cert_chain_file, "certificate chain")
                      : absl::StatusOr<std::string>(o.cert_chain_pem);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = o.key_pem.empty() ? ReadTlsPemFile(o.key_file, "private key")
                                   : absl::StatusOr<std::string>(o.key_pem);
  if (!key_pem.ok()) return key_pem.status();

  ERR_clear_error();
  bssl::UniquePtr<BIO> cert_bio(BIO_new_mem_buf(cert_pem->data(), cert_pem->size()));
  bssl::UniquePtr<X509> leaf(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: no PEM certificate in ", o.cert_chain_file, " (", TakeTlsErrorReason(), ")"));
  }
  std::vector<bssl::UniquePtr<X509>> chain;
  for (;;) {
    bssl::UniquePtr<X509> x(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
      uint32_t e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();  // end of file
        break;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "tls: bad certificate #", chain.size() + 2, " in ", o.cert_chain_file,
          " (", TakeTlsErrorReason(), ")"));
    }
    if (chain.size() + 1 >= kMaxChainLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tls: more than ", kMaxChainLength, " certificates in ", o.cert_chain_file));
    }
    chain.push_back(std::move(x));
  }
  bssl::UniquePtr<BIO> key_bio(BIO_new_mem_buf(key_pem->data(), key_pem->size()));
  bssl::UniquePtr<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: no PEM private key in ", o.key_file, " (", TakeTlsErrorReason(), ")"));
  }
  if (!X509_check_private_key(leaf.get(), key.get())) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("tls: private key ", o.key_file,
                     " does not match the certificate in ", o.cert_chain_file));
  }

  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return absl::ResourceExhaustedError("tls: SSL_CTX_new failed");
  SSL_CTX* c = ctx.get();
  bool ok = SSL_CTX_set_min_proto_version(c, o.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) &&
            SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) &&
            SSL_CTX_use_certificate(c, leaf.get()) &&
            SSL_CTX_use_PrivateKey(c, key.get());
  for (auto& x : chain) ok = ok && SSL_CTX_add1_chain_cert(c, x.get());
  if (!ok || !SSL_CTX_check_private_key(c)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls: cannot use ", o.cert_chain_file, " with ", o.key_file, " (",
        TakeTlsErrorReason(), ")"));
  }
  // Server-side session cache off: it would be per core and per context;
  // resumption uses stateless tickets under the shared keys instead.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(
      c, reinterpret_cast<const uint8_t*>(kSessionIdContext), sizeof(kSessionIdContext) - 1);
  if (o.ticket_keys != nullptr) {
    SSL_CTX_set_app_data(c, o.ticket_keys.get());
    SSL_CTX_set_tlsext_ticket_key_cb(c, TicketKeyCallback);
    // A ticket outlives its key by at most one rotation; do not promise more.
    auto secs = static_cast<uint32_t>(
        std::max<int64_t>(1, absl::ToInt64Seconds(o.ticket_keys->rotation_interval())));
    SSL_CTX_set_timeout(c, secs);
    SSL_CTX_set_session_psk_dhe_timeout(c, secs);
  } else {
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  }
  if (!alpn_wire->empty()) {
    SSL_CTX_set_alpn_select_cb(c, SelectAlpn, const_cast<std::string*>(alpn_wire));
  }
  // BoringSSL needs no SSL_MODE_RELEASE_BUFFERS (it is defined as 0): it
  // frees its record buffers whenever they are empty. Moving write buffer:
  // out_ may reallocate between a retried SSL_write and the next.
  SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx.release();
}

}  // namespace ringmail::engine
