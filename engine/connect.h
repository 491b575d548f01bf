// Outbound TCP connect through the ring (IORING_OP_CONNECT), for clients
// that run on the engine (bench/ringbench). The engine's servers never
// connect out; this is the one place that does.
#ifndef RINGMAIL_ENGINE_CONNECT_H_
#define RINGMAIL_ENGINE_CONNECT_H_

#include <optional>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/loop.h"
#include "engine/tcp.h"

namespace ringmail::engine {

struct ConnectOptions {
  // Bind to this local address first (port 0 normally). Spreading clients
  // over 127.0.0.0/8 this way gets past the ~28k ephemeral ports of one
  // source address; IP_BIND_ADDRESS_NO_PORT defers the port choice to
  // connect(2) so the 4-tuple, not the source port alone, must be unique.
  std::optional<SocketAddress> source;
  // The connect is cancelled after this long (DeadlineExceeded).
  absl::Duration timeout = absl::Seconds(10);
};

// Called once, on `loop`'s thread, with the connected non-blocking,
// close-on-exec socket (the callee owns it) or why it failed:
// Unavailable (refused, unreachable, ...), DeadlineExceeded, Internal.
using ConnectFn = absl::AnyInvocable<void(absl::StatusOr<int> fd)>;

// Starts connecting to `target`. Loop thread only. `done` may run before
// this returns only for failures detected synchronously (socket or bind
// errors); otherwise it runs from a ring completion. Nothing is owned by the
// caller after the call: the in-flight state frees itself.
void AsyncConnect(Loop* loop, const SocketAddress& target,
                  const ConnectOptions& opts, ConnectFn done);

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_CONNECT_H_
