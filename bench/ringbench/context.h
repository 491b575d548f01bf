// What a client script sees of its thread: the loop, the options, the
// recorder, the pacing (open or closed loop) and the stop condition.
#ifndef RINGMAIL_BENCH_RINGBENCH_CONTEXT_H_
#define RINGMAIL_BENCH_RINGBENCH_CONTEXT_H_

#include <atomic>
#include <optional>
#include <random>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "bench/ringbench/client.h"
#include "bench/ringbench/delivery_log.h"
#include "bench/ringbench/imap_state.h"
#include "bench/ringbench/options.h"
#include "bench/ringbench/schedule.h"
#include "bench/ringbench/stats.h"
#include "bench/ringbench/task.h"
#include "engine/loop.h"

namespace ringmail::ringbench {

class ThreadContext {
 public:
  ThreadContext(engine::Loop* loop, const Options& opts, int thread, int64_t start_ns,
                std::atomic<uint64_t>* global_ops);

  engine::Loop* loop() const { return loop_; }
  const Options& opts() const { return opts_; }
  Recorder& rec() { return rec_; }
  std::mt19937_64& rng() { return rng_; }
  int thread() const { return thread_; }
  absl::Duration timeout() const { return absl::Seconds(opts_.timeout_s); }

  // True once the duration is over or the global op budget is spent:
  // scripts finish the operation at hand and leave.
  bool stopping() const;
  void set_stopping() { stopping_ = true; }
  // Closed loop: returns now. Open loop: waits for this thread's next
  // intended send time and returns it (maybe in the past when behind).
  // Returns -1 when the run is over (the slot lies past the duration): the
  // script must not start the operation.
  Task<int64_t> Pace();
  // Records a finished op measured from `start_ns`.
  void Done(const std::string& op, int64_t start_ns, uint64_t bytes = 0);
  void Fail(const std::string& kind) { rec_.Error(kind); }

  // Clients alive on this thread, aborted at the hard deadline.
  void Register(Client* c) { clients_.insert(c); }
  void Unregister(Client* c) { clients_.erase(c); }
  void AbortAll();
  // Sessions currently established, over all threads (idle mode).
  std::atomic<int64_t>* sessions = nullptr;
  // idle mode: clients past their opening phase (open or failed), over all
  // threads; the deliverer starts once it reaches --connections.
  std::atomic<int64_t>* settled = nullptr;
  // idle mode with --deliver-rate: the deliverer's messages (shared).
  DeliveryLog* deliveries = nullptr;
  // imap mode with --check-state: what all sessions know (shared).
  SharedImapState* imap_state = nullptr;
  // Set by whoever ends the run early (the deliverer after
  // --deliver-count); every thread's stopping() sees it.
  std::atomic<bool>* end_early = nullptr;
  // Monotonic time at which the run's duration ends.
  int64_t end_ns() const { return end_ns_; }

 private:
  engine::Loop* loop_;
  const Options& opts_;
  int thread_;
  int64_t end_ns_;
  Recorder rec_;
  std::optional<RateSchedule> schedule_;
  std::mt19937_64 rng_;
  bool stopping_ = false;
  std::atomic<uint64_t>* global_ops_;
  absl::flat_hash_set<Client*> clients_;
};

// co_await Sleep{loop, d}: resumes after `d` (a loop timer).
struct Sleep {
  engine::Loop* loop;
  absl::Duration d;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    loop->AddTimer(d, [h] { h.resume(); });
  }
  void await_resume() noexcept {}
};

// A Client registered with its thread for the hard-deadline abort.
class ScopedClient {
 public:
  explicit ScopedClient(ThreadContext& ctx) : ctx_(ctx), client_(ctx.loop(), ctx.timeout()) {
    ctx_.Register(&client_);
  }
  ~ScopedClient() { ctx_.Unregister(&client_); }
  Client* operator->() { return &client_; }
  Client& operator*() { return client_; }

 private:
  ThreadContext& ctx_;
  Client client_;
};

// One client's whole script, by mode. `index` numbers the client globally.
Task<absl::Status> RunSmtpClient(ThreadContext& ctx, int index);  // smtp, lmtp
Task<absl::Status> RunPop3Client(ThreadContext& ctx, int index);
Task<absl::Status> RunImapClient(ThreadContext& ctx, int index);
Task<absl::Status> RunIdleClient(ThreadContext& ctx, int index);
// idle mode's deliverer (one per run, --deliver-rate > 0).
Task<absl::Status> RunDeliverer(ThreadContext& ctx);

// Reads one SMTP reply (multi-line allowed) and returns its code.
// Errors: the stream's (see Client), InvalidArgument for a malformed reply.
Task<absl::StatusOr<int>> ReadSmtpReplyCode(Client& c);

// Error kind for a failed stream read/connect ("timeout", "closed", ...).
std::string ErrorKind(const absl::Status& s);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_CONTEXT_H_
