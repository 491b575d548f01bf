// The per-core event loop: one thread, one io_uring, timers, deferred tasks
// and inbound cross-core messages.
//
// Everything a Loop owns is touched only by its own thread. Other threads
// reach it only through Mesh::Post, which enqueues a task on a lock-free
// single-producer queue dedicated to that (source, target) pair and wakes
// the target through its eventfd when it may be asleep.
#ifndef RINGMAIL_ENGINE_LOOP_H_
#define RINGMAIL_ENGINE_LOOP_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <queue>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/buffer_ring.h"
#include "engine/file_io.h"
#include "engine/ring.h"
#include "engine/spsc_queue.h"

namespace ringmail::engine {

using Task = absl::AnyInvocable<void()>;
class Mesh;

struct LoopOptions {
  RingOptions ring;
  BufferRingOptions buffers;
  // Reads the wall clock; null: absl::Now. Tests set it to step the clock.
  absl::Time (*wall_clock)() = nullptr;
  // Runs the loop's thread (and the io-wq workers its ring creates later,
  // which inherit the policy) under SCHED_BATCH: a wake-up of the loop no
  // longer preempts the task running on that CPU at once. A loop drains
  // every ready completion per wake-up, so it loses nothing by waiting for
  // the running task's slice, while preempting on each packet or file
  // completion cost a context switch per event (docs/performance.md has the
  // measurements). Failure to switch is logged and ignored.
  bool sched_batch = false;
};

class Loop {
 public:
  // Creates the loop's ring and buffer ring on the calling thread, which
  // becomes the loop's thread. `id` is the core index within `mesh`.
  static absl::StatusOr<std::unique_ptr<Loop>> Create(int id, Mesh* mesh,
                                                      const LoopOptions& opts);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until Stop() and every pending deferred task has run.
  void Run();
  // Asks Run() to return at its next iteration. Loop thread only.
  void Stop() { stop_requested_ = true; }

  int id() const { return id_; }
  Mesh* mesh() const { return mesh_; }
  Ring& ring() { return *ring_; }
  BufferRing& buffers() { return *buffers_; }
  FileIo& file_io() { return *file_io_; }
  // Wall-clock time, refreshed once per loop iteration (cheap to call often).
  // For dates and times that are stored or shown; it jumps when the clock is
  // set. Measure intervals (idle time, waits) with steady_now().
  absl::Time now() const { return now_; }
  // CLOCK_MONOTONIC as an absl::Time (its epoch is arbitrary: only
  // differences mean anything), refreshed with now(). Never jumps.
  absl::Time steady_now() const { return steady_now_; }

  // Runs `fn` on this loop after the current batch of completions: the way
  // to call back "later" without re-entering the caller.
  void Defer(Task fn) { deferred_.push_back(std::move(fn)); }

  using TimerId = uint64_t;
  // Runs `fn` once `delay` has passed. Timers run on the monotonic clock: a
  // step of the wall clock (NTP, an admin) neither fires them early nor
  // holds them back. The id cancels it.
  TimerId AddTimer(absl::Duration delay, Task fn);
  // Runs `fn` at or after the wall-clock `deadline`, taken as the interval
  // from now(): a later clock step does not move it.
  TimerId AddTimer(absl::Time deadline, Task fn) {
    return AddTimer(deadline - now_, std::move(fn));
  }
  // Cancels a timer that has not fired; harmless for unknown or fired ids.
  void CancelTimer(TimerId id) { timers_.erase(id); }

  // Sends `fn` to run on loop `target` (may be this one). Loop thread only.
  void Post(int target, Task fn);

 private:
  friend class Mesh;
  Loop(int id, Mesh* mesh);
  class WakeOp;

  bool DrainInbound();  // returns true if any task ran
  void FlushOutbound();
  void RunTimers();
  absl::Duration NextTimeout() const;

  const int id_;
  Mesh* const mesh_;
  std::unique_ptr<Ring> ring_;
  std::unique_ptr<BufferRing> buffers_;
  std::unique_ptr<FileIo> file_io_;
  absl::Time (*wall_clock_)() = &absl::Now;
  absl::Time now_ = absl::Now();
  absl::Time steady_now_;
  bool stop_requested_ = false;
  std::deque<Task> deferred_;

  struct TimerEntry {
    absl::Time deadline;  // on the steady_now() clock
    TimerId id;
    bool operator>(const TimerEntry& o) const {
      return deadline != o.deadline ? deadline > o.deadline : id > o.id;
    }
  };
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>>
      timer_heap_;
  absl::flat_hash_map<TimerId, Task> timers_;
  TimerId next_timer_id_ = 1;

  // Inbound: one queue per source (see Mesh); written by other threads.
  std::vector<std::unique_ptr<SpscQueue<Task>>> inbound_;
  // Outbound overflow per target, when that pair's queue is full.
  std::vector<std::deque<Task>> overflow_;
  // Set while the thread may block in the kernel; producers that see it
  // write the eventfd.
  std::atomic<bool> sleeping_{false};
  int wake_fd_ = -1;
  std::unique_ptr<WakeOp> wake_op_;
};

// The set of loops of one process plus the non-core threads that message
// them (helper threads, the main thread). Sources are numbered: cores
// 0..cores-1, then `extra_sources` more.
class Mesh {
 public:
  Mesh(int cores, int extra_sources, size_t queue_capacity = 4096);

  int cores() const { return cores_; }
  int sources() const { return cores_ + extra_sources_; }

  // Registers a loop created by Loop::Create; called from the loop's thread.
  void Register(Loop* loop);
  // Blocks until all `cores` loops registered (used by the main thread).
  void WaitForLoops();
  Loop* loop(int core) const { return loops_[core].load(std::memory_order_acquire); }

  // Post from a non-core source (`source` >= cores). Spins (yielding) while
  // the pair's queue is full: such threads never serve connections.
  void PostFromThread(int source, int target, Task fn);

 private:
  friend class Loop;
  // Pushes onto (source, target); false when full. Wakes the target.
  bool TryPost(int source, int target, Task& fn, bool wake_through_ring,
               Loop* sender);

  const int cores_;
  const int extra_sources_;
  const size_t queue_capacity_;
  std::vector<std::atomic<Loop*>> loops_;
  std::atomic<int> registered_{0};
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_LOOP_H_
