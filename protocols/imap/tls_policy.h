// What an IMAP connection offers about TLS and plaintext authentication,
// and the answers that follow from it: the capability list, whether
// STARTTLS may start now, whether LOGIN / AUTHENTICATE PLAIN may be used.
// Pure: the server glue fills ConnectionSecurity and runs the engine.
//
// RFC 3501 §6.2.1 / RFC 9051 §6.2.1: STARTTLS only before authentication
// and only without TLS; after the handshake the client must discard what
// it knew of the capabilities and ask again (the server does not re-send
// them unsolicited in the tagged OK: the list sent before TLS could have
// been tampered with). RFC 3501 §6.2.3: LOGINDISABLED while plaintext
// login is refused; RFC 8314 §3: implicit TLS is simply tls_active.
#ifndef RINGMAIL_PROTOCOLS_IMAP_TLS_POLICY_H_
#define RINGMAIL_PROTOCOLS_IMAP_TLS_POLICY_H_

#include <string_view>

#include "protocols/imap/response.h"

namespace ringmail::imap {

struct ConnectionSecurity {
  bool tls_available = false;  // a certificate is configured
  bool tls_active = false;     // implicit TLS, or STARTTLS completed
  // LOGIN and AUTHENTICATE PLAIN/LOGIN without TLS (e.g. on loopback).
  bool plaintext_auth_allowed = true;

  bool starttls_offered() const { return tls_available && !tls_active; }
  bool login_allowed() const { return tls_active || plaintext_auth_allowed; }
};

// Capability options for the session's current state.
CapabilityOptions CapabilityOptionsFor(const ConnectionSecurity& security,
                                       bool authenticated);

// STARTTLS: empty when the upgrade may begin (answer tagged OK, then start
// TLS); otherwise the text for a tagged BAD.
std::string_view CheckStarttls(const ConnectionSecurity& security);

// Text of the tagged NO (code PRIVACYREQUIRED, RFC 5530 §3) for a plaintext
// login attempt where it is not allowed; see login_allowed().
inline constexpr std::string_view kPlaintextLoginRefused =
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";
inline constexpr std::string_view kCodePrivacyRequired = "PRIVACYREQUIRED";

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_TLS_POLICY_H_
