#include "engine/ring_file_io.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <string>

namespace ringmail::engine {

// Owns the callback and copies of the paths until the CQE arrives (the
// kernel reads paths asynchronously, so they must outlive the SQE).
class RingFileIo::FileOp final : public Operation {
 public:
  FileOp(RingFileIo* owner, IoCallback done, std::string_view a,
         std::string_view b)
      : owner_(owner), done_(std::move(done)), path_a_(a), path_b_(b) {}
  void Complete(int res, uint32_t flags) override {
    --owner_->in_flight_;
    IoCallback done = std::move(done_);
    delete this;
    done(res);
  }
  const char* a() const { return path_a_.c_str(); }
  const char* b() const { return path_b_.c_str(); }
  // WriteV's iovec array: the kernel may read it only when a worker runs
  // the request, so it lives as long as the operation.
  iovec* parts() { return parts_.data(); }

 private:
  RingFileIo* owner_;
  IoCallback done_;
  std::string path_a_;
  std::string path_b_;
  std::array<iovec, kMaxWriteParts> parts_{};
};

RingFileIo::FileOp* RingFileIo::NewOp(IoCallback done, std::string_view a,
                                      std::string_view b) {
  ++in_flight_;
  return new FileOp(this, std::move(done), a, b);
}

void RingFileIo::OpenAt(int dirfd, std::string_view path, int flags,
                        mode_t mode, IoCallback done) {
  FileOp* op = NewOp(std::move(done), path);
  io_uring_prep_openat(ring_->GetSqe(op), dirfd, op->a(), flags, mode);
}

void RingFileIo::Write(int fd, const void* data, size_t len, uint64_t offset,
                       IoCallback done) {
  io_uring_prep_write(ring_->GetSqe(NewOp(std::move(done))), fd, data,
                      static_cast<unsigned>(len), offset);
}

void RingFileIo::WriteV(int fd, absl::Span<const iovec> parts,
                        uint64_t offset, IoCallback done) {
  assert(!parts.empty() && parts.size() <= kMaxWriteParts);
  FileOp* op = NewOp(std::move(done));
  std::copy(parts.begin(), parts.end(), op->parts());
  io_uring_prep_writev(ring_->GetSqe(op), fd, op->parts(),
                       static_cast<unsigned>(parts.size()), offset);
}

void RingFileIo::Read(int fd, void* data, size_t len, uint64_t offset,
                      IoCallback done) {
  io_uring_prep_read(ring_->GetSqe(NewOp(std::move(done))), fd, data,
                     static_cast<unsigned>(len), offset);
}

void RingFileIo::Fsync(int fd, bool datasync, IoCallback done) {
  io_uring_prep_fsync(ring_->GetSqe(NewOp(std::move(done))), fd,
                      datasync ? IORING_FSYNC_DATASYNC : 0);
}

void RingFileIo::RenameAt(int old_dirfd, std::string_view old_path,
                          int new_dirfd, std::string_view new_path,
                          IoCallback done) {
  FileOp* op = NewOp(std::move(done), old_path, new_path);
  io_uring_prep_renameat(ring_->GetSqe(op), old_dirfd, op->a(), new_dirfd,
                         op->b(), 0);
}

void RingFileIo::LinkAt(int old_dirfd, std::string_view old_path,
                        int new_dirfd, std::string_view new_path,
                        int flags, IoCallback done) {
  FileOp* op = NewOp(std::move(done), old_path, new_path);
  io_uring_prep_linkat(ring_->GetSqe(op), old_dirfd, op->a(), new_dirfd,
                       op->b(), flags);
}

void RingFileIo::UnlinkAt(int dirfd, std::string_view path, int flags,
                          IoCallback done) {
  FileOp* op = NewOp(std::move(done), path);
  io_uring_prep_unlinkat(ring_->GetSqe(op), dirfd, op->a(), flags);
}

void RingFileIo::MkdirAt(int dirfd, std::string_view path, mode_t mode,
                         IoCallback done) {
  FileOp* op = NewOp(std::move(done), path);
  io_uring_prep_mkdirat(ring_->GetSqe(op), dirfd, op->a(), mode);
}

void RingFileIo::Close(int fd, IoCallback done) {
  io_uring_prep_close(ring_->GetSqe(NewOp(std::move(done))), fd);
}

}  // namespace ringmail::engine
