#include "engine/loop.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/helper_pool.h"
#include "engine/ring_file_io.h"

namespace ringmail::engine {
namespace {

LoopOptions SmallLoop() {
  LoopOptions o;
  o.ring.entries = 64;
  o.buffers.count = 8;
  o.buffers.buffer_size = 4096;
  return o;
}

TEST(Loop, TimersFireInDeadlineOrderAndCancelWorks) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok()) << loop.status();
  Loop& l = **loop;
  std::vector<int> fired;
  l.AddTimer(absl::Milliseconds(20), [&] { fired.push_back(2); });
  l.AddTimer(absl::Milliseconds(5), [&] { fired.push_back(1); });
  Loop::TimerId cancelled = l.AddTimer(absl::Milliseconds(10), [&] { fired.push_back(99); });
  l.CancelTimer(cancelled);
  l.AddTimer(absl::Milliseconds(30), [&] { l.Stop(); });
  l.Run();
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

// The wall clock as the loop sees it in ClockStepDoesNotFireTimers.
absl::Duration g_wall_offset;
absl::Time SteppedWallClock() { return absl::Now() + g_wall_offset; }

// A wall-clock step (NTP, an admin) must not fire pending timers early: the
// long timer still fires after the short one added after the step, and
// steady_now() does not see the step while now() does.
TEST(Loop, ClockStepDoesNotFireTimers) {
  g_wall_offset = absl::ZeroDuration();
  Mesh mesh(1, 0);
  LoopOptions opts = SmallLoop();
  opts.wall_clock = &SteppedWallClock;
  auto loop = Loop::Create(0, &mesh, opts);
  ASSERT_TRUE(loop.ok()) << loop.status();
  Loop& l = **loop;
  std::vector<std::string> fired;
  absl::Duration wall_seen, steady_seen;
  l.AddTimer(absl::Seconds(2), [&] {
    fired.push_back("long");
    l.Stop();
  });
  l.Defer([&] {
    absl::Time wall0 = l.now(), steady0 = l.steady_now();
    g_wall_offset = absl::Hours(1);  // the clock is set an hour ahead
    l.AddTimer(absl::Milliseconds(1), [&, wall0, steady0] {
      fired.push_back("short");
      wall_seen = l.now() - wall0;
      steady_seen = l.steady_now() - steady0;
    });
  });
  l.Run();
  EXPECT_EQ(fired, (std::vector<std::string>{"short", "long"}));
  EXPECT_GE(wall_seen, absl::Hours(1));
  EXPECT_LT(steady_seen, absl::Hours(1));
}

TEST(Loop, DeferRunsAfterCurrentTask) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok());
  std::vector<int> order;
  (*loop)->Defer([&] {
    (*loop)->Defer([&] { order.push_back(2); (*loop)->Stop(); });
    order.push_back(1);
  });
  (*loop)->Run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// Two cores ping-pong a counter through Loop::Post; a third (non-core)
// source posts from a plain thread; a helper returns work to its core.
TEST(Mesh, CrossCoreMessagesAndHelperRoundTrip) {
  constexpr int kRounds = 10000;
  Mesh mesh(2, 2);
  std::atomic<int> pongs{0};
  std::atomic<bool> from_thread{false};
  std::atomic<bool> helper_done{false};
  std::unique_ptr<Loop> loops[2];
  std::thread threads[2];
  HelperPool* pool_ptr = nullptr;
  std::atomic<bool> pool_ready{false};
  for (int i = 0; i < 2; ++i) {
    threads[i] = std::thread([&, i] {
      auto l = Loop::Create(i, &mesh, SmallLoop());
      ASSERT_TRUE(l.ok()) << l.status();
      loops[i] = std::move(*l);
      loops[i]->Run();
    });
  }
  mesh.WaitForLoops();
  HelperPool pool(&mesh, 3, 1);
  pool_ptr = &pool;
  pool_ready = true;
  std::function<void(int)> ping = [&](int n) {
    if (n == kRounds) {
      pongs = n;
      return;
    }
    Loop* self = mesh.loop(n % 2);
    self->Post((n + 1) % 2, [&, n] { ping(n + 1); });
  };
  mesh.PostFromThread(2, 0, [&] {
    from_thread = true;
    ping(0);
    Loop* core0 = mesh.loop(0);
    HelperPool::Work work = [&]() -> Task {
      int sum = 0;
      for (int i = 0; i < 1000; ++i) sum += i;
      return [&, sum] {
        EXPECT_EQ(sum, 499500);
        EXPECT_EQ(mesh.loop(0)->id(), 0);
        helper_done = true;
      };
    };
    ASSERT_TRUE(pool_ptr->Submit(core0, work));
  });
  for (int i = 0; i < 500 && (pongs < kRounds || !helper_done); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(from_thread);
  EXPECT_EQ(pongs, kRounds);
  EXPECT_TRUE(helper_done);
  for (int i = 0; i < 2; ++i) mesh.PostFromThread(2, i, [&, i] { loops[i]->Stop(); });
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace ringmail::engine

namespace ringmail::engine {
namespace {
TEST(Probe, KernelOffersEverythingTheEngineUses) {
  absl::Status s = ProbeKernel();
  EXPECT_TRUE(s.ok()) << s;
}
}  // namespace
}  // namespace ringmail::engine

namespace ringmail::engine {
namespace {
// Regression: liburing's prep helpers do not reset user_data, so a
// fire-and-forget SQE reusing a slot must not complete the slot's previous
// Operation a second time.
TEST(Ring, FireAndForgetSqeNeverCompletesAStaleOperation) {
  RingOptions opts;
  opts.entries = 2;
  auto ring = Ring::Create(opts);
  ASSERT_TRUE(ring.ok()) << ring.status();
  struct Counter : Operation {
    int calls = 0;
    void Complete(int, uint32_t) override { ++calls; }
  } counter;
  for (int round = 0; round < 8; ++round) {
    io_uring_prep_nop((*ring)->GetSqe(&counter));
    (*ring)->SubmitAndDispatch(absl::Seconds(1));
    io_uring_prep_nop((*ring)->GetSqe());
    io_uring_prep_nop((*ring)->GetSqe());
    (*ring)->SubmitAndDispatch(absl::Seconds(1));
  }
  EXPECT_EQ(counter.calls, 8);
}
}  // namespace
}  // namespace ringmail::engine

namespace ringmail::engine {
namespace {
// RingFileIo::WriteV: the iovec array is the operation's own copy (the
// caller's goes out of scope before the kernel runs the request), parts
// land end to end at the offset, and errors come back as -errno.
TEST(RingFileIo, WriteVWritesPartsEndToEnd) {
  auto ring = Ring::Create(RingOptions{});
  ASSERT_TRUE(ring.ok()) << ring.status();
  RingFileIo io(ring->get());
  const char* base = getenv("TEST_TMPDIR");
  std::string path = std::string(base ? base : "/tmp") + "/writev-XXXXXX";
  int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  unlink(path.c_str());
  std::string a = "Return-Path: <a@b>\n", b = "body line\n";
  int result = 1;
  {
    const iovec parts[] = {{a.data(), a.size()}, {b.data(), b.size()}};
    io.WriteV(fd, parts, 3, [&](int r) { result = r; });
  }  // `parts` is gone before the submit
  while (io.in_flight() > 0) (*ring)->SubmitAndDispatch(absl::Seconds(1));
  EXPECT_EQ(result, static_cast<int>(a.size() + b.size()));
  std::string got(3 + a.size() + b.size(), '?');
  ASSERT_EQ(pread(fd, got.data(), got.size(), 0),
            static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got.substr(3), a + b);
  close(fd);
  const iovec one[] = {{a.data(), a.size()}};
  io.WriteV(fd, one, 0, [&](int r) { result = r; });  // closed fd
  while (io.in_flight() > 0) (*ring)->SubmitAndDispatch(absl::Seconds(1));
  EXPECT_EQ(result, -EBADF);
}
}  // namespace
}  // namespace ringmail::engine
