// tools/sim: runs the durability simulation (durability_sim.h).
//
//   durability_sim --seed N [--verbose] [--trace-io]
//       one seed in this process; prints its summary, or its violation and
//       what happened before it; also checks that a second run of the same
//       seed takes exactly the same steps
//   durability_sim --seeds N [--start S] [--jobs J] [--max-seconds T] [--verbose]
//       seeds S .. S+N-1 (S defaults to 1), one child process each, J at a
//       time; stops starting new seeds after T seconds; ends with
//       "COUNTS <passed> <failed>" and "<passed> passed, <failed> failed";
//       ^C (or SIGTERM) starts no more seeds and still prints the summary
//
// Exit status: 0 if every seed passed, 1 otherwise, 2 on bad usage.
#include <signal.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "storage/sim/durability_sim.h"

namespace {

int Usage() {
  std::cerr << "usage: durability_sim --seed N [--verbose] [--trace-io]\n"
               "       durability_sim --seeds N [--start S] [--jobs J] "
               "[--max-seconds T] [--verbose]\n";
  return 2;
}

bool ParseU64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using ringmail::storage::sim::RunSeeds;
  using ringmail::storage::sim::RunSimulation;
  using ringmail::storage::sim::SimRunOptions;
  uint64_t seed = 0, seeds = 0, start = 1, jobs = 1, max_seconds = 0;
  bool have_seed = false, have_seeds = false;
  SimRunOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](uint64_t* out) {
      return i + 1 < argc && ParseU64(argv[++i], out);
    };
    if (a == "--seed") {
      if (!value(&seed)) return Usage();
      have_seed = true;
    } else if (a == "--seeds") {
      if (!value(&seeds)) return Usage();
      have_seeds = true;
    } else if (a == "--start") {
      if (!value(&start)) return Usage();
    } else if (a == "--jobs") {
      if (!value(&jobs)) return Usage();
    } else if (a == "--max-seconds") {
      if (!value(&max_seconds)) return Usage();
    } else if (a == "--verbose") {
      options.verbose = true;
    } else if (a == "--trace-io") {
      options.verbose = true;
      options.trace_io = true;
    } else {
      return Usage();
    }
  }
  if (have_seed == have_seeds) return Usage();
  if (have_seed) {
    auto r = RunSimulation(seed, options);
    if (!r.log.empty()) std::cout << r.log;
    std::cout << "seed " << seed << ": " << (r.ok ? "ok" : "FAIL") << "\n  "
              << r.summary << "\n  trace " << std::hex << r.trace_hash << std::dec
              << "\n";
    if (!r.ok) {
      std::cout << "  violation: " << r.failure << "\n";
      return 1;
    }
    auto again = RunSimulation(seed, SimRunOptions());
    if (again.trace_hash != r.trace_hash || again.summary != r.summary) {
      std::cout << "  NOT DETERMINISTIC: a second run took other steps ("
                << std::hex << again.trace_hash << std::dec << ")\n";
      return 1;
    }
    std::cout << "  replayed: same steps\n";
    return 0;
  }
  // ^C or SIGTERM: no new seeds; the summary still comes.
  struct sigaction sa {};
  sa.sa_handler = [](int) { ringmail::storage::sim::RequestStop(); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  auto result = RunSeeds(start, seeds, static_cast<int>(jobs),
                         static_cast<double>(max_seconds), options.verbose, std::cout);
  std::cout << "seeds " << start << ".." << (start + result.run - (result.run ? 1 : 0))
            << " run: " << result.run << " of " << seeds << " in "
            << static_cast<int64_t>(result.cpu_seconds) << " CPU seconds\n";
  std::cout << "COUNTS " << result.passed << " " << result.failed << "\n";
  std::cout << result.passed << " passed, " << result.failed << " failed\n";
  return result.failed == 0 && result.run == seeds ? 0 : 1;
}
