// SELECT cost of a 100,000-message Maildir folder:
//   Cold:     no ringmail-index: scan + stat every file + assign UIDs
//             (uidlist rewrite under the dotlock).
//   Warm:     ringmail-index present (a new process): map the index, stat
//             new/, cur/ and the uidlist; nothing listed, parsed or
//             stat'ed per message (the directories' stamps are settled).
//   Resync:   second sync of an index already in memory (stat only).
//   Relist:   the same with the stamps forgotten: cur/ listed and every
//             name matched (what a change in cur/ costs).
// Run with: bazel run -c opt //bench:mailbox_bench
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

constexpr int kMessages = 100'000;

const std::string& Folder() {
  static const std::string dir = [] {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/mbxbenchXXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    for (const char* s : {"/tmp", "/new", "/cur"}) {
      mkdir((tmpl + s).c_str(), 0700);
    }
    for (int i = 0; i < kMessages; ++i) {
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
    if (!r.ok() || index.size() != kMessages) state.SkipWithError("sync");
  }
}
BENCHMARK(BM_SelectCold)->Unit(benchmark::kMillisecond)->Iterations(3);

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
