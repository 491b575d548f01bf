#include "bench/ringbench/stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace ringmail::ringbench {

void Recorder::Op(const std::string& name, int64_t latency_ns, int64_t end_ns,
                  uint64_t bytes) {
  OpStats& s = ops_[name];
  s.latency.Record(latency_ns <= 0 ? 0 : static_cast<uint64_t>(latency_ns + 999) / 1000);
  s.bytes += bytes;
  int64_t sec = (end_ns - start_ns_) / 1'000'000'000;
  if (sec >= 0 && static_cast<size_t>(sec) < kMaxSeconds) {
    if (s.per_second.size() <= static_cast<size_t>(sec)) s.per_second.resize(sec + 1);
    ++s.per_second[sec];
  }
  live_ops.fetch_add(1, std::memory_order_relaxed);
}

void Recorder::Error(const std::string& kind) {
  ++errors_[kind];
  live_errors.fetch_add(1, std::memory_order_relaxed);
}

void Recorder::Example(const std::string& kind, std::string detail) {
  std::vector<std::string>& v = examples_[kind];
  if (v.size() < kMaxExamples) v.push_back(std::move(detail));
}

void Recorder::Merge(const Recorder& o) {
  for (const auto& [name, s] : o.ops_) {
    OpStats& d = ops_[name];
    d.latency.Merge(s.latency);
    d.bytes += s.bytes;
    if (d.per_second.size() < s.per_second.size()) d.per_second.resize(s.per_second.size());
    for (size_t i = 0; i < s.per_second.size(); ++i) d.per_second[i] += s.per_second[i];
  }
  for (const auto& [kind, n] : o.errors_) errors_[kind] += n;
  for (const auto& [kind, v] : o.examples_) {
    for (const std::string& e : v) Example(kind, e);
  }
}

uint64_t Recorder::total_ops() const {
  uint64_t n = 0;
  for (const auto& [name, s] : ops_) n += s.latency.count();
  return n;
}

uint64_t Recorder::total_errors() const {
  uint64_t n = 0;
  for (const auto& [kind, c] : errors_) n += c;
  return n;
}

absl::StatusOr<ServerSample> SampleServer(int pid) {
  ServerSample out;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // comm (field 2) may hold spaces and parentheses: fields restart after
  // the last ')'. utime and stime are fields 14 and 15 (proc(5)).
  size_t close = text.rfind(')');
  if (close == std::string::npos) return absl::InternalError("bad /proc/PID/stat");
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && (fields >> f); ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  long hz = sysconf(_SC_CLK_TCK);
  out.cpu_us = (utime + stime) * 1'000'000 / static_cast<uint64_t>(hz > 0 ? hz : 100);
  std::ifstream rollup(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  if (!rollup) return absl::PermissionDeniedError("cannot read smaps_rollup");
  std::string line;
  while (std::getline(rollup, line)) {
    std::istringstream ls(line);
    std::string key;
    uint64_t kb = 0;
    ls >> key >> kb;
    if (key == "Rss:") out.rss_kb = kb;
    if (key == "Pss:") out.pss_kb = kb;
  }
  return out;
}

}  // namespace ringmail::ringbench
