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

absl::Status CheckTlsConfig(const TlsConfig& config) {
  if (!config.enabled()) return absl::OkStatus();
  // A throw-away context: the same checks every core's context will make.
  auto ctx = engine::TlsContext::Create(Options(config, nullptr, {}));
  return ctx.ok() ? absl::OkStatus() : ctx.status();
}

absl::StatusOr<std::unique_ptr<engine::TlsContext>> CreateCoreTlsContext(
    const TlsConfig& config, std::shared_ptr<engine::TicketKeys> ticket_keys,
    std::vector<std::string> alpn) {
  if (!config.enabled()) return std::unique_ptr<engine::TlsContext>();
  return engine::TlsContext::Create(
      Options(config, std::move(ticket_keys), std::move(alpn)));
}

}  // namespace ringmail::server
