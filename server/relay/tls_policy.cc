#include "server/relay/tls_policy.h"

namespace ringmail::server::relay {

TlsMode TlsModeFor(std::string_view policy) {
  if (policy == "none") return {smtp::TlsPolicy::kNone, false};
  if (policy == "required") return {smtp::TlsPolicy::kRequired, false};
  if (policy == "verify") return {smtp::TlsPolicy::kRequired, true};
  return {smtp::TlsPolicy::kOpportunistic, false};
}

}  // namespace ringmail::server::relay
