// Minimal C++20 coroutines for protocol scripts: a lazily started Task<T>
// that resumes its awaiter by symmetric transfer, and Spawn() to run a
// top-level Task detached. Single-threaded (one engine loop). No exceptions:
// failures travel as absl::Status values, so T is normally absl::Status or
// absl::StatusOr<...> (T must be default-constructible).
#ifndef RINGMAIL_BENCH_RINGBENCH_TASK_H_
#define RINGMAIL_BENCH_RINGBENCH_TASK_H_

#include <coroutine>
#include <exception>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace ringmail::ringbench {

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type;
  using Handle = std::coroutine_handle<promise_type>;
  struct promise_type {
    T value{};
    std::coroutine_handle<> continuation = std::noop_coroutine();
    Task get_return_object() { return Task(Handle::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(Handle h) noexcept {
        return h.promise().continuation;
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    template <typename U>
    void return_value(U&& v) { value = std::forward<U>(v); }
    void unhandled_exception() { std::terminate(); }
  };

  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) h_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    h_.promise().continuation = awaiter;
    return h_;
  }
  T await_resume() { return std::move(h_.promise().value); }

 private:
  explicit Task(Handle h) : h_(h) {}
  Handle h_;
};

namespace internal {
struct Detached {
  struct promise_type {
    Detached get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};
inline Detached RunDetached(Task<absl::Status> task,
                            absl::AnyInvocable<void(absl::Status)> done) {
  absl::Status s = co_await std::move(task);
  done(std::move(s));
}
}  // namespace internal

// Starts `task` now; `done` gets its result when it finishes. The coroutine
// frames free themselves.
inline void Spawn(Task<absl::Status> task, absl::AnyInvocable<void(absl::Status)> done) {
  internal::RunDetached(std::move(task), std::move(done));
}

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_TASK_H_
