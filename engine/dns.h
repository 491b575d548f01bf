// Asynchronous DNS for one core: c-ares does the protocol (query ids,
// retries, server rotation, TCP fallback on truncation), the core's io_uring
// does the waiting (one POLL_ADD per c-ares socket) and the Loop's timers
// drive c-ares' timeouts. Answers are cached per (name, type) for their TTL.
//
// The engine knows nothing about mail; MX is just a record type here. The
// RFC 5321 §5.1 ordering of MX hosts lives in server/relay/mx_plan.h.
//
// Loop thread only: create, call and destroy a DnsResolver on its Loop's
// thread; the Loop must outlive it.
#ifndef RINGMAIL_ENGINE_DNS_H_
#define RINGMAIL_ENGINE_DNS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/dns_reply.h"  // MxRecord
#include "engine/loop.h"
#include "engine/tcp.h"  // SocketAddress

namespace ringmail::engine {

struct DnsOptions {
  // "IP[:PORT][,...]": IPv4, "[IPv6]:PORT", or a bare IPv6 (port 53); at
  // most dns::kMaxServers (engine/dns_names.h). Empty: the nameservers of
  // /etc/resolv.conf, read once by Create.
  std::string servers;
  // Per try. c-ares doubles it after each round over all servers, so one
  // server with tries = 3 gives up after (1 + 2 + 4) x timeout (35 s here).
  absl::Duration timeout = absl::Seconds(5);
  int tries = 3;
  // Cached (name, type) answers; the oldest entry is evicted first. 0: none.
  size_t max_cache_entries = 100000;
  // Upper bound on how long any answer is cached, whatever its TTL.
  absl::Duration max_ttl = absl::Hours(24);
  // How long NXDOMAIN and NODATA are cached: the SOA's negative TTL
  // (RFC 2308 §5) when the server sends one, but never more than this.
  absl::Duration negative_ttl = absl::Minutes(5);
  // Distinct (name, type) queries on the wire at once; beyond this a lookup
  // fails with Unavailable (the caller defers and retries).
  size_t max_pending_queries = 10000;
};

// Callers waiting on one in-flight (name, type) query; more get Unavailable.
inline constexpr size_t kMaxDnsWaitersPerQuery = 1000;

struct MxAnswer {
  // OK (records may be empty: NODATA, the name exists without MX records);
  // NotFound (NXDOMAIN, or a name that cannot exist in the DNS);
  // Unavailable (SERVFAIL, REFUSED, timeout, malformed reply, too many
  // queries: temporary).
  absl::Status status;
  std::vector<MxRecord> records;  // packet order; see MxRecord for the root
  absl::Time expires;             // when the cached answer goes stale
};

struct AddressAnswer {
  // OK when either family gave addresses (a temporary failure of the other
  // is then ignored) or both answered without any (NODATA); NotFound only
  // when both said NXDOMAIN; otherwise Unavailable.
  absl::Status status;
  std::vector<SocketAddress> addresses;  // port 0; IPv4 first, then IPv6
  absl::Time expires;
};

class DnsResolver {
 public:
  // Sets up a c-ares channel that uses `loop`'s ring. Fails with
  // InvalidArgument for bad options (unparsable servers, tries < 1,
  // timeout <= 0, max_pending_queries == 0) and Unavailable when c-ares
  // cannot initialise (e.g. out of memory).
  static absl::StatusOr<std::unique_ptr<DnsResolver>> Create(
      Loop* loop, const DnsOptions& options);
  // Abandons queries in flight: their callbacks never run, not even ones
  // already queued on the loop. In-flight ring polls are cancelled and free
  // themselves when their completion arrives (or with the ring).
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Looks up the MX records of `domain` (case and one trailing dot are
  // ignored). `done` runs exactly once, later (never inside this call), on
  // the loop's thread, unless the resolver is destroyed first. It may call
  // back into the resolver or destroy it.
  void ResolveMx(std::string_view domain,
                 absl::AnyInvocable<void(const MxAnswer&)> done);
  // Looks up A and AAAA of `host` (both queried, each cached on its own).
  // An IP literal ("192.0.2.1", "2001:db8::1", "[2001:db8::1]",
  // "[IPv6:2001:db8::1]") answers itself without a query. Same callback
  // rules as ResolveMx.
  void ResolveAddresses(std::string_view host,
                        absl::AnyInvocable<void(const AddressAnswer&)> done);

  // Cached answers, including stale ones not yet dropped.
  size_t cache_size() const;

 private:
  class Impl;
  explicit DnsResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_DNS_H_
