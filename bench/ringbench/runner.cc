#include "bench/ringbench/runner.h"

#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/ringbench/context.h"
#include "engine/loop.h"

namespace ringmail::ringbench {

std::atomic<bool> g_interrupted{false};

namespace {

// How often each loop checks the deadline and SIGINT.
constexpr absl::Duration kTick = absl::Milliseconds(100);
// After the duration, clients get this long beyond the reply timeout to
// finish the operation at hand before they are aborted.
constexpr double kGraceSeconds = 2;

Task<absl::Status> ClientFor(ThreadContext& ctx, int index) {
  const std::string& m = ctx.opts().mode;
  if (m == "smtp" || m == "lmtp") return RunSmtpClient(ctx, index);
  if (m == "pop3") return RunPop3Client(ctx, index);
  if (m == "imap") return RunImapClient(ctx, index);
  return RunIdleClient(ctx, index);
}

struct ThreadSlot {
  std::unique_ptr<ThreadContext> ctx;
  std::string error;
  std::atomic<bool> done{false};
};

void Tick(ThreadContext* ctx, int64_t hard_ns) {
  if (g_interrupted.load(std::memory_order_relaxed)) ctx->set_stopping();
  if (NowNanos() >= hard_ns) {
    ctx->set_stopping();
    ctx->AbortAll();
  }
  ctx->loop()->AddTimer(kTick, [ctx, hard_ns] { Tick(ctx, hard_ns); });
}

}  // namespace

absl::StatusOr<RunResult> Run(const Options& opts) {
  engine::Mesh mesh(opts.threads, 1);
  std::atomic<uint64_t> global_ops{0};
  std::atomic<int64_t> sessions{0};
  std::atomic<int64_t> settled{0};
  std::atomic<bool> end_early{false};
  std::unique_ptr<DeliveryLog> deliveries;
  const bool deliver = opts.mode == "idle" && opts.deliver_rate > 0;
  if (deliver) deliveries = std::make_unique<DeliveryLog>(opts.users.size());
  std::unique_ptr<SharedImapState> imap_state;
  if (opts.mode == "imap" && opts.check_state) imap_state = std::make_unique<SharedImapState>();
  std::vector<std::unique_ptr<ThreadSlot>> slots;
  for (int i = 0; i < opts.threads; ++i) slots.push_back(std::make_unique<ThreadSlot>());
  std::optional<ServerSample> before;
  if (opts.server_pid > 0) {
    auto s = SampleServer(opts.server_pid);
    if (!s.ok()) return s.status();
    before = *s;
  }
  const int64_t start_ns = NowNanos();
  const int64_t hard_ns = start_ns + static_cast<int64_t>(
                                         (opts.duration_s + opts.timeout_s + kGraceSeconds) * 1e9);
  RunResult result(start_ns);
  result.server_before = before;
  std::vector<std::thread> threads;
  for (int t = 0; t < opts.threads; ++t) {
    threads.emplace_back([&, t] {
      ThreadSlot& slot = *slots[t];
      engine::LoopOptions lo;
      lo.ring.entries = 4096;
      lo.buffers.count = 1024;
      lo.buffers.buffer_size = 16 << 10;
      auto loop = engine::Loop::Create(t, &mesh, lo);
      if (!loop.ok()) {
        slot.error = std::string(loop.status().message());
        slot.done.store(true);
        return;
      }
      slot.ctx = std::make_unique<ThreadContext>(loop->get(), opts, t, start_ns, &global_ops);
      ThreadContext* ctx = slot.ctx.get();
      ctx->sessions = &sessions;
      ctx->settled = &settled;
      ctx->end_early = &end_early;
      ctx->deliveries = deliveries.get();
      ctx->imap_state = imap_state.get();
      int live = 0;
      for (int i = t; i < opts.connections; i += opts.threads) ++live;
      if (deliver && t == 0) {
        ++live;
        Spawn(RunDeliverer(*ctx), [ctx, &live](absl::Status s) {
          if (!s.ok()) ctx->Fail("internal");
          if (--live == 0) ctx->loop()->Stop();
        });
      }
      for (int i = t; i < opts.connections; i += opts.threads) {
        Spawn(ClientFor(*ctx, i), [ctx, &live](absl::Status s) {
          if (!s.ok()) ctx->Fail("internal");
          if (--live == 0) ctx->loop()->Stop();
        });
      }
      if (live == 0) (*loop)->Stop();
      Tick(ctx, hard_ns);
      (*loop)->Run();
      slot.done.store(true);
    });
  }
  // Progress, once a second, to stderr (stdout may carry the JSON).
  uint64_t last_ops = 0;
  int64_t next = start_ns + 1'000'000'000;
  auto all_done = [&] {
    for (auto& s : slots) if (!s->done.load()) return false;
    return true;
  };
  while (!all_done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t now = NowNanos();
    if (now < next) continue;
    next += 1'000'000'000;
    uint64_t ops = 0, errors = 0;
    for (auto& s : slots) {
      if (s->ctx == nullptr) continue;
      ops += s->ctx->rec().live_ops.load(std::memory_order_relaxed);
      errors += s->ctx->rec().live_errors.load(std::memory_order_relaxed);
    }
    int64_t open = sessions.load(std::memory_order_relaxed);
    std::fprintf(stderr, "[%5.1fs] %8llu ops/s  total %llu ops  %llu errors%s\n",
                 (now - start_ns) / 1e9, static_cast<unsigned long long>(ops - last_ops),
                 static_cast<unsigned long long>(ops), static_cast<unsigned long long>(errors),
                 opts.mode == "idle" ? (" " + std::to_string(open) + " sessions").c_str() : "");
    last_ops = ops;
    if (opts.server_pid > 0 && opts.mode == "idle" && open > 0 && open >= result.peak_sessions) {
      if (auto s = SampleServer(opts.server_pid); s.ok()) {
        result.server_at_peak = *s;
        result.peak_sessions = open;
      }
    }
  }
  for (auto& th : threads) th.join();
  result.elapsed_s = (NowNanos() - start_ns) / 1e9;
  if (opts.server_pid > 0) {
    if (auto s = SampleServer(opts.server_pid); s.ok()) result.server_after = *s;
  }
  for (auto& s : slots) {
    if (!s->error.empty()) return absl::InternalError(s->error);
    result.rec.Merge(s->ctx->rec());
  }
  return result;
}

}  // namespace ringmail::ringbench
