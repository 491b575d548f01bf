#include "server/trusted_networks.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringmail::server {
namespace {

bool PrefixMatch(const uint8_t* a, const uint8_t* b, int prefix) {
  const int full = prefix / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

absl::StatusOr<TrustedNetworks> TrustedNetworks::Parse(
    const std::vector<std::string>& cidrs) {
  if (cidrs.size() > kMaxEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth_trusted_networks: more than ", kMaxEntries, " entries"));
  }
  TrustedNetworks out;
  for (const std::string& text : cidrs) {
    const auto bad = [&text] {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth_trusted_networks: bad network '", text,
          "' (expected ADDR/LEN, e.g. 127.0.0.0/8 or ::1/128)"));
    };
    Net n;
    const size_t slash = text.find('/');
    const std::string addr = text.substr(0, slash);
    if (inet_pton(AF_INET, addr.c_str(), n.addr.data()) == 1) {
      n.v6 = false;
      n.prefix = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), n.addr.data()) == 1) {
      n.v6 = true;
      n.prefix = 128;
    } else {
      return bad();
    }
    if (slash != std::string::npos) {
      int p;
      const std::string len = text.substr(slash + 1);
      if (!absl::SimpleAtoi(len, &p) || p < 0 || p > n.prefix) return bad();
      n.prefix = p;
    }
    out.nets_.push_back(n);
  }
  return out;
}

bool TrustedNetworks::Match(bool v6, const uint8_t* addr) const {
  for (const Net& n : nets_) {
    if (n.v6 == v6 && PrefixMatch(n.addr.data(), addr, n.prefix)) return true;
  }
  return false;
}

bool TrustedNetworks::Contains(const engine::SocketAddress& peer) const {
  if (peer.storage.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&peer.storage);
    return Match(false, reinterpret_cast<const uint8_t*>(&sin->sin_addr));
  }
  if (peer.storage.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&peer.storage);
    const uint8_t* a = sin6->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) return Match(false, a + 12);
    return Match(true, a);
  }
  return false;
}

bool TrustedNetworks::ContainsText(std::string_view ip) const {
  const std::string s(ip);
  uint8_t buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) return Match(false, buf);
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) return Match(true, buf);
  return false;
}

}  // namespace ringmail::server
