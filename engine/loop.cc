#include "engine/loop.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "engine/ring_file_io.h"

namespace ringmail::engine {
namespace {
// Bounds the work one loop iteration does before it looks at the ring again,
// so a flood of cross-core tasks cannot starve network completions.
constexpr int kMaxInboundPerSource = 256;
constexpr int kMaxDeferredPerRound = 4096;
const uint64_t kOne = 1;  // eventfd increment, read by the kernel for writes
}  // namespace

// Keeps one read armed on the loop's eventfd; its completion means "look at
// your inbound queues".
class Loop::WakeOp final : public Operation {
 public:
  explicit WakeOp(Loop* loop) : loop_(loop) {}
  void Arm() {
    io_uring_prep_read(loop_->ring_->GetSqe(this), loop_->wake_fd_, &value_,
                       sizeof(value_), 0);
  }
  void Complete(int res, uint32_t) override {
    if (res < 0 && res != -EINTR && res != -EAGAIN && res != -ECANCELED) {
      std::fprintf(stderr, "core %d: eventfd read failed: %s\n", loop_->id_,
                   std::strerror(-res));
    }
    if (res != -ECANCELED) Arm();
  }

 private:
  Loop* loop_;
  uint64_t value_ = 0;
};

namespace {
absl::Time SteadyNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::UnixEpoch() + absl::DurationFromTimespec(ts);
}
}  // namespace

Loop::Loop(int id, Mesh* mesh)
    : id_(id), mesh_(mesh), steady_now_(SteadyNow()) {}

absl::StatusOr<std::unique_ptr<Loop>> Loop::Create(int id, Mesh* mesh,
                                                   const LoopOptions& opts) {
  std::unique_ptr<Loop> loop(new Loop(id, mesh));
  if (opts.wall_clock != nullptr) loop->wall_clock_ = opts.wall_clock;
  loop->now_ = loop->wall_clock_();
  if (opts.sched_batch) {
    // Before the ring exists, so its io-wq workers are created with it.
    sched_param param{};
    if (sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
      LOG_WARNING("core ", id, ": sched_setscheduler(SCHED_BATCH) failed: ",
                  std::strerror(errno), "; running SCHED_OTHER");
    }
  }
  auto ring = Ring::Create(opts.ring);
  if (!ring.ok()) return ring.status();
  loop->ring_ = std::move(*ring);
  auto buffers = BufferRing::Create(loop->ring_->raw(), opts.buffers);
  if (!buffers.ok()) return buffers.status();
  loop->buffers_ = std::move(*buffers);
  loop->file_io_ = std::make_unique<RingFileIo>(loop->ring_.get());
  loop->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (loop->wake_fd_ < 0) {
    return absl::InternalError(
        absl::StrCat("eventfd failed: ", std::strerror(errno)));
  }
  loop->wake_op_ = std::make_unique<WakeOp>(loop.get());
  loop->wake_op_->Arm();
  loop->inbound_.reserve(mesh->sources());
  for (int i = 0; i < mesh->sources(); ++i) {
    loop->inbound_.push_back(
        std::make_unique<SpscQueue<Task>>(mesh->queue_capacity_));
  }
  loop->overflow_.resize(mesh->cores());
  mesh->Register(loop.get());
  return loop;
}

Loop::~Loop() {
  // The ring is torn down with the loop; in-flight SQEs die with it.
  if (wake_fd_ >= 0) close(wake_fd_);
}

Loop::TimerId Loop::AddTimer(absl::Duration delay, Task fn) {
  TimerId id = next_timer_id_++;
  timers_.emplace(id, std::move(fn));
  timer_heap_.push(TimerEntry{steady_now_ + delay, id});
  return id;
}

void Loop::RunTimers() {
  while (!timer_heap_.empty() && timer_heap_.top().deadline <= steady_now_) {
    TimerId id = timer_heap_.top().id;
    timer_heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled
    Task fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
  // Drop cancelled entries at the top so NextTimeout sees a live deadline.
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.top().id)) {
    timer_heap_.pop();
  }
}

absl::Duration Loop::NextTimeout() const {
  if (!deferred_.empty()) return absl::ZeroDuration();
  for (const auto& q : overflow_) {
    if (!q.empty()) return absl::Milliseconds(1);  // retry a full queue soon
  }
  if (timer_heap_.empty()) return absl::InfiniteDuration();
  return timer_heap_.top().deadline - steady_now_;
}

bool Loop::DrainInbound() {
  bool ran = false;
  for (auto& q : inbound_) {
    for (int i = 0; i < kMaxInboundPerSource; ++i) {
      std::optional<Task> t = q->TryPop();
      if (!t) break;
      (*t)();
      ran = true;
    }
  }
  return ran;
}

void Loop::Post(int target, Task fn) {
  if (!overflow_[target].empty() ||
      !mesh_->TryPost(id_, target, fn, /*wake_through_ring=*/true, this)) {
    overflow_[target].push_back(std::move(fn));  // keeps FIFO order per pair
  }
}

void Loop::FlushOutbound() {
  for (int target = 0; target < static_cast<int>(overflow_.size()); ++target) {
    auto& q = overflow_[target];
    while (!q.empty() &&
           mesh_->TryPost(id_, target, q.front(), true, this)) {
      q.pop_front();
    }
  }
}

void Loop::Run() {
  while (!stop_requested_ || !deferred_.empty()) {
    now_ = wall_clock_();
    steady_now_ = SteadyNow();
    DrainInbound();
    RunTimers();
    for (int i = 0; i < kMaxDeferredPerRound && !deferred_.empty(); ++i) {
      Task t = std::move(deferred_.front());
      deferred_.pop_front();
      t();
    }
    FlushOutbound();
    if (stop_requested_ && deferred_.empty()) break;
    absl::Duration timeout = NextTimeout();
    if (timeout > absl::ZeroDuration()) {
      // Dekker-style handshake with Mesh::TryPost: publish that we may sleep,
      // then re-check the queues; a producer either sees `sleeping_` and
      // writes the eventfd, or we see its item here.
      sleeping_.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      for (auto& q : inbound_) {
        if (!q->ApproxEmpty()) {
          timeout = absl::ZeroDuration();
          break;
        }
      }
    }
    ring_->SubmitAndDispatch(timeout);
    sleeping_.store(false, std::memory_order_relaxed);
  }
  // Submit whatever the final tasks queued (e.g. closes) before returning.
  io_uring_submit(ring_->raw());
}

Mesh::Mesh(int cores, int extra_sources, size_t queue_capacity)
    : cores_(cores),
      extra_sources_(extra_sources),
      queue_capacity_(queue_capacity),
      loops_(cores) {}

void Mesh::Register(Loop* loop) {
  loops_[loop->id()].store(loop, std::memory_order_release);
  registered_.fetch_add(1, std::memory_order_acq_rel);
  registered_.notify_all();
}

void Mesh::WaitForLoops() {
  int n;
  while ((n = registered_.load(std::memory_order_acquire)) < cores_) {
    registered_.wait(n);
  }
}

bool Mesh::TryPost(int source, int target, Task& fn, bool wake_through_ring,
                   Loop* sender) {
  Loop* dst = loop(target);
  if (dst == nullptr) return false;
  if (!dst->inbound_[source]->TryPush(fn)) return false;
  if (dst == sender) return true;  // we will drain it before sleeping
  // Pairs with the fence in Loop::Run: the push above must be visible
  // before we read `sleeping_` (store-load ordering).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (dst->sleeping_.load(std::memory_order_seq_cst) &&
      dst->sleeping_.exchange(false, std::memory_order_seq_cst)) {
    if (wake_through_ring && sender != nullptr) {
      // Through our own ring: no syscall on this core's hot path.
      io_uring_prep_write(sender->ring_->GetSqe(), dst->wake_fd_, &kOne,
                          sizeof(kOne), 0);
    } else {
      ssize_t n = write(dst->wake_fd_, &kOne, sizeof(kOne));
      (void)n;  // EAGAIN means the counter is already non-zero: awake anyway
    }
  }
  return true;
}

void Mesh::PostFromThread(int source, int target, Task fn) {
  while (!TryPost(source, target, fn, false, nullptr)) {
    std::this_thread::yield();
  }
}

}  // namespace ringmail::engine
