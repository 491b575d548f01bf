// The relay's STARTTLS policy names (relay.tls, per-destination tls=) and
// what each asks of the SMTP client and of the TLS handshake.
//
//   none           never STARTTLS
//   opportunistic  STARTTLS when offered, unauthenticated (RFC 7435)
//   required       defer when STARTTLS is not offered; still unauthenticated
//   verify         required + the chain must lead to relay.tls_ca_file and
//                  the certificate must name the MX host as found in DNS
//                  (Postfix's smtp_tls_security_level = verify). MX names
//                  come from unsigned DNS, so this protects against a
//                  man in the middle on the path, not against forged MX
//                  records (that is DANE, RFC 7672, or MTA-STS, RFC 8461).
#ifndef RINGMAIL_SERVER_RELAY_TLS_POLICY_H_
#define RINGMAIL_SERVER_RELAY_TLS_POLICY_H_

#include <string_view>

#include "protocols/smtp/client_session.h"

namespace ringmail::server::relay {

struct TlsMode {
  smtp::TlsPolicy policy = smtp::TlsPolicy::kOpportunistic;
  bool verify_peer = false;  // engine::TlsClientParams::verify_peer
};

// The mode for a policy name. The config parser admits only the four names
// above; anything else (never expected) maps to opportunistic.
TlsMode TlsModeFor(std::string_view policy);

}  // namespace ringmail::server::relay

#endif  // RINGMAIL_SERVER_RELAY_TLS_POLICY_H_
