#include "server/file_read.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace ringmail::server {
namespace {

// Read sizes. Every byte asked for is first zero-filled by
// std::string::resize, so a read is sized by what the file is expected to
// hold: the size hint (the S= of a Maildir name) plus one byte, then a
// one-byte probe for the end of the file; without a hint (or past it) reads
// grow geometrically from kFirstChunk to kMaxChunk. Asking for 256 KiB for
// every message cost a 256 KiB allocation and memset per FETCH (4.6 % of the
// daemon's CPU in the IMAP benchmark, docs/performance.md).
constexpr size_t kFirstChunk = 16 << 10;
constexpr size_t kMaxChunk = 256 << 10;

struct ReadState {
  engine::FileIo* io;
  std::string path;
  FileReadOptions options;
  int fd = -1;
  // The last read returned less than it asked for: most likely the end of
  // the file, so the next read is a one-byte probe.
  bool short_read = false;
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
  uint64_t want;
  if (st->short_read) {
    want = 1;
  } else if (have < st->options.size_hint) {
    want = st->options.size_hint - have + 1;
  } else {
    want = std::clamp<uint64_t>(have, kFirstChunk, kMaxChunk);
  }
  want = std::min<uint64_t>(want, limit - have);
  st->data.resize(have + want);
  st->io->Read(st->fd, st->data.data() + have, want, st->options.offset + have,
               [st, have, want](int res) {
                 if (res < 0) {
                   st->data.clear();
                   return Finish(st, absl::UnavailableError(absl::StrCat(
                                         "read ", st->path, ": ", strerror(-res))));
                 }
                 st->data.resize(have + res);
                 if (res == 0) return Finish(st, std::move(st->data));
                 st->short_read = static_cast<uint64_t>(res) < want;
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
