#include "server/file_read.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace ringmail::server {
namespace {

constexpr size_t kReadChunk = 256 << 10;

struct ReadState {
  engine::FileIo* io;
  std::string path;
  FileReadOptions options;
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
  const size_t have = st->data.size();
  const uint64_t max = st->options.max_bytes;
  if (have >= max) {
    if (st->options.truncate) {
      st->data.resize(max);
      return Finish(st, std::move(st->data));
    }
    // One byte past the limit was read: the file is too long.
    if (have > max) return Finish(st, absl::ResourceExhaustedError("message too large"));
  }
  // Without truncation read one byte more than allowed, to tell "exactly
  // max_bytes" from "longer".
  const uint64_t limit = st->options.truncate ? max : max + 1;
  size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, limit - have));
  st->data.resize(have + want);
  st->io->Read(st->fd, st->data.data() + have, want, st->options.offset + have,
               [st, have](int res) {
                 if (res < 0) {
                   st->data.clear();
                   return Finish(st, absl::UnavailableError(absl::StrCat(
                                         "read ", st->path, ": ", strerror(-res))));
                 }
                 st->data.resize(have + res);
                 if (res == 0) return Finish(st, std::move(st->data));
                 ReadMore(st);
               });
}

}  // namespace

void ReadFile(engine::FileIo* io, std::string path, const FileReadOptions& options,
              absl::AnyInvocable<void(absl::StatusOr<std::string>)> done) {
  auto st = std::make_shared<ReadState>();
  st->io = io;
  st->path = std::move(path);
  st->options = options;
  st->done = std::move(done);
  if (options.size_hint > 0 && options.size_hint <= options.max_bytes) {
    st->data.reserve(options.size_hint + 1);
  }
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

}  // namespace ringmail::server
