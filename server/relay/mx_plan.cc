#include "server/relay/mx_plan.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace ringmail::server::relay {
namespace {

// Same normalization as engine/dns applies, repeated so that a plan built
// from any answer (tests, a future source) compares names the same way.
std::string Normalize(std::string_view name) {
  if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsRoot(std::string_view host) { return host.empty() || host == "."; }

}  // namespace

MxPlan PlanFromMx(std::string_view domain, const engine::MxAnswer& answer,
                  absl::FunctionRef<uint64_t()> random) {
  MxPlan plan;
  if (absl::IsNotFound(answer.status)) {
    plan.status = answer.status;
    return plan;
  }
  if (!answer.status.ok()) {
    plan.status = absl::IsUnavailable(answer.status)
                      ? answer.status
                      : absl::UnavailableError(answer.status.message());
    return plan;
  }
  if (answer.records.empty()) {
    // RFC 5321 §5.1: no MX records, so the domain is its own implicit MX.
    plan.hosts.push_back(MxHost{Normalize(domain), 0});
    plan.status = absl::OkStatus();
    return plan;
  }

  // Best preference per host, in first-seen order (the shuffle below does
  // not depend on the order the server listed them).
  absl::flat_hash_map<std::string, size_t> index;
  for (const engine::MxRecord& r : answer.records) {
    std::string host = Normalize(r.host);
    if (IsRoot(host)) continue;
    auto [it, inserted] = index.try_emplace(host, plan.hosts.size());
    if (inserted) {
      plan.hosts.push_back(MxHost{std::move(host), r.preference});
    } else {
      MxHost& h = plan.hosts[it->second];
      h.preference = std::min(h.preference, r.preference);
    }
  }
  if (plan.hosts.empty()) {
    // Every record points at the root: RFC 7505 null MX.
    plan.status = absl::FailedPreconditionError(
        absl::StrCat(Normalize(domain), " publishes a null MX (RFC 7505): it accepts no mail"));
    return plan;
  }

  std::stable_sort(plan.hosts.begin(), plan.hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  // Fisher-Yates within each run of equal preference.
  for (size_t begin = 0; begin < plan.hosts.size();) {
    size_t end = begin + 1;
    while (end < plan.hosts.size() && plan.hosts[end].preference == plan.hosts[begin].preference) {
      ++end;
    }
    for (size_t i = end - begin; i > 1; --i) {
      size_t j = static_cast<size_t>(random() % i);
      std::swap(plan.hosts[begin + i - 1], plan.hosts[begin + j]);
    }
    begin = end;
  }
  if (plan.hosts.size() > kMaxMxHostsTried) plan.hosts.resize(kMaxMxHostsTried);
  assert(!plan.hosts.empty());
  plan.status = absl::OkStatus();
  return plan;
}

}  // namespace ringmail::server::relay
