// Reading the DNS replies engine/dns asks for: one pass over a raw reply
// (RFC 1035 §4.1) that keeps the records of the queried type and the TTLs a
// cache needs, which c-ares' ares_parse_mx_reply does not report.
//
// Pure: no I/O. Names are decompressed with c-ares' ares_expand_name, which
// bounds pointer chains; everything else is bounds-checked here.
#ifndef RINGMAIL_ENGINE_DNS_REPLY_H_
#define RINGMAIL_ENGINE_DNS_REPLY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tcp.h"

namespace ringmail::engine {

// One MX record (RFC 1035 §3.3.9). `host` is lower-case without a trailing
// dot; the root, which a null MX (RFC 7505) points at, is ".".
struct MxRecord {
  uint16_t preference = 0;
  std::string host;
  bool operator==(const MxRecord&) const = default;
};

namespace dns {

// The record types engine/dns queries (IANA "Resource Record (RR) TYPEs").
enum class RecordType : uint16_t { kA = 1, kMx = 15, kAaaa = 28 };

// Bounds on what one reply may contribute; extra records are ignored, so a
// hostile or broken server cannot make a cache entry large.
inline constexpr size_t kMaxMxRecords = 64;
inline constexpr size_t kMaxAddresses = 32;
// CNAMEs followed from the query name (RFC 1034 §3.6.2 chains).
inline constexpr size_t kMaxCnameChain = 8;

struct ParsedReply {
  int rcode = 0;                         // RFC 1035 §4.1.1 RCODE
  std::vector<MxRecord> mx;              // kMx: in packet order
  std::vector<SocketAddress> addresses;  // kA / kAaaa: port 0, packet order
  // Minimum TTL of the answer records used (the kept records and the CNAMEs
  // leading to them); empty when none was used.
  std::optional<uint32_t> answer_ttl;
  // RFC 2308 §5: min(SOA TTL, SOA MINIMUM) of an SOA in the authority
  // section; empty when there is none.
  std::optional<uint32_t> negative_ttl;
};

// Parses `reply` to a query for (`qname`, `type`), `qname` normalized as by
// dns::NormalizeName. Records are kept only when their owner is `qname` or a
// CNAME target reached from it, their class is IN and their data is
// well-formed (an MX target with characters outside host names is skipped).
// Fails with InvalidArgument when the packet is truncated or malformed.
absl::StatusOr<ParsedReply> ParseReply(const unsigned char* reply, size_t len,
                                       std::string_view qname, RecordType type);

}  // namespace dns
}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_DNS_REPLY_H_
