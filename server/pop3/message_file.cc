#include "server/pop3/message_file.h"

#include <cassert>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringmail::server::pop3 {

struct MessageFile::State {
  engine::FileIo* io;
  int fd;
  uint64_t offset = 0;
  bool in_flight = false;
  bool orphaned = false;  // the MessageFile is gone: close after the read
  std::string buf;
};

MessageFile::MessageFile(engine::FileIo* io, int fd)
    : st_(std::make_shared<State>()) {
  st_->io = io;
  st_->fd = fd;
}

MessageFile::~MessageFile() {
  st_->orphaned = true;
  if (!st_->in_flight) st_->io->Close(st_->fd, [](int) {});
}

bool MessageFile::reading() const { return st_->in_flight; }
uint64_t MessageFile::offset() const { return st_->offset; }

void MessageFile::ReadNext(ChunkFn done) {
  assert(!st_->in_flight);
  st_->in_flight = true;
  st_->buf.resize(kRetrChunkBytes);
  st_->io->Read(st_->fd, st_->buf.data(), st_->buf.size(), st_->offset,
                [st = st_, done = std::move(done)](int res) mutable {
                  st->in_flight = false;
                  if (st->orphaned) {
                    st->io->Close(st->fd, [](int) {});
                    return;
                  }
                  if (res < 0) {
                    done(absl::UnavailableError(
                        absl::StrCat("read: ", std::strerror(-res))));
                    return;
                  }
                  st->offset += static_cast<uint64_t>(res);
                  done(std::string_view(st->buf.data(), static_cast<size_t>(res)));
                });
}

}  // namespace ringmail::server::pop3
