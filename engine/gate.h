// A lifetime gate for objects whose callbacks may outlive them (after
// Seastar's `gate`).
//
// An object that starts asynchronous work (a read through the ring, a
// helper job, a timer, a cross-core round trip) gets the completion later,
// perhaps after it was destroyed. The object owns a Gate; each callback
// captures a Token and returns at once when the token says the gate is
// closed:
//
//   loop->AddTimer(d, [this, alive = gate_.token()] {
//     if (!alive) return;  // `this` is gone: touch nothing
//     ...
//   });
//
// The gate closes when Close() is called or when it is destroyed, whichever
// comes first, so an owner that must stop its callbacks before the end of
// its destructor's body (because members it destroys there would run them)
// calls Close() first.
//
// A Holder is the other direction: an operation in flight that the owner
// must wait for. Close(done) runs `done` once no Holder is left: at once
// when there is none, otherwise from the destructor (or Release) of the
// last one. Holders may enter after Close() and before `done` ran; they
// delay it. A service waits for its sessions this way
// (server/session_registry.h).
//
// Single-threaded: a gate, its tokens and its holders belong to one loop's
// thread. A job that runs on a helper thread may carry a token inside the
// completion it posts back (copying and destroying one is safe anywhere,
// as for a shared_ptr), but only the loop's thread tests it.
//
// Ownership: tokens and holders share a small state with the gate, so any
// of them may outlive it. A token outliving the gate reads closed. Holders
// outliving the gate are harmless; a `done` still waiting when the gate is
// destroyed is dropped without running.
#ifndef RINGMAIL_ENGINE_GATE_H_
#define RINGMAIL_ENGINE_GATE_H_

#include <cstddef>
#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"

namespace ringmail::engine {

class Gate {
  struct State {
    bool open = true;
    size_t holders = 0;
    absl::AnyInvocable<void()> done;  // set by Close while holders remain
  };

 public:
  // A weak view of the gate: true while it is open. Copy freely.
  class Token {
   public:
    Token() = default;  // reads closed
    explicit operator bool() const { return state_ != nullptr && state_->open; }

   private:
    friend class Gate;
    explicit Token(std::shared_ptr<const State> s) : state_(std::move(s)) {}
    std::shared_ptr<const State> state_;
  };

  // An operation Close() waits for. Move-only; leaves on destruction or
  // Release().
  class Holder {
   public:
    Holder() = default;  // holds nothing
    Holder(Holder&& o) noexcept : state_(std::move(o.state_)) {}
    Holder& operator=(Holder&& o) noexcept {
      if (this != &o) {
        Release();
        state_ = std::move(o.state_);
      }
      return *this;
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
    ~Holder() { Release(); }

    // Leaves the gate now; runs the gate's `done` if this was the last
    // holder of a closed gate (on this stack: the caller must be ready for
    // whatever `done` does). Harmless when holding nothing.
    void Release() {
      std::shared_ptr<State> s = std::move(state_);
      if (s == nullptr) return;
      if (--s->holders == 0 && !s->open && s->done) {
        auto done = std::move(s->done);
        s->done = nullptr;
        done();
      }
    }
    bool holding() const { return state_ != nullptr; }

   private:
    friend class Gate;
    explicit Holder(std::shared_ptr<State> s) : state_(std::move(s)) { ++state_->holders; }
    std::shared_ptr<State> state_;
  };

  Gate() : state_(std::make_shared<State>()) {}
  // Closes the gate: tokens read closed; a pending `done` is dropped.
  ~Gate() {
    state_->open = false;
    state_->done = nullptr;
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  Token token() const { return Token(state_); }
  // Counts one operation in flight until the Holder is released. Allowed
  // after Close() (see the header comment).
  Holder Enter() { return Holder(state_); }

  // Closes the gate (tokens read closed from now on) and runs `done` once
  // no holder is left: here when none is, else from the last release. A
  // second Close replaces a `done` that has not run yet. `done` may be
  // empty: the gate just closes.
  void Close(absl::AnyInvocable<void()> done = nullptr) {
    state_->open = false;
    if (state_->holders == 0) {
      state_->done = nullptr;
      if (done) done();
      return;
    }
    state_->done = std::move(done);
  }

  bool closed() const { return !state_->open; }
  size_t holders() const { return state_->holders; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_GATE_H_
