#include "bench/ringbench/context.h"

#include <vector>

namespace ringmail::ringbench {

ThreadContext::ThreadContext(engine::Loop* loop, const Options& opts, int thread,
                             int64_t start_ns, std::atomic<uint64_t>* global_ops)
    : loop_(loop),
      opts_(opts),
      thread_(thread),
      end_ns_(start_ns + static_cast<int64_t>(opts.duration_s * 1e9)),
      rec_(start_ns),
      rng_(0x52494e47u + thread),
      global_ops_(global_ops) {
  if (opts.rate > 0) {
    // Each thread takes an equal share, phase-shifted so the merged stream
    // is evenly spaced.
    double share = opts.rate / opts.threads;
    schedule_.emplace(share, start_ns + static_cast<int64_t>(1e9 / opts.rate * thread));
  }
}

bool ThreadContext::stopping() const {
  return stopping_ || NowNanos() >= end_ns_ ||
         (end_early != nullptr && end_early->load(std::memory_order_relaxed)) ||
         global_ops_->load(std::memory_order_relaxed) >= opts_.max_ops;
}

Task<int64_t> ThreadContext::Pace() {
  if (!schedule_) co_return stopping() ? -1 : NowNanos();
  int64_t intended = schedule_->Next();
  if (intended >= end_ns_) {
    stopping_ = true;
    co_return -1;
  }
  int64_t now = NowNanos();
  if (intended > now) {
    co_await Sleep{loop_, absl::Nanoseconds(intended - now)};
  }
  co_return stopping_ ? -1 : intended;
}

void ThreadContext::Done(const std::string& op, int64_t start_ns, uint64_t bytes) {
  int64_t now = NowNanos();
  rec_.Op(op, now - start_ns, now, bytes);
  global_ops_->fetch_add(1, std::memory_order_relaxed);
}

void ThreadContext::AbortAll() {
  std::vector<Client*> all(clients_.begin(), clients_.end());
  for (Client* c : all) c->Abort();
}

std::string ErrorKind(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kDeadlineExceeded: return "timeout";
    case absl::StatusCode::kAborted: return "closed";
    case absl::StatusCode::kUnavailable: return "connect";
    case absl::StatusCode::kResourceExhausted: return "too_large";
    default: return "internal";
  }
}

}  // namespace ringmail::ringbench
