// TCP listeners and connections on a core's ring.
//
// Listener: one per core per address, all bound with SO_REUSEPORT so the
// kernel spreads new connections over the cores; multishot accept.
// Connection: multishot recv into the core's provided buffer ring (an idle
// connection holds no receive buffer), one send in flight at a time with
// everything queued meanwhile batched into the next send; once all output
// is sent the send buffers are freed, so an idle connection holds no heap
// buffer at all.
#ifndef RINGMAIL_ENGINE_TCP_H_
#define RINGMAIL_ENGINE_TCP_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/loop.h"
#include "engine/stream.h"

namespace ringmail::engine {

// "ADDR:PORT" with ADDR an IPv4 literal, "[IPv6]" literal, or "*" (any IPv4).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);
  uint16_t port() const;
  void set_port(uint16_t port);
  std::string ToString() const;   // "127.0.0.1:25" / "[::1]:25"
  std::string IpString() const;   // "127.0.0.1" / "::1"
};

// Creates a non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT.
// Call once per core with the same address; after the first call with port 0,
// pass the port it got (see BoundAddress) to the others.
absl::StatusOr<int> CreateListenSocket(const SocketAddress& addr, int backlog);
// getsockname(2) of a socket.
absl::StatusOr<SocketAddress> BoundAddress(int fd);

class Listener final : public Operation {
 public:
  using AcceptFn = absl::AnyInvocable<void(int fd)>;
  // Takes ownership of `fd` (listening). `on_accept` gets each new
  // connection's fd (non-blocking, close-on-exec), owning it.
  Listener(Loop* loop, int fd, AcceptFn on_accept);
  ~Listener() override;
  void Start();
  // Stops accepting and closes the socket; further accepts are refused by
  // the kernel (other cores' listeners keep their own sockets).
  void Stop();
  void Complete(int res, uint32_t flags) override;

 private:
  void Arm();
  Loop* loop_;
  int fd_;
  AcceptFn on_accept_;
  bool armed_ = false;
  bool stopped_ = false;
  bool retry_scheduled_ = false;
};

class Connection;

// Callbacks of one connection. Runs on the connection's core.
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Bytes arrived; `data` is valid only during the call (it is a view of a
  // provided buffer that goes back to the kernel right after).
  virtual void OnReceive(std::string_view data) = 0;
  // The peer closed its side (EOF). The handler normally calls Close().
  virtual void OnPeerClosed() = 0;
  // The connection is gone (closed by us, reset, or error). Last call; the
  // Connection object has already been destroyed when this runs.
  virtual void OnClosed() = 0;
  // A send completed and nothing is queued or in flight any more
  // (pending_output() == 0), for handlers that produce output as the
  // client takes it (back-pressure, e.g. POP3 RETR streaming). Not called
  // while closing or handing over. The handler may queue and Flush output,
  // or Close, from here.
  virtual void OnOutputDrained() {}
};

class Connection final : public Stream {
 public:
  // Takes ownership of the connected socket `fd`.
  Connection(Loop* loop, int fd);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts receiving. `handler` must stay valid until OnClosed.
  void Start(ConnectionHandler* handler);

  // Output is appended here and sent on Flush(). Bytes are copied once, from
  // the handler's formatting straight into this buffer.
  std::string& output() override { return out_; }
  void Flush() override;
  // Bytes queued or in flight, for the handler's back-pressure decisions.
  size_t pending_output() const override { return out_.size() + (sending_.size() - sent_); }

  // Stop/resume delivering OnReceive. While paused, bytes the kernel already
  // received are held (bounded by what one recv round can deliver).
  void PauseReading() override;
  void ResumeReading() override;

  // Flushes pending output, then closes. OnClosed follows.
  void Close() override;
  // Hands the socket over (e.g. to another core) without closing it: stops
  // receiving, finishes sending queued output, then calls `done` with the fd
  // and the bytes received but not yet delivered to the handler. The handler
  // gets no further calls; the Connection is destroyed before `done` runs,
  // and `done` owns the fd. If the connection fails first, `done` gets an fd
  // of -1 (and the handler no further call).
  using ReleaseFn = absl::AnyInvocable<void(int fd, std::string unread)>;
  void Release(ReleaseFn done);
  // Closes now, dropping pending output. OnClosed follows.
  void Abort() override;
  // Redirects every later callback to `handler` (STARTTLS puts a TlsStream
  // between the connection and its session). Bytes held while paused were
  // received under the old handler's protocol: they are dropped and their
  // count returned. Receiving stays as it was (paused or not).
  size_t SwitchHandler(ConnectionHandler* handler);

  int fd() const { return fd_; }
  Loop* loop() const override { return loop_; }
  const SocketAddress& peer() const override { return peer_; }
  bool is_tls() const override { return false; }
  bool closing() const { return closing_; }

 private:
  struct RecvOp final : Operation {
    Connection* c;
    void Complete(int res, uint32_t flags) override { c->OnRecv(res, flags); }
  };
  struct SendOp final : Operation {
    Connection* c;
    void Complete(int res, uint32_t flags) override { c->OnSent(res); }
  };
  struct CloseOp final : Operation {
    Connection* c;
    void Complete(int res, uint32_t flags) override { c->OnCloseDone(); }
  };
  ~Connection() override = default;

  void ArmRecv();
  void CancelRecv();
  void OnRecv(int res, uint32_t flags);
  void OnSent(int res);
  void OnCloseDone();
  void MaybeFinishClose();
  void Deliver(std::string_view data);

  Loop* loop_;
  int fd_;
  SocketAddress peer_;
  ConnectionHandler* handler_ = nullptr;
  RecvOp recv_op_;
  SendOp send_op_;
  CloseOp close_op_;
  std::string out_;
  std::string sending_;
  size_t sent_ = 0;
  std::string held_;  // received while paused
  bool recv_armed_ = false;
  bool recv_cancel_pending_ = false;
  bool rearm_pending_ = false;
  bool send_inflight_ = false;
  bool paused_ = false;
  bool closing_ = false;   // Close()/Abort() called or fatal error
  bool aborting_ = false;  // drop output
  bool close_submitted_ = false;
  bool peer_closed_ = false;
  ReleaseFn release_;  // set while handing the socket over
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_TCP_H_
