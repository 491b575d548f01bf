#include "server/tls_setup.h"

#include <utility>

namespace ringmail::server {
namespace {

engine::TlsContextOptions Options(const TlsConfig& config,
                                  std::shared_ptr<engine::TicketKeys> keys,
                                  std::vector<std::string> alpn) {
  engine::TlsContextOptions o;
  o.cert_chain_file = config.cert;
  o.key_file = config.key;
  o.allow_tls12 = config.allow_tls12;
  o.ticket_keys = std::move(keys);
  o.alpn = std::move(alpn);
  return o;
}

}  // namespace

std::shared_ptr<engine::TicketKeys> MakeTicketKeys(const TlsConfig& config) {
  if (!config.enabled()) return nullptr;
  return std::make_shared<engine::TicketKeys>(config.ticket_rotation);
}

absl::StatusOr<TlsPem> CheckTlsConfig(const TlsConfig& config) {
  if (!config.enabled()) return TlsPem{};
  TlsPem pem;
  auto cert = engine::ReadTlsPemFile(config.cert, "certificate chain");
  if (!cert.ok()) return cert.status();
  auto key = engine::ReadTlsPemFile(config.key, "private key");
  if (!key.ok()) return key.status();
  pem.cert_chain = std::move(*cert);
  pem.key = std::move(*key);
  // A throw-away context: the same checks every core's context will make.
  auto ctx = CreateCoreTlsContext(config, pem, nullptr);
  if (!ctx.ok()) return ctx.status();
  return pem;
}

absl::StatusOr<std::unique_ptr<engine::TlsContext>> CreateCoreTlsContext(
    const TlsConfig& config, const TlsPem& pem,
    std::shared_ptr<engine::TicketKeys> ticket_keys, std::vector<std::string> alpn) {
  if (!config.enabled()) return std::unique_ptr<engine::TlsContext>();
  engine::TlsContextOptions o = Options(config, std::move(ticket_keys), std::move(alpn));
  o.cert_chain_pem = pem.cert_chain;
  o.key_pem = pem.key;
  return engine::TlsContext::Create(o);
}

}  // namespace ringmail::server
