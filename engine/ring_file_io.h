// engine::FileIo over a core's io_uring: every call becomes one SQE whose
// completion runs the callback on the core's thread.
#ifndef RINGMAIL_ENGINE_RING_FILE_IO_H_
#define RINGMAIL_ENGINE_RING_FILE_IO_H_

#include "engine/file_io.h"
#include "engine/ring.h"

namespace ringmail::engine {

class RingFileIo final : public FileIo {
 public:
  // `ring` must outlive this object and every operation in flight.
  explicit RingFileIo(Ring* ring) : ring_(ring) {}

  void OpenAt(int dirfd, std::string_view path, int flags, mode_t mode,
              IoCallback done) override;
  void Write(int fd, const void* data, size_t len, uint64_t offset,
             IoCallback done) override;
  void WriteV(int fd, absl::Span<const iovec> parts, uint64_t offset,
              IoCallback done) override;
  void Read(int fd, void* data, size_t len, uint64_t offset,
            IoCallback done) override;
  void Fsync(int fd, bool datasync, IoCallback done) override;
  void RenameAt(int old_dirfd, std::string_view old_path, int new_dirfd,
                std::string_view new_path, IoCallback done) override;
  void LinkAt(int old_dirfd, std::string_view old_path, int new_dirfd,
              std::string_view new_path, int flags,
              IoCallback done) override;
  void UnlinkAt(int dirfd, std::string_view path, int flags,
                IoCallback done) override;
  void MkdirAt(int dirfd, std::string_view path, mode_t mode,
               IoCallback done) override;
  void Close(int fd, IoCallback done) override;

  // Operations submitted and not yet completed.
  size_t in_flight() const { return in_flight_; }

 private:
  class FileOp;
  FileOp* NewOp(IoCallback done, std::string_view a = {},
                std::string_view b = {});
  Ring* const ring_;
  size_t in_flight_ = 0;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_RING_FILE_IO_H_
