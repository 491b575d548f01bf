#include "server/privileges.h"

#include <unistd.h>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ringmail::server {
namespace {

// /proc/PID/status of a process that dropped to 999:998 as it should.
constexpr char kDropped[] =
    "Name:\tringmaild\n"
    "Uid:\t999\t999\t999\t999\n"
    "Gid:\t998\t998\t998\t998\n"
    "Groups:\t998 \n"
    "NoNewPrivs:\t1\n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t0000000000000000\n"
    "CapEff:\t0000000000000000\n"
    "CapBnd:\t000001ffffffffff\n"
    "CapAmb:\t0000000000000000\n";

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  return s;
}

TEST(PrivilegesTest, PlanRefusesRootWithoutUserUnlessAllowed) {
  EXPECT_EQ(PlanPrivileges(0, false, false), PrivilegePlan::kRefuse);
  EXPECT_EQ(PlanPrivileges(0, false, true), PrivilegePlan::kStayRoot);
  EXPECT_EQ(PlanPrivileges(0, true, false), PrivilegePlan::kDrop);
  EXPECT_EQ(PlanPrivileges(0, true, true), PrivilegePlan::kDrop);
  EXPECT_EQ(PlanPrivileges(1000, false, false), PrivilegePlan::kStayUnprivileged);
  EXPECT_EQ(PlanPrivileges(1000, true, false), PrivilegePlan::kStayUnprivileged);
}

TEST(PrivilegesTest, StatusOfADroppedProcessPasses) {
  EXPECT_TRUE(VerifyUnprivilegedStatus(kDropped, 999, 998).ok());
  // No supplementary group at all is fine too.
  EXPECT_TRUE(VerifyUnprivilegedStatus(Replace(kDropped, "Groups:\t998 \n", "Groups:\t\n"),
                                       999, 998)
                  .ok());
}

TEST(PrivilegesTest, EachLeftoverPrivilegeIsNamed) {
  struct Case {
    const char* from;
    const char* to;
    const char* named;
  } cases[] = {
      {"Uid:\t999\t999\t999\t999", "Uid:\t999\t999\t0\t999", "Uid"},  // saved UID root
      {"Gid:\t998\t998\t998\t998", "Gid:\t998\t0\t998\t998", "Gid"},
      {"Groups:\t998 ", "Groups:\t0 998 ", "supplementary"},
      {"NoNewPrivs:\t1", "NoNewPrivs:\t0", "NoNewPrivs"},
      {"CapPrm:\t0000000000000000", "CapPrm:\t0000000000000400", "CapPrm"},
      {"CapEff:\t0000000000000000", "CapEff:\t0000000000000400", "CapEff"},
      {"CapAmb:\t0000000000000000", "CapAmb:\t0000000000000400", "CapAmb"},
  };
  for (const Case& c : cases) {
    absl::Status s = VerifyUnprivilegedStatus(Replace(kDropped, c.from, c.to), 999, 998);
    EXPECT_TRUE(absl::IsFailedPrecondition(s)) << c.to;
    EXPECT_NE(s.message().find(c.named), std::string_view::npos) << s;
  }
  // A status without the fields (an old kernel, a wrong file) is no proof.
  EXPECT_FALSE(VerifyUnprivilegedStatus("Name:\tx\n", 999, 998).ok());
}

TEST(PrivilegesTest, ResolvesUsersAndRefusesRoot) {
  // "nobody" exists on every Debian system (65534:65534).
  absl::StatusOr<RunAs> nobody = ResolveRunAs("nobody", "");
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_EQ(nobody->gid, 65534u);
  absl::StatusOr<RunAs> numeric = ResolveRunAs("4242", "4343");
  ASSERT_TRUE(numeric.ok()) << numeric.status();
  EXPECT_EQ(numeric->uid, 4242u);
  EXPECT_EQ(numeric->gid, 4343u);
  EXPECT_TRUE(absl::IsNotFound(ResolveRunAs("no-such-user-ringmail", "").status()));
  EXPECT_TRUE(absl::IsNotFound(ResolveRunAs("nobody", "no-such-group-ringmail").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveRunAs("root", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveRunAs("nobody", "0").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveRunAs("4242", "").status()));
}

}  // namespace
}  // namespace ringmail::server
