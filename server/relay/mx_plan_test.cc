#include "server/relay/mx_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace ringmail::server::relay {
namespace {

engine::MxAnswer Ok(std::vector<engine::MxRecord> records) {
  engine::MxAnswer a;
  a.status = absl::OkStatus();
  a.records = std::move(records);
  return a;
}

std::vector<std::string> Hosts(const MxPlan& p) {
  std::vector<std::string> out;
  for (const MxHost& h : p.hosts) out.push_back(h.host);
  return out;
}

// A fixed sequence of "random" numbers, repeated.
struct Sequence {
  std::vector<uint64_t> values;
  size_t next = 0;
  uint64_t operator()() { return values[next++ % values.size()]; }
};

uint64_t Zero() { return 0; }

TEST(MxPlan, SortsByPreference) {
  MxPlan p = PlanFromMx("example.com",
                        Ok({{30, "c.example.com"}, {10, "a.example.com"}, {20, "b.example.com"}}),
                        Zero);
  ASSERT_TRUE(p.status.ok()) << p.status;
  EXPECT_EQ(Hosts(p),
            (std::vector<std::string>{"a.example.com", "b.example.com", "c.example.com"}));
  EXPECT_EQ(p.hosts[0].preference, 10);
  EXPECT_EQ(p.hosts[2].preference, 30);
}

TEST(MxPlan, ShufflesOnlyAmongEqualPreferences) {
  engine::MxAnswer a = Ok({{10, "x1"}, {10, "x2"}, {10, "x3"}, {5, "first"}, {20, "last"}});
  std::set<std::vector<std::string>> orders;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Sequence random{{seed * 7919 + 1, seed * 104729 + 3, seed + 11}};
    MxPlan p = PlanFromMx("example.com", a, std::ref(random));
    ASSERT_TRUE(p.status.ok());
    ASSERT_EQ(p.hosts.size(), 5u);
    EXPECT_EQ(p.hosts.front().host, "first");
    EXPECT_EQ(p.hosts.back().host, "last");
    std::vector<std::string> middle = {p.hosts[1].host, p.hosts[2].host, p.hosts[3].host};
    EXPECT_EQ(std::set<std::string>(middle.begin(), middle.end()),
              (std::set<std::string>{"x1", "x2", "x3"}));
    orders.insert(middle);
  }
  // The randomness reaches the order: more than one permutation appears.
  EXPECT_GT(orders.size(), 1u);
}

TEST(MxPlan, NodataMeansImplicitMx) {
  MxPlan p = PlanFromMx("Example.COM.", Ok({}), Zero);
  ASSERT_TRUE(p.status.ok()) << p.status;
  ASSERT_EQ(p.hosts.size(), 1u);
  EXPECT_EQ(p.hosts[0].host, "example.com");
  EXPECT_EQ(p.hosts[0].preference, 0);
}

TEST(MxPlan, NullMxIsFailedPrecondition) {
  MxPlan p = PlanFromMx("example.com", Ok({{0, "."}}), Zero);
  EXPECT_TRUE(absl::IsFailedPrecondition(p.status)) << p.status;
  EXPECT_TRUE(p.hosts.empty());
  // Off-spec shapes pointing only at the root still mean "no mail" (and must
  // not fall back to the implicit MX).
  EXPECT_TRUE(absl::IsFailedPrecondition(PlanFromMx("example.com", Ok({{10, "."}}), Zero).status));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      PlanFromMx("example.com", Ok({{0, "."}, {5, ""}}), Zero).status));
}

TEST(MxPlan, RootMixedWithRealHostsIsIgnored) {
  MxPlan p = PlanFromMx("example.com", Ok({{0, "."}, {10, "mx.example.com"}}), Zero);
  ASSERT_TRUE(p.status.ok()) << p.status;
  EXPECT_EQ(Hosts(p), (std::vector<std::string>{"mx.example.com"}));
}

TEST(MxPlan, DuplicateHostKeepsBestPreference) {
  MxPlan p = PlanFromMx(
      "example.com", Ok({{20, "a.example.com"}, {15, "b.example.com"}, {10, "A.example.com."}}),
      Zero);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.hosts.size(), 2u);
  EXPECT_EQ(p.hosts[0].host, "a.example.com");
  EXPECT_EQ(p.hosts[0].preference, 10);
  EXPECT_EQ(p.hosts[1].host, "b.example.com");
}

TEST(MxPlan, IpLiteralTargetIsKeptAsAHost) {
  MxPlan p = PlanFromMx("example.com", Ok({{10, "192.0.2.1"}, {20, "mx.example.com"}}), Zero);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(Hosts(p), (std::vector<std::string>{"192.0.2.1", "mx.example.com"}));
}

TEST(MxPlan, AtMostTheLimitKeepingTheMostPreferred) {
  std::vector<engine::MxRecord> records;
  for (int i = 0; i < 15; ++i) {
    records.push_back({static_cast<uint16_t>(100 - i), "mx" + std::to_string(i) + ".example"});
  }
  MxPlan p = PlanFromMx("example", Ok(records), Zero);
  ASSERT_TRUE(p.status.ok());
  ASSERT_EQ(p.hosts.size(), kMaxMxHostsTried);
  EXPECT_EQ(p.hosts.front().preference, 86);
  EXPECT_EQ(p.hosts.back().preference, 95);
}

TEST(MxPlan, DnsFailuresPassThrough) {
  engine::MxAnswer nx;
  nx.status = absl::NotFoundError("no such domain");
  EXPECT_TRUE(absl::IsNotFound(PlanFromMx("example.com", nx, Zero).status));
  engine::MxAnswer servfail;
  servfail.status = absl::UnavailableError("SERVFAIL");
  MxPlan p = PlanFromMx("example.com", servfail, Zero);
  EXPECT_TRUE(absl::IsUnavailable(p.status));
  EXPECT_TRUE(p.hosts.empty());
  // Anything unexpected defers rather than bounces.
  engine::MxAnswer odd;
  odd.status = absl::InternalError("surprise");
  EXPECT_TRUE(absl::IsUnavailable(PlanFromMx("example.com", odd, Zero).status));
  // Records in a failed answer are not used.
  servfail.records = {{10, "mx.example.com"}};
  EXPECT_TRUE(PlanFromMx("example.com", servfail, Zero).hosts.empty());
}

}  // namespace
}  // namespace ringmail::server::relay
