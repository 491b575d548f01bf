// A list of IP networks (CIDR), e.g. auth.trusted_networks: the clients
// that may use plaintext authentication without TLS.
#ifndef RINGMAIL_SERVER_TRUSTED_NETWORKS_H_
#define RINGMAIL_SERVER_TRUSTED_NETWORKS_H_

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tcp.h"

namespace ringmail::server {

class TrustedNetworks {
 public:
  // Each entry "ADDR/LEN" or a bare address (a host). IPv4 and IPv6.
  // Errors name the bad entry in one line. At most kMaxEntries entries.
  static constexpr size_t kMaxEntries = 256;
  static absl::StatusOr<TrustedNetworks> Parse(
      const std::vector<std::string>& cidrs);

  // True if the peer's address is in one of the networks. An IPv4-mapped
  // IPv6 peer (::ffff:a.b.c.d) is matched as IPv4.
  bool Contains(const engine::SocketAddress& peer) const;
  // Same for a textual address ("127.0.0.1", "::1"); false if unparsable.
  bool ContainsText(std::string_view ip) const;

 private:
  struct Net {
    bool v6 = false;
    std::array<uint8_t, 16> addr{};  // v4 in the first 4 octets
    int prefix = 0;
  };
  bool Match(bool v6, const uint8_t* addr) const;
  std::vector<Net> nets_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_TRUSTED_NETWORKS_H_
