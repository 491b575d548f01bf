#include "server/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"

namespace ringmail::server {
namespace {

uint64_t HashBytes(const void* p, size_t n) {
  return absl::Hash<absl::string_view>{}(absl::string_view(static_cast<const char*>(p), n));
}

}  // namespace

uint64_t ClientAddressHash(std::string_view ip, uint32_t ipv6_prefix) {
  char text[INET6_ADDRSTRLEN];
  if (ip.size() < sizeof(text)) {
    std::memcpy(text, ip.data(), ip.size());
    text[ip.size()] = '\0';
    in_addr v4;
    in6_addr v6;
    if (inet_pton(AF_INET, text, &v4) == 1) return HashBytes(&v4, sizeof(v4));
    if (inet_pton(AF_INET6, text, &v6) == 1) {
      if (IN6_IS_ADDR_V4MAPPED(&v6)) return HashBytes(v6.s6_addr + 12, 4);
      for (uint32_t bit = std::clamp<uint32_t>(ipv6_prefix, 1, 128); bit < 128; ++bit) {
        v6.s6_addr[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      }
      return HashBytes(&v6, sizeof(v6));
    }
  }
  return HashBytes(ip.data(), ip.size());
}

}  // namespace ringmail::server
