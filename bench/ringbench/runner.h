// Runs one ringbench workload: one engine loop per thread, the clients of
// the mode spread over them, a progress line each second, and server
// samples from /proc when a PID is given.
#ifndef RINGMAIL_BENCH_RINGBENCH_RUNNER_H_
#define RINGMAIL_BENCH_RINGBENCH_RUNNER_H_

#include <atomic>
#include <optional>

#include "absl/status/statusor.h"
#include "bench/ringbench/options.h"
#include "bench/ringbench/stats.h"

namespace ringmail::ringbench {

struct RunResult {
  explicit RunResult(int64_t start_ns) : rec(start_ns) {}
  Recorder rec;
  double elapsed_s = 0;
  std::optional<ServerSample> server_before, server_after;
  // idle mode: the server sample taken when the most sessions were open.
  std::optional<ServerSample> server_at_peak;
  int64_t peak_sessions = 0;
};

// Set by the SIGINT handler: the run winds down as at the deadline.
extern std::atomic<bool> g_interrupted;

// Errors: Internal when io_uring or a loop cannot be set up.
absl::StatusOr<RunResult> Run(const Options& opts);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_RUNNER_H_
