// Bounded single-producer single-consumer queue, lock-free.
//
// One producer thread calls TryPush, one consumer thread calls TryPop. The
// capacity is fixed at construction (rounded up to a power of two); a full
// queue refuses the push and the producer keeps the item (back-pressure),
// so memory stays bounded.
#ifndef RINGMAIL_ENGINE_SPSC_QUEUE_H_
#define RINGMAIL_ENGINE_SPSC_QUEUE_H_

#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace ringmail::engine {

template <typename T>
class SpscQueue {
 public:
  explicit SpscQueue(size_t capacity)
      : mask_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity) - 1),
        slots_(new std::optional<T>[mask_ + 1]) {}
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer side. Returns false (and leaves `item` untouched) when full.
  bool TryPush(T& item) {
    size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_].emplace(std::move(item));
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer side. Returns nullopt when empty.
  std::optional<T> TryPop() {
    size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return std::nullopt;
    }
    std::optional<T> out = std::move(slots_[head & mask_]);
    slots_[head & mask_].reset();
    head_.store(head + 1, std::memory_order_release);
    return out;
  }

  // Either side; a snapshot that may be stale by the time it is used.
  bool ApproxEmpty() const {
    return head_.load(std::memory_order_acquire) ==
           tail_.load(std::memory_order_acquire);
  }

 private:
  const size_t mask_;
  std::unique_ptr<std::optional<T>[]> slots_;
  // Producer and consumer indices on separate cache lines to avoid false
  // sharing; each side caches the other's index to touch it rarely.
  alignas(64) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;
  alignas(64) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_SPSC_QUEUE_H_
