// SELECT cost of a 100,000-message Maildir folder:
//   Cold:     no ringmail-index: scan + stat every file + assign UIDs
//             (uidlist rewrite under the dotlock).
//   Warm:     ringmail-index present (a new process): map the index, stat
//             new/, cur/ and the uidlist; nothing listed, parsed or
//             stat'ed per message (the directories' stamps are settled).
//   Resync:   second sync of an index already in memory (stat only).
//   Relist:   the same with the stamps forgotten: cur/ listed and every
//             name matched (what a change in cur/ costs).
//   ColdPhases: the cold sync step by step (counters in ms).
// Run with: bazel run -c opt //bench:mailbox_bench
// MAILBOX_BENCH_FOLDER=<Maildir> MAILBOX_BENCH_MESSAGES=<n> measures an
// existing folder instead (e.g. bench/lib/large_tree.py's 1,000,000);
// its ringmail-index and dovecot-uidlist are deleted by the cold runs.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <cstdio>
#include <string>

#include "benchmark/benchmark.h"
#include "storage/mailbox/folder_sync.h"

namespace {

using ringmail::storage::FolderIndex;
using ringmail::storage::LoadIndexFileBlocking;
using ringmail::storage::SaveIndexFileBlocking;
using ringmail::storage::SyncFolderBlocking;
using ringmail::storage::SyncLimits;

size_t Messages() {
  const char* n = getenv("MAILBOX_BENCH_MESSAGES");
  return n != nullptr ? strtoul(n, nullptr, 10) : 100'000;
}

const std::string& Folder() {
  static const std::string dir = []() -> std::string {
    if (const char* given = getenv("MAILBOX_BENCH_FOLDER")) return given;
    const size_t kMessages = Messages();
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mbxbenchXXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    for (const char* s : {"/tmp", "/new", "/cur"}) {
      mkdir((tmpl + s).c_str(), 0700);
    }
    for (size_t i = 0; i < kMessages; ++i) {
      std::string name = tmpl + "/cur/" + std::to_string(1600000000 + i) +
                         ".M" + std::to_string(i % 1000000) +
                         "P1Q0_1.bench,S=2000,W=2040:2," + (i % 3 ? "S" : "");
      FILE* f = fopen(name.c_str(), "w");
      if (f == nullptr) abort();
      fclose(f);
    }
    // Last changed an hour ago: the stamps a sync records are settled.
    const time_t old = time(nullptr) - 3600;
    for (const char* s : {"/tmp", "/new", "/cur"}) {
      struct timespec ts[2] = {{old, 0}, {old, 0}};
      utimensat(AT_FDCWD, (tmpl + s).c_str(), ts, 0);
    }
    return tmpl;
  }();
  return dir;
}

void RemoveState(const std::string& dir) {
  unlink((dir + "/dovecot-uidlist").c_str());
  unlink((dir + "/ringmail-index").c_str());
}

void BM_SelectCold(benchmark::State& state) {
  const std::string& dir = Folder();
  for (auto _ : state) {
    state.PauseTiming();
    RemoveState(dir);
    FolderIndex index;
    state.ResumeTiming();
    auto r = SyncFolderBlocking(dir, index, absl::Now(), SyncLimits());
    if (!r.ok() || index.size() != Messages()) state.SkipWithError("sync");
  }
}
BENCHMARK(BM_SelectCold)->Unit(benchmark::kMillisecond)->Iterations(3);

// The cold sync's steps, timed separately (what FolderState runs on the
// helper and on the core), plus the first save: wall and thread CPU time
// in ms (on a shared machine the CPU figures are the stable ones).
double ThreadCpuMs() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void BM_ColdPhases(benchmark::State& state) {
  using ringmail::storage::FolderScan;
  using ringmail::storage::ResolveNewMessagesBlocking;
  using ringmail::storage::ScanFolder;
  const std::string& dir = Folder();
  const char* names[] = {"scan", "apply", "resolve", "add", "save"};
  double wall[5] = {}, cpu[5] = {};
  absl::Time t0;
  double c0 = 0;
  auto start = [&] {
    t0 = absl::Now();
    c0 = ThreadCpuMs();
  };
  auto stop = [&](int k) {
    wall[k] += absl::ToDoubleMilliseconds(absl::Now() - t0);
    cpu[k] += ThreadCpuMs() - c0;
  };
  for (auto _ : state) {
    state.PauseTiming();
    RemoveState(dir);
    FolderIndex index;
    state.ResumeTiming();
    start();
    auto scan = ScanFolder(dir, index.hints(), absl::Now(), SyncLimits());
    if (!scan.ok()) return state.SkipWithError("scan");
    stop(0);
    start();
    auto applied = index.ApplyScan(*scan);
    stop(1);
    start();
    auto resolved = ResolveNewMessagesBlocking(dir, std::move(applied.pending),
                                               index.uid_validity(), absl::Now(), SyncLimits());
    if (!resolved.ok()) return state.SkipWithError("resolve");
    stop(2);
    start();
    if (!index.ApplyResolved(*std::move(resolved)).ok()) return state.SkipWithError("apply");
    stop(3);
    start();
    auto image = SaveIndexFileBlocking(dir, index);
    if (!image.ok() || !index.Rebase(*image, index.generation())) {
      return state.SkipWithError("save");
    }
    stop(4);
  }
  const double n = static_cast<double>(state.iterations());
  for (int k = 0; k < 5; ++k) {
    state.counters[std::string(names[k]) + "_ms"] = wall[k] / n;
    state.counters[std::string(names[k]) + "_cpu_ms"] = cpu[k] / n;
  }
}
BENCHMARK(BM_ColdPhases)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_SelectWarm(benchmark::State& state) {
  const std::string& dir = Folder();
  {
    FolderIndex index;
    if (!SyncFolderBlocking(dir, index, absl::Now(), SyncLimits()).ok() ||
        !SaveIndexFileBlocking(dir, index).ok()) {
      state.SkipWithError("setup");
    }
  }
  for (auto _ : state) {
    auto index = LoadIndexFileBlocking(dir, SyncLimits());
    if (!index.ok()) state.SkipWithError("load");
    auto r = SyncFolderBlocking(dir, *index, absl::Now(), SyncLimits());
    if (!r.ok() || index->parse_count() != 0) state.SkipWithError("sync");
  }
}
BENCHMARK(BM_SelectWarm)->Unit(benchmark::kMicrosecond)->Iterations(20);

void BM_ResyncInMemory(benchmark::State& state) {
  const std::string& dir = Folder();
  FolderIndex index;
  if (!SyncFolderBlocking(dir, index, absl::Now(), SyncLimits()).ok()) {
    state.SkipWithError("setup");
  }
  for (auto _ : state) {
    auto r = SyncFolderBlocking(dir, index, absl::Now(), SyncLimits());
    if (!r.ok()) state.SkipWithError("sync");
  }
}
BENCHMARK(BM_ResyncInMemory)->Unit(benchmark::kMicrosecond)->Iterations(20);

void BM_RelistInMemory(benchmark::State& state) {
  const std::string& dir = Folder();
  FolderIndex index;
  if (!SyncFolderBlocking(dir, index, absl::Now(), SyncLimits()).ok()) {
    state.SkipWithError("setup");
  }
  for (auto _ : state) {
    index.ForgetStamps();
    auto r = SyncFolderBlocking(dir, index, absl::Now(), SyncLimits());
    if (!r.ok()) state.SkipWithError("sync");
  }
}
BENCHMARK(BM_RelistInMemory)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
