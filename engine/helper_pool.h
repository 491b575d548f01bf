// A small pool of helper threads for CPU-heavy work (password hashing, ...)
// that must never run on a core thread.
//
// A core hands work to a helper through a lock-free queue dedicated to that
// (core, helper) pair; the work returns a Task that is posted back to the
// submitting core through the Mesh. Helpers are Mesh sources
// [first_source, first_source + threads).
#ifndef RINGMAIL_ENGINE_HELPER_POOL_H_
#define RINGMAIL_ENGINE_HELPER_POOL_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "engine/loop.h"
#include "engine/spsc_queue.h"

namespace ringmail::engine {

class HelperPool {
 public:
  // Work runs on a helper thread and returns the continuation to run on the
  // submitting core.
  using Work = absl::AnyInvocable<Task()>;

  // Starts `threads` helpers. `mesh` must have been created with at least
  // first_source + threads sources.
  HelperPool(Mesh* mesh, int first_source, int threads,
             size_t queue_capacity = 1024);
  ~HelperPool();  // stops and joins; queued work that has not started is dropped
  HelperPool(const HelperPool&) = delete;
  HelperPool& operator=(const HelperPool&) = delete;

  // From core `from`'s thread. Returns false, leaving `work` untouched, when
  // the helper queue is full: the caller answers with a temporary failure
  // instead of queueing without bound.
  bool Submit(Loop* from, Work& work);

 private:
  struct Item {
    int core;
    Work work;
  };
  struct Helper {
    std::vector<std::unique_ptr<SpscQueue<Item>>> from_core;  // per core
    std::atomic<uint32_t> pending{0};
    std::thread thread;
  };
  void RunHelper(int index);

  Mesh* mesh_;
  int first_source_;
  std::vector<std::unique_ptr<Helper>> helpers_;
  std::atomic<bool> stop_{false};
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_HELPER_POOL_H_
