// TLS set-up shared by every service: the process-wide session-ticket keys
// and each core's engine::TlsContext, built from the tls.* config keys.
//
// Start-up (main thread): CheckTlsConfig reads and validates the files
// once, so a missing/unreadable file or a key that does not match exits with
// one line before any core starts; the bytes it read are what the cores
// build from, so a key only root can read still works after ringmaild drops
// to its `user` (server/privileges.h). Each core then calls CreateCoreTlsContext on its
// own thread: contexts are never shared between cores (no locks on the
// handshake path); only the TicketKeys are, so a ticket minted on one core
// resumes on any. SIGHUP: main posts TlsContext::Reload() to every core.
#ifndef RINGMAIL_SERVER_TLS_SETUP_H_
#define RINGMAIL_SERVER_TLS_SETUP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/tls.h"
#include "server/config.h"

namespace ringmail::server {

// Null when TLS is off (no tls.cert); else fresh keys rotating every
// config.ticket_rotation (the owner calls RotateIfDue periodically).
std::shared_ptr<engine::TicketKeys> MakeTicketKeys(const TlsConfig& config);

// The certificate chain and key files' contents, as read at start-up.
struct TlsPem {
  std::string cert_chain;
  std::string key;
};

// Empty TlsPem when TLS is off; the files' bytes when the certificate and
// key load and match. Otherwise one line naming the file, e.g. "tls: cannot
// read certificate chain file /x.pem: No such file or directory".
absl::StatusOr<TlsPem> CheckTlsConfig(const TlsConfig& config);

// The calling core's context, built from `pem` (CheckTlsConfig's result);
// nullptr (and OK) when TLS is off. TlsContext::Reload (SIGHUP) reads the
// files again. `alpn`: protocol ids to accept (empty: ALPN not negotiated).
absl::StatusOr<std::unique_ptr<engine::TlsContext>> CreateCoreTlsContext(
    const TlsConfig& config, const TlsPem& pem,
    std::shared_ptr<engine::TicketKeys> ticket_keys, std::vector<std::string> alpn = {});

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_TLS_SETUP_H_
