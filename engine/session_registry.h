// The live sessions (connection handlers) of one service on one core, and
// the service's shutdown: end every session, then run a continuation once
// the last one is gone. The SMTP, IMAP and POP3 services share it instead
// of each keeping a list, a flag and a stored continuation.
//
// A session registers as it is constructed by holding a Membership (a
// member), and leaves when the membership is released or destroyed. The
// service's Shutdown(end, done) calls `end` on every session registered at
// that moment (on a copy: ending one may remove it, or others), then closes
// its Gate, whose `done` runs once no membership is left: at once
// when none is, else from the last Leave(). The continuation can therefore
// run on the stack of a session's destructor; a session that needs members
// alive until then calls Leave() explicitly as the last step of its
// destructor's body.
//
// Sessions registered after Shutdown (a connection handed over from another
// core while this one stops) are counted too: they delay `done` if it has
// not run yet. The service decides whether to admit them (shutting_down()).
//
// Single-threaded (the core's loop). The registry must outlive every
// membership: a service is destroyed only after its Shutdown completed.
#ifndef RINGMAIL_ENGINE_SESSION_REGISTRY_H_
#define RINGMAIL_ENGINE_SESSION_REGISTRY_H_

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "engine/gate.h"

namespace ringmail::engine {

template <typename Session>
class SessionRegistry {
 public:
  // One session's registration. Neither copied nor moved: the registry
  // points at it to keep removals O(1).
  class Membership {
   public:
    Membership(SessionRegistry* registry, Session* session)
        : registry_(registry), holder_(registry->gate_.Enter()) {
      index_ = registry_->live_.size();
      registry_->live_.push_back(Entry{session, this});
    }
    ~Membership() { Leave(); }
    Membership(const Membership&) = delete;
    Membership& operator=(const Membership&) = delete;

    // Removes the session; may run the shutdown continuation (see above).
    // Idempotent.
    void Leave() {
      if (registry_ == nullptr) return;
      std::vector<Entry>& live = registry_->live_;
      assert(index_ < live.size() && live[index_].membership == this);
      // Swap-remove keeps the list dense without a search.
      live[index_] = live.back();
      live[index_].membership->index_ = index_;
      live.pop_back();
      registry_ = nullptr;
      holder_.Release();  // last: may run `done`
    }

   private:
    SessionRegistry* registry_;
    size_t index_ = 0;
    Gate::Holder holder_;
  };

  SessionRegistry() = default;
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  // True from Shutdown() on.
  bool shutting_down() const { return shutting_down_; }
  size_t size() const { return live_.size(); }
  // The sessions now registered, in no particular order (a copy: the
  // caller may end them while iterating).
  std::vector<Session*> Sessions() const {
    std::vector<Session*> out;
    out.reserve(live_.size());
    for (const Entry& e : live_) out.push_back(e.session);
    return out;
  }

  // Calls `end` on each registered session, then runs `done` once every
  // session has left (see the header comment). Once per registry.
  void Shutdown(absl::FunctionRef<void(Session*)> end,
                absl::AnyInvocable<void()> done) {
    assert(!shutting_down_);
    shutting_down_ = true;
    for (Session* s : Sessions()) end(s);
    gate_.Close(std::move(done));
  }

 private:
  struct Entry {
    Session* session;
    Membership* membership;
  };

  Gate gate_;
  std::vector<Entry> live_;
  bool shutting_down_ = false;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_SESSION_REGISTRY_H_
