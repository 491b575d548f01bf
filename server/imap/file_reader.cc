#include "server/imap/file_reader.h"

#include <fcntl.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace ringmail::server::imap {
namespace {

constexpr size_t kReadChunk = 256 << 10;

struct ReadState {
  engine::FileIo* io;
  std::string path;
  uint64_t max_bytes;
  int fd = -1;
  std::string data;
  absl::AnyInvocable<void(absl::StatusOr<std::string>)> done;
};

void Finish(std::shared_ptr<ReadState> st, absl::StatusOr<std::string> result) {
  if (st->fd < 0) {
    st->done(std::move(result));
    return;
  }
  int fd = st->fd;
  st->fd = -1;
  st->io->Close(fd, [st, result = std::move(result)](int) mutable {
    st->done(std::move(result));
  });
}

void ReadMore(std::shared_ptr<ReadState> st) {
  size_t have = st->data.size();
  if (have >= st->max_bytes + 1) {
    return Finish(st, absl::ResourceExhaustedError("message too large"));
  }
  size_t want = std::min<uint64_t>(kReadChunk, st->max_bytes + 1 - have);
  st->data.resize(have + want);
  st->io->Read(st->fd, st->data.data() + have, want, have, [st, have](int res) {
    if (res < 0) {
      st->data.clear();
      return Finish(st, absl::UnavailableError(
                            absl::StrCat("read ", st->path, ": ", strerror(-res))));
    }
    st->data.resize(have + res);
    if (res == 0) return Finish(st, std::move(st->data));
    ReadMore(st);
  });
}

}  // namespace

void ReadWholeFile(engine::FileIo* io, std::string path, uint64_t size_hint,
                   uint64_t max_bytes,
                   absl::AnyInvocable<void(absl::StatusOr<std::string>)> done) {
  auto st = std::make_shared<ReadState>();
  st->io = io;
  st->path = std::move(path);
  st->max_bytes = max_bytes;
  st->done = std::move(done);
  if (size_hint > 0 && size_hint <= max_bytes) st->data.reserve(size_hint + 1);
  io->OpenAt(AT_FDCWD, st->path, O_RDONLY | O_CLOEXEC, 0, [st](int fd) {
    if (fd < 0) {
      return st->done(fd == -ENOENT
                          ? absl::Status(absl::NotFoundError("message vanished"))
                          : absl::UnavailableError(absl::StrCat(
                                "open ", st->path, ": ", strerror(-fd))));
    }
    st->fd = fd;
    ReadMore(st);
  });
}

}  // namespace ringmail::server::imap
