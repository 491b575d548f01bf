// A provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot recv.
//
// The kernel picks a free buffer only when data actually arrives, so an idle
// connection holds no receive buffer. Each completion names the buffer id;
// the receiver must hand it back with Recycle() once it no longer needs the
// bytes (normally right after parsing them).
#ifndef RINGMAIL_ENGINE_BUFFER_RING_H_
#define RINGMAIL_ENGINE_BUFFER_RING_H_

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringmail::engine {

struct BufferRingOptions {
  unsigned count = 1024;          // power of two; buffers per core
  size_t buffer_size = 16 << 10;  // bytes each
  uint16_t group_id = 0;
};

class BufferRing {
 public:
  // Allocates and registers the ring with `ring`. Fails if the kernel refuses.
  static absl::StatusOr<std::unique_ptr<BufferRing>> Create(
      io_uring* ring, const BufferRingOptions& opts);
  ~BufferRing();
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group_id() const { return group_id_; }
  // The bytes the kernel wrote into buffer `bid`.
  std::string_view View(uint16_t bid, size_t len) const {
    return std::string_view(base_ + size_t{bid} * buffer_size_, len);
  }
  // Returns buffer `bid` to the kernel.
  void Recycle(uint16_t bid);
  // Buffers currently lent out to the application (for stats and asserts).
  unsigned outstanding() const { return outstanding_; }
  void NoteTaken() { ++outstanding_; }

 private:
  BufferRing() = default;
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* base_ = nullptr;
  unsigned count_ = 0;
  size_t buffer_size_ = 0;
  uint16_t group_id_ = 0;
  unsigned outstanding_ = 0;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_BUFFER_RING_H_
