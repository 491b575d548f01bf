// What one run measures: per operation type a latency histogram and counts
// per second; errors by kind; and, given a server PID, the server's CPU time
// and memory from /proc. Each loop thread fills its own Recorder; they are
// merged once at the end.
#ifndef RINGMAIL_BENCH_RINGBENCH_STATS_H_
#define RINGMAIL_BENCH_RINGBENCH_STATS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/ringbench/histogram.h"

namespace ringmail::ringbench {

struct OpStats {
  Histogram latency;                 // µs
  std::vector<uint64_t> per_second;  // completions in second i of the run
  uint64_t bytes = 0;                // payload moved (messages, bodies)
};

class Recorder {
 public:
  // Seconds kept in the time series; later completions count in totals only.
  static constexpr size_t kMaxSeconds = 3600;
  explicit Recorder(int64_t start_ns) : start_ns_(start_ns) {}
  // Copies the figures (the live counters as they are now).
  Recorder(const Recorder& o)
      : live_ops(o.live_ops.load()), live_errors(o.live_errors.load()),
        start_ns_(o.start_ns_), ops_(o.ops_), errors_(o.errors_), examples_(o.examples_) {}
  Recorder& operator=(const Recorder&) = delete;

  // An operation that completed at `end_ns` and took `latency_ns` (from
  // its intended start in open loop).
  void Op(const std::string& name, int64_t latency_ns, int64_t end_ns,
          uint64_t bytes = 0);
  void Error(const std::string& kind);
  // Keeps `detail` as an example of error `kind` (the first kMaxExamples
  // per kind) for the report.
  static constexpr size_t kMaxExamples = 3;
  void Example(const std::string& kind, std::string detail);
  void Merge(const Recorder& o);

  const std::map<std::string, OpStats>& ops() const { return ops_; }
  const std::map<std::string, uint64_t>& errors() const { return errors_; }
  const std::map<std::string, std::vector<std::string>>& examples() const { return examples_; }
  uint64_t total_ops() const;
  uint64_t total_errors() const;

  // Read by the progress thread (relaxed; only a display).
  std::atomic<uint64_t> live_ops{0};
  std::atomic<uint64_t> live_errors{0};

 private:
  int64_t start_ns_;
  std::map<std::string, OpStats> ops_;
  std::map<std::string, uint64_t> errors_;
  std::map<std::string, std::vector<std::string>> examples_;
};

// A server's resource use from /proc/PID.
struct ServerSample {
  uint64_t cpu_us = 0;   // utime + stime
  uint64_t rss_kb = 0;   // smaps_rollup Rss
  uint64_t pss_kb = 0;   // smaps_rollup Pss
};
// Errors: NotFound (no such process), PermissionDenied, Internal (format).
absl::StatusOr<ServerSample> SampleServer(int pid);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_STATS_H_
