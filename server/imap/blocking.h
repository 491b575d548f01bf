// Runs blocking work (directory scans, dotlocked rewrites) on the helper
// pool and hands the result back to the calling core.
#ifndef RINGMAIL_SERVER_IMAP_BLOCKING_H_
#define RINGMAIL_SERVER_IMAP_BLOCKING_H_

#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"

namespace ringmail::server::imap {

// Runs `work` on a helper thread and `done(result)` on `loop`'s thread,
// never inside this call. When the helper queue is full the request is
// retried shortly: it waits rather than failing, since every caller is a
// client command that may take a moment longer.
template <typename T>
void RunBlocking(engine::HelperPool* pool, engine::Loop* loop,
                 absl::AnyInvocable<T()> work,
                 absl::AnyInvocable<void(T)> done) {
  struct State {
    absl::AnyInvocable<T()> work;
    absl::AnyInvocable<void(T)> done;
  };
  auto state = std::make_shared<State>(State{std::move(work), std::move(done)});
  engine::HelperPool::Work job = [state]() -> engine::Task {
    T result = state->work();
    return [state, result = std::move(result)]() mutable {
      state->done(std::move(result));
    };
  };
  if (!pool->Submit(loop, job)) {
    loop->AddTimer(absl::Milliseconds(1), [pool, loop, state]() mutable {
      RunBlocking<T>(pool, loop, std::move(state->work), std::move(state->done));
    });
  }
}

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_BLOCKING_H_
