#include "engine/buffer_ring.h"

#include <sys/mman.h>

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringmail::engine {

absl::StatusOr<std::unique_ptr<BufferRing>> BufferRing::Create(
    io_uring* ring, const BufferRingOptions& opts) {
  if (!std::has_single_bit(opts.count) || opts.count > 32768) {
    return absl::InvalidArgumentError(
        "buffer ring count must be a power of two <= 32768");
  }
  std::unique_ptr<BufferRing> b(new BufferRing());
  b->ring_ = ring;
  b->count_ = opts.count;
  b->buffer_size_ = opts.buffer_size;
  b->group_id_ = opts.group_id;
  size_t ring_bytes = opts.count * sizeof(io_uring_buf);
  size_t data_bytes = opts.count * opts.buffer_size;
  // One anonymous mapping: page-aligned as the kernel requires, and the
  // buffer pages are only backed once the kernel first writes into them.
  void* mem = mmap(nullptr, ring_bytes + data_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("mmap for buffer ring failed: ", std::strerror(errno)));
  }
  b->br_ = static_cast<io_uring_buf_ring*>(mem);
  b->base_ = static_cast<char*>(mem) + ring_bytes;
  io_uring_buf_ring_init(b->br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(b->br_);
  reg.ring_entries = opts.count;
  reg.bgid = opts.group_id;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret != 0) {
    munmap(mem, ring_bytes + data_bytes);
    b->br_ = nullptr;
    return absl::FailedPreconditionError(absl::StrCat(
        "io_uring_register_buf_ring failed: ", std::strerror(-ret)));
  }
  int mask = io_uring_buf_ring_mask(opts.count);
  for (unsigned i = 0; i < opts.count; ++i) {
    io_uring_buf_ring_add(b->br_, b->base_ + i * opts.buffer_size,
                          opts.buffer_size, i, mask, i);
  }
  io_uring_buf_ring_advance(b->br_, opts.count);
  return b;
}

BufferRing::~BufferRing() {
  if (br_ == nullptr) return;
  io_uring_unregister_buf_ring(ring_, group_id_);
  munmap(br_, count_ * sizeof(io_uring_buf) + count_ * buffer_size_);
}

void BufferRing::Recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, base_ + size_t{bid} * buffer_size_, buffer_size_,
                        bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
  --outstanding_;
}

}  // namespace ringmail::engine
