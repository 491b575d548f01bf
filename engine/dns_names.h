// Text forms engine/dns accepts: query names, address literals that need no
// query, and the DnsOptions::servers list. Pure.
#ifndef RINGMAIL_ENGINE_DNS_NAMES_H_
#define RINGMAIL_ENGINE_DNS_NAMES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tcp.h"

namespace ringmail::engine::dns {

inline constexpr size_t kMaxServers = 8;
inline constexpr uint16_t kDefaultPort = 53;

// Lower-cases `name` and strips one trailing dot ("Example.COM." ->
// "example.com"). The root "." stays ".".
std::string NormalizeName(std::string_view name);

// True when `name` (normalized) can be looked up: 1..253 characters, labels of
// 1..63 characters from [a-z0-9-_] (RFC 1035 §2.3.4 lengths; underscores are
// allowed because real zones use them).
bool IsQueryableName(std::string_view name);

// An IP address written as a host: "192.0.2.1", "2001:db8::1", or bracketed
// as in RFC 5321 §4.1.3 ("[192.0.2.1]", "[IPv6:2001:db8::1]", and leniently
// "[2001:db8::1]"). Port 0. nullopt for anything else.
std::optional<SocketAddress> ParseAddressLiteral(std::string_view host);

// "IP[:PORT][,...]": IPv4, "[IPv6]" with an optional ":PORT", or a bare IPv6;
// port 53 when absent; whitespace around entries ignored. InvalidArgument
// naming the bad entry, for an empty entry, or for more than kMaxServers.
absl::StatusOr<std::vector<SocketAddress>> ParseServers(std::string_view csv);

}  // namespace ringmail::engine::dns

#endif  // RINGMAIL_ENGINE_DNS_NAMES_H_
