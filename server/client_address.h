// One client, as the per-client limits count it (connection admission,
// failed-login throttling): an IPv4 address, or an IPv6 network prefix,
// because one IPv6 host usually holds a whole /64 and could otherwise
// cycle through addresses to escape every per-IP limit.
#ifndef RINGMAIL_SERVER_CLIENT_ADDRESS_H_
#define RINGMAIL_SERVER_CLIENT_ADDRESS_H_

#include <cstdint>
#include <string_view>

namespace ringmail::server {

inline constexpr uint32_t kDefaultIpv6Prefix = 64;

// A hash of the binary address: 4 bytes for IPv4 and IPv4-mapped IPv6, the
// first `ipv6_prefix` bits (clamped to 1..128) of other IPv6 addresses, so
// every spelling of one client gives one value. Text that is no address is
// hashed as it is. Never fails; allocates nothing.
uint64_t ClientAddressHash(std::string_view ip, uint32_t ipv6_prefix);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_CLIENT_ADDRESS_H_
