#include "bench/ringbench/client.h"

#include <time.h>

#include <cassert>

#include "absl/strings/str_cat.h"

namespace ringmail::ringbench {

int64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Client::~Client() {
  // A script must close before its Client goes away (see header).
  assert(conn_ == nullptr);
  if (timer_ != 0) loop_->CancelTimer(timer_);
}

void Client::Wait::await_suspend(std::coroutine_handle<> h) {
  assert(!c->waiter_);
  c->waiter_ = h;
  c->timer_ = c->loop_->AddTimer(c->timeout_, [c = c] {
    c->timer_ = 0;
    if (c->soft_wait_) {
      c->Wake();
      return;
    }
    c->timed_out_ = true;
    if (c->conn_ != nullptr) {
      c->conn_->Abort();  // OnClosed wakes the waiter
    } else {
      c->Wake();
    }
  });
}

void Client::Wake() {
  if (timer_ != 0) {
    loop_->CancelTimer(timer_);
    timer_ = 0;
  }
  if (waiter_) {
    std::coroutine_handle<> h = std::exchange(waiter_, {});
    h.resume();  // last statement: the script may finish and free *this
  }
}

Task<absl::Status> Client::Connect(const engine::SocketAddress& target,
                                   std::optional<engine::SocketAddress> source) {
  assert(conn_ == nullptr);
  engine::ConnectOptions opts;
  opts.source = std::move(source);
  opts.timeout = timeout_;
  bool done = false;
  int fd = -1;
  engine::AsyncConnect(loop_, target, opts, [this, &done, &fd](absl::StatusOr<int> r) {
    done = true;
    if (r.ok()) {
      fd = *r;
    } else {
      connect_status_ = r.status();
    }
    Wake();
  });
  // The callback may have run already (synchronous socket/bind failure).
  while (!done) co_await WaitForInput();
  if (fd < 0) co_return connect_status_;
  in_.clear();
  pos_ = 0;
  timed_out_ = peer_closed_ = closed_ = false;
  conn_ = new engine::Connection(loop_, fd);
  conn_->Start(this);
  co_return absl::OkStatus();
}

void Client::Write(std::string_view bytes) {
  if (conn_ != nullptr) conn_->output().append(bytes);
}

std::string& Client::out() {
  static thread_local std::string sink;  // writes after close go nowhere
  if (conn_ == nullptr) {
    sink.clear();
    return sink;
  }
  return conn_->output();
}

void Client::Flush() {
  if (conn_ != nullptr) conn_->Flush();
}

void Client::OnReceive(std::string_view data) {
  in_.append(data);
  Wake();
}

void Client::OnPeerClosed() {
  peer_closed_ = true;
  Wake();
}

void Client::OnClosed() {
  conn_ = nullptr;
  closed_ = true;
  Wake();
}

void Client::Consume(size_t n) {
  pos_ += n;
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ > (64 << 10) && pos_ > in_.size() / 2) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
}

absl::Status Client::StreamError() const {
  if (timed_out_) return absl::DeadlineExceededError("timed out waiting for the server");
  return absl::AbortedError("connection closed by the server");
}

Task<absl::StatusOr<std::string>> Client::ReadLine() {
  size_t scanned = 0;
  while (true) {
    std::string_view b = buffered();
    size_t nl = b.find('\n', scanned);
    if (nl != std::string_view::npos) {
      size_t end = (nl > 0 && b[nl - 1] == '\r') ? nl - 1 : nl;
      std::string line(b.substr(0, end));
      Consume(nl + 1);
      co_return line;
    }
    scanned = b.size();
    if (scanned > kMaxLine) {
      co_return absl::ResourceExhaustedError("reply line too long");
    }
    if (peer_closed_ || closed_ || timed_out_) co_return StreamError();
    co_await WaitForInput();
  }
}

Task<absl::StatusOr<std::string>> Client::ReadExact(size_t n) {
  if (n > kMaxBlock) co_return absl::ResourceExhaustedError("block too large");
  while (buffered().size() < n) {
    if (peer_closed_ || closed_ || timed_out_) co_return StreamError();
    co_await WaitForInput();
  }
  std::string out(buffered().substr(0, n));
  Consume(n);
  co_return out;
}

Task<absl::StatusOr<std::string>> Client::ReadDotBlock() {
  std::string block;
  while (true) {
    absl::StatusOr<std::string> line = co_await ReadLine();
    if (!line.ok()) co_return line.status();
    if (*line == ".") co_return block;
    std::string_view l = *line;
    if (!l.empty() && l[0] == '.') l.remove_prefix(1);  // RFC 1939 §3
    if (block.size() + l.size() + 2 > kMaxBlock) {
      co_return absl::ResourceExhaustedError("multi-line reply too large");
    }
    block.append(l);
    block.append("\r\n");
  }
}

Task<absl::Status> Client::WaitInput(absl::Duration max) {
  if (!buffered().empty() || peer_closed_ || closed_ || timed_out_) co_return absl::OkStatus();
  absl::Duration saved = timeout_;
  timeout_ = max;
  soft_wait_ = true;
  co_await WaitForInput();
  soft_wait_ = false;
  timeout_ = saved;
  co_return absl::OkStatus();
}

Task<absl::Status> Client::Close() {
  if (conn_ != nullptr) conn_->Close();
  while (!closed_) co_await WaitForInput();
  co_return absl::OkStatus();
}

void Client::Abort() {
  if (conn_ != nullptr) conn_->Abort();
}

}  // namespace ringmail::ringbench
