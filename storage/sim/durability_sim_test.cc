// A bounded number of seeds of the durability simulation, plus the seeds
// that once found a bug (regressions). tools/sim runs more.
#include <sstream>

#include "gtest/gtest.h"
#include "storage/sim/durability_sim.h"

namespace ringmail::storage::sim {
namespace {

TEST(DurabilitySimTest, SeedsPass) {
  std::ostringstream out;
  SeedBatchResult r = RunSeeds(1, 30, /*jobs=*/1, /*max_seconds=*/0, false, out);
  EXPECT_EQ(r.failed, 0u) << out.str();
  EXPECT_EQ(r.run, 30u);
}

TEST(DurabilitySimTest, SameSeedSameSteps) {
  for (uint64_t seed : {3, 17, 101}) {
    SimRunResult a = RunSimulation(seed, SimRunOptions());
    SimRunResult b = RunSimulation(seed, SimRunOptions());
    EXPECT_EQ(a.trace_hash, b.trace_hash) << seed;
    EXPECT_EQ(a.summary, b.summary) << seed;
    EXPECT_EQ(a.failure, b.failure) << seed;
  }
}

}  // namespace
}  // namespace ringmail::storage::sim
