// Which hosts to try, in which order, for mail to a domain: RFC 5321 §5.1
// applied to an MX answer, with RFC 7505 null MX. Pure: no I/O; the caller
// resolved the MX records (engine::DnsResolver::ResolveMx) and resolves each
// host's addresses in turn.
#ifndef RINGMAIL_SERVER_RELAY_MX_PLAN_H_
#define RINGMAIL_SERVER_RELAY_MX_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "engine/dns.h"

namespace ringmail::server::relay {

// Hosts tried per delivery attempt at most (the most preferred ones); a
// domain publishing more gains nothing but longer attempts.
inline constexpr size_t kMaxMxHostsTried = 10;

struct MxHost {
  std::string host;  // lower-case, no trailing dot; may be an IP literal
  uint16_t preference;
};

struct MxPlan {
  // OK: `hosts` is non-empty.
  // FailedPrecondition: null MX, the domain accepts no mail (RFC 7505 §3;
  //   the caller bounces 556 5.1.10).
  // NotFound: the domain does not exist (NXDOMAIN; bounce 5.1.2).
  // Unavailable: DNS failed temporarily (defer). Any other status in the
  //   answer is reported as Unavailable too: never bounce on an unknown.
  absl::Status status;
  // In try order: ascending preference, equal preferences shuffled. For a
  // domain without MX records (NODATA) the domain itself as implicit MX,
  // preference 0 (RFC 5321 §5.1).
  std::vector<MxHost> hosts;
};

// Builds the plan for `domain` from its MX `answer`:
//  - records whose target is the root (".") are dropped when other records
//    exist; when every record points at the root it is a null MX. RFC 7505
//    §3 asks for exactly one such record with preference 0, but a root-only
//    set of any other shape cannot be delivered to either and must not fall
//    back to the implicit MX, so it is treated the same;
//  - a host listed twice keeps its best (lowest) preference;
//  - an IP literal target is kept as a host name (address resolution
//    accepts literals);
//  - at most kMaxMxHostsTried hosts, the most preferred.
// `random` shuffles hosts of equal preference (RFC 5321 §5.1: "randomize
// among equal preferences" so load spreads over them).
MxPlan PlanFromMx(std::string_view domain, const engine::MxAnswer& answer,
                  absl::FunctionRef<uint64_t()> random);

}  // namespace ringmail::server::relay

#endif  // RINGMAIL_SERVER_RELAY_MX_PLAN_H_
