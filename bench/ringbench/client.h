// One client connection driven by a coroutine: connect, write, and await
// lines or byte counts from the server, each wait bounded by a timeout.
//
// The Client is the Connection's handler; it must outlive the connection,
// so a script always ends with `co_await Close()` (or Abort + WaitClosed),
// which returns once the engine has destroyed the Connection.
#ifndef RINGMAIL_BENCH_RINGBENCH_CLIENT_H_
#define RINGMAIL_BENCH_RINGBENCH_CLIENT_H_

#include <coroutine>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/ringbench/task.h"
#include "engine/connect.h"
#include "engine/loop.h"
#include "engine/tcp.h"

namespace ringmail::ringbench {

class Client final : public engine::ConnectionHandler {
 public:
  // Reply lines longer than this are a protocol error (SMTP allows 512,
  // IMAP lines with many UIDs are longer; literals are read separately).
  static constexpr size_t kMaxLine = 1 << 20;
  // Largest block ReadExact accepts (IMAP literals, POP3 messages).
  static constexpr size_t kMaxBlock = 64 << 20;

  Client(engine::Loop* loop, absl::Duration timeout) : loop_(loop), timeout_(timeout) {}
  ~Client() override;

  // Errors: Unavailable / DeadlineExceeded from the connect.
  Task<absl::Status> Connect(const engine::SocketAddress& target,
                             std::optional<engine::SocketAddress> source);
  bool connected() const { return conn_ != nullptr; }

  // Queue bytes; Flush() sends everything queued.
  void Write(std::string_view bytes);
  std::string& out();
  void Flush();

  // The next line without its CRLF (a bare LF also ends a line).
  // Errors: DeadlineExceeded (no bytes within the timeout), Aborted (peer
  // closed or connection lost), ResourceExhausted (line over kMaxLine).
  Task<absl::StatusOr<std::string>> ReadLine();
  // Exactly `n` bytes (errors as ReadLine, ResourceExhausted over kMaxBlock).
  Task<absl::StatusOr<std::string>> ReadExact(size_t n);
  // Reads a POP3/SMTP style multi-line block up to the "." line and
  // returns it with dot-stuffing removed and the final "." line dropped.
  Task<absl::StatusOr<std::string>> ReadDotBlock();
  // Waits up to `max` for input or the end of the stream; reaching `max` is
  // not an error (unlike the reads' timeout) and leaves the connection up.
  // For sessions that sit in IDLE and poll their run's stop condition.
  Task<absl::Status> WaitInput(absl::Duration max);
  // True when a whole line is buffered (ReadLine returns without waiting).
  bool HasLine() const { return buffered().find('\n') != std::string_view::npos; }

  // Graceful close (output is flushed); returns when the connection is gone.
  Task<absl::Status> Close();
  // Drops the connection now (used at the hard deadline).
  void Abort();

  // ConnectionHandler
  void OnReceive(std::string_view data) override;
  void OnPeerClosed() override;
  void OnClosed() override;

 private:
  struct Wait {
    Client* c;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() noexcept {}
  };
  // Suspends until more bytes, EOF, close or timeout.
  Wait WaitForInput() { return Wait{this}; }
  void Wake();
  std::string_view buffered() const {
    return std::string_view(in_).substr(pos_);
  }
  void Consume(size_t n);
  absl::Status StreamError() const;

  engine::Loop* loop_;
  absl::Duration timeout_;
  engine::Connection* conn_ = nullptr;
  std::string in_;
  size_t pos_ = 0;
  std::coroutine_handle<> waiter_;
  engine::Loop::TimerId timer_ = 0;
  bool timed_out_ = false;
  bool soft_wait_ = false;  // WaitInput: the timer only wakes the waiter
  bool peer_closed_ = false;
  bool closed_ = true;  // no connection yet
  absl::Status connect_status_;
};

// Monotonic nanoseconds (the clock latencies and schedules use).
int64_t NowNanos();

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_CLIENT_H_
