#include "engine/fs_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine/loop.h"

namespace ringmail::engine {
namespace {

LoopOptions SmallLoop() {
  LoopOptions o;
  o.ring.entries = 64;
  o.buffers.count = 8;
  o.buffers.buffer_size = 4096;
  return o;
}

std::string TempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/fs_watch.XXXXXX";
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

void Touch(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  close(fd);
}

TEST(FsWatcher, CreateInWatchedDirRunsCallback) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok()) << loop.status();
  Loop& l = **loop;
  auto w = FsWatcher::Create(&l.ring());
  ASSERT_TRUE(w.ok()) << w.status();
  std::string dir = TempDir();
  std::vector<FsWatcher::WatchId> seen;
  auto id = (*w)->Add(dir, [&](FsWatcher::WatchId got) {
    seen.push_back(got);
    l.Stop();
  });
  ASSERT_TRUE(id.ok()) << id.status();
  // After the loop has armed the read, so both the -EAGAIN path and a
  // direct read are exercised across kernels.
  l.Defer([&] { Touch(dir + "/a"); });
  // A guard so a broken watcher fails the test instead of hanging it.
  bool timed_out = false;
  l.AddTimer(absl::Seconds(30), [&] { timed_out = true; l.Stop(); });
  l.Run();
  EXPECT_FALSE(timed_out);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0], *id);
}

TEST(FsWatcher, RemovedWatchIsSilentAndOthersStillFire) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok()) << loop.status();
  Loop& l = **loop;
  auto w = FsWatcher::Create(&l.ring());
  ASSERT_TRUE(w.ok()) << w.status();
  std::string quiet = TempDir();
  std::string loud = TempDir();
  int quiet_calls = 0;
  int loud_calls = 0;
  auto q = (*w)->Add(quiet, [&](FsWatcher::WatchId) { ++quiet_calls; });
  ASSERT_TRUE(q.ok());
  auto ld = (*w)->Add(loud, [&](FsWatcher::WatchId) {
    ++loud_calls;
    l.Stop();
  });
  ASSERT_TRUE(ld.ok());
  (*w)->Remove(*q);
  (*w)->Remove(*q);  // harmless twice
  EXPECT_EQ((*w)->watch_count(), 1u);
  Touch(quiet + "/x");
  Touch(loud + "/y");
  bool timed_out = false;
  l.AddTimer(absl::Seconds(30), [&] { timed_out = true; l.Stop(); });
  l.Run();
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(quiet_calls, 0);
  EXPECT_GE(loud_calls, 1);
}

TEST(FsWatcher, MissingDirAndLimitAreReported) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok()) << loop.status();
  FsWatchOptions opts;
  opts.max_watches = 1;
  auto w = FsWatcher::Create(&(*loop)->ring(), opts);
  ASSERT_TRUE(w.ok()) << w.status();
  std::string dir = TempDir();
  auto missing = (*w)->Add(dir + "/nope", [](FsWatcher::WatchId) {});
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  ASSERT_TRUE((*w)->Add(dir, [](FsWatcher::WatchId) {}).ok());
  auto over = (*w)->Add(dir, [](FsWatcher::WatchId) {});
  EXPECT_TRUE(absl::IsResourceExhausted(over.status())) << over.status();
}

}  // namespace
}  // namespace ringmail::engine
