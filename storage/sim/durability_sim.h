// Deterministic durability simulation of ringmail's storage (docs/durability.md,
// "Deterministic simulation").
//
// One seed drives a whole run on the simulated file system
// (engine/testing/sim_fs.h): a configuration (journal or fsync mode,
// O_TMPFILE, batch and chunk sizes, checkpoint interval, fault rates), an
// SMTP-like workload (sessions streaming messages to 1-3 local Maildirs and
// the relay spool through the real storage::DeliveryQueue and journal), a
// relay that reads queue files and records outcomes in the real
// queue::StateLog (removed records, unlinks, compactions), an IMAP-like
// client moving and expunging delivered files, a power cut at a step drawn
// from the seed (sometimes a graceful shutdown instead), and then the real
// start-up: RecoverJournalDir, RecoverMailRoot, PrepareSpool,
// LoadCoreSpool, OpenStateLogFile, OpenJournalFile — itself possibly cut
// short by another power cut. After every start-up the invariants of
// docs/durability.md and docs/queue.md are checked; then the next epoch
// runs on the recovered state (1-3 epochs per seed).
//
// A failing seed prints its violation and how to replay it:
//   tools/sim --seed N [--verbose]
#ifndef RINGMAIL_STORAGE_SIM_DURABILITY_SIM_H_
#define RINGMAIL_STORAGE_SIM_DURABILITY_SIM_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace ringmail::storage::sim {

struct SimRunOptions {
  // Keep the storage log and the event log and return them in `log`.
  bool verbose = false;
  // Also record every simulated I/O completion (large).
  bool trace_io = false;
};

struct SimRunResult {
  bool ok = true;
  std::string failure;  // the first invariant violated, with context
  std::string summary;  // configuration and counters, one line
  uint64_t trace_hash = 0;  // same seed => same hash (determinism check)
  std::string log;      // with verbose: what happened, in order
};

// Runs one seed in this process.
SimRunResult RunSimulation(uint64_t seed, const SimRunOptions& options);

struct SeedBatchResult {
  uint64_t passed = 0;
  uint64_t failed = 0;
  std::vector<uint64_t> failed_seeds;
  uint64_t run = 0;  // seeds run (fewer than asked if the time ran out)
  double cpu_seconds = 0;  // user + system time of the seeds' processes
};

// Makes a RunSeeds in progress start no more seeds (it still waits for the
// ones running and returns their results). Async-signal-safe: for a
// SIGINT/SIGTERM handler.
void RequestStop();

// Runs seeds first .. first+count-1, each in a child process (so a crash or
// sanitizer abort in one seed fails that seed only), at most `jobs` at a
// time, stopping early after `max_seconds` (0: no limit) or RequestStop().
// Prints a line per failing seed (with the replay command), with `verbose`
// per seed, and a progress line every 5 minutes.
SeedBatchResult RunSeeds(uint64_t first, uint64_t count, int jobs,
                         double max_seconds, bool verbose, std::ostream& out);

}  // namespace ringmail::storage::sim

#endif  // RINGMAIL_STORAGE_SIM_DURABILITY_SIM_H_
