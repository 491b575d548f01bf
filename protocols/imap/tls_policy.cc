#include "protocols/imap/tls_policy.h"

namespace ringmail::imap {

CapabilityOptions CapabilityOptionsFor(const ConnectionSecurity& security,
                                       bool authenticated) {
  CapabilityOptions o;
  o.authenticated = authenticated;
  o.starttls = security.starttls_offered();
  o.login_disabled = !security.login_allowed();
  return o;
}

std::string_view CheckStarttls(const ConnectionSecurity& security) {
  if (security.tls_active) return "TLS is already active";
  if (!security.tls_available) return "STARTTLS is not available";
  return {};
}

}  // namespace ringmail::imap
