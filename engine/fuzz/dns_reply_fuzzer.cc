// libFuzzer: dns::ParseReply on arbitrary packets (untrusted: any DNS
// server, or whoever races its answer). The first input octet chooses the
// query (record type and name); the rest is the reply packet.
//
// Invariants: the result is either a ParsedReply or InvalidArgument
// ("malformed DNS reply: ..."); only records of the queried type come back,
// within kMaxMxRecords / kMaxAddresses; MX hosts are normalized host
// characters (or "." for a null MX) and addresses have the queried family
// and port 0; TTLs are below 2^31 (RFC 2181 §8) and answer_ttl is set when
// a record was kept; parsing is deterministic, and octets appended after a
// packet that parsed change nothing (the parser reads only what the header
// counts). Every MX host then goes through IsQueryableName, as the relay's
// does, without crashing.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dns_names.h"
#include "engine/dns_reply.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::engine::MxRecord;
using ringmail::engine::SocketAddress;
using ringmail::engine::dns::kMaxAddresses;
using ringmail::engine::dns::kMaxMxRecords;
using ringmail::engine::dns::ParsedReply;
using ringmail::engine::dns::ParseReply;
using ringmail::engine::dns::RecordType;

bool SameAddress(const SocketAddress& a, const SocketAddress& b) {
  return a.len == b.len && std::memcmp(&a.storage, &b.storage, a.len) == 0;
}

bool Same(const ParsedReply& a, const ParsedReply& b) {
  if (a.rcode != b.rcode || a.mx != b.mx || a.answer_ttl != b.answer_ttl ||
      a.negative_ttl != b.negative_ttl || a.addresses.size() != b.addresses.size()) {
    return false;
  }
  for (size_t i = 0; i < a.addresses.size(); ++i) {
    if (!SameAddress(a.addresses[i], b.addresses[i])) return false;
  }
  return true;
}

bool HostChars(std::string_view host) {
  if (host.empty()) return false;
  for (char c : host) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
          c == '_' || c == ':')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ParsedReply> Parse(const std::string& packet, std::string_view qname,
                                  RecordType type) {
  return ParseReply(reinterpret_cast<const unsigned char*>(packet.data()), packet.size(),
                    qname, type);
}

}  // namespace

// dns_names.cc's address-literal parsers call SocketAddress::set_port, which
// lives in tcp.cc with the ring; clang 14 cannot build ring.cc
// (StatusOr<io_uring_cqe>), so this fuzzer links only the two DNS files and
// stands in for the one method. It never parses an address literal: the
// stub aborts if that ever changes.
void ringmail::engine::SocketAddress::set_port(uint16_t) { std::abort(); }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr RecordType kTypes[] = {RecordType::kMx, RecordType::kA,
                                          RecordType::kAaaa, RecordType::kMx};
  static constexpr std::string_view kNames[] = {"example.com", "mx.example.com", "a",
                                                "xn--bcher-kva.example"};
  const RecordType type = kTypes[data[0] & 3];
  const std::string_view qname = kNames[(data[0] >> 2) & 3];
  // A copy of exactly the packet's size, so ASan sees any read past it.
  const std::string packet(reinterpret_cast<const char*>(data) + 1, size - 1);

  const absl::StatusOr<ParsedReply> r = Parse(packet, qname, type);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(r.status().message().substr(0, 19) == "malformed DNS reply");
    return 0;
  }
  FUZZ_CHECK(r->rcode >= 0 && r->rcode <= 15);
  FUZZ_CHECK(r->mx.size() <= kMaxMxRecords && r->addresses.size() <= kMaxAddresses);
  if (type != RecordType::kMx) FUZZ_CHECK(r->mx.empty());
  if (type == RecordType::kMx) FUZZ_CHECK(r->addresses.empty());
  for (const MxRecord& mx : r->mx) {
    FUZZ_CHECK(HostChars(mx.host));
    FUZZ_CHECK(mx.host == "." || mx.host.back() != '.');
    (void)ringmail::engine::dns::IsQueryableName(mx.host);
  }
  const int family = type == RecordType::kA ? AF_INET : AF_INET6;
  for (const SocketAddress& a : r->addresses) {
    FUZZ_CHECK(a.storage.ss_family == family);
    FUZZ_CHECK(a.len == (family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    // Port 0 (SocketAddress::port() lives in tcp.cc, with the whole ring).
    FUZZ_CHECK(family == AF_INET
              ? reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port == 0
              : reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port == 0);
  }
  if (!r->mx.empty() || !r->addresses.empty()) FUZZ_CHECK(r->answer_ttl.has_value());
  if (r->answer_ttl) FUZZ_CHECK(*r->answer_ttl < 0x80000000u);
  if (r->negative_ttl) FUZZ_CHECK(*r->negative_ttl < 0x80000000u);

  const absl::StatusOr<ParsedReply> again = Parse(packet, qname, type);
  FUZZ_CHECK(again.ok() && Same(*r, *again));
  const absl::StatusOr<ParsedReply> padded =
      Parse(packet + std::string("\xc0\x0c\0\x01\0\x01garbage", 14), qname, type);
  FUZZ_CHECK(padded.ok() && Same(*r, *padded));
  return 0;
}
