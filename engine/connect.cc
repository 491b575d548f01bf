#include "engine/connect.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringmail::engine {
namespace {

// Owns the socket and the address buffer until the CQE arrives (the kernel
// reads the address asynchronously, so it must outlive the submission).
class ConnectOp final : public Operation {
 public:
  ConnectOp(Loop* loop, int fd, const SocketAddress& target, ConnectFn done)
      : loop_(loop), fd_(fd), target_(target), done_(std::move(done)) {}

  void Start(absl::Duration timeout) {
    io_uring_prep_connect(loop_->ring().GetSqe(this), fd_,
                          reinterpret_cast<const sockaddr*>(&target_.storage),
                          target_.len);
    // A timer rather than a linked timeout: GetSqe may submit between the
    // two SQEs of a link when the SQ is full, which would break the link.
    timer_ = loop_->AddTimer(timeout, [this] {
      timer_ = 0;
      timed_out_ = true;
      io_uring_prep_cancel64(loop_->ring().GetSqe(),
                             reinterpret_cast<uint64_t>(this), 0);
    });
  }

  void Complete(int res, uint32_t) override {
    if (timer_ != 0) loop_->CancelTimer(timer_);
    ConnectFn done = std::move(done_);
    int fd = fd_;
    bool timed_out = timed_out_;
    std::string where = target_.ToString();
    delete this;
    if (res == 0) {
      done(fd);
      return;
    }
    close(fd);
    if (timed_out && (res == -ECANCELED || res == -EINTR)) {
      done(absl::DeadlineExceededError(absl::StrCat("connect to ", where, " timed out")));
    } else {
      done(absl::UnavailableError(
          absl::StrCat("connect to ", where, ": ", std::strerror(-res))));
    }
  }

 private:
  Loop* loop_;
  int fd_;
  SocketAddress target_;
  ConnectFn done_;
  Loop::TimerId timer_ = 0;
  bool timed_out_ = false;
};

}  // namespace

void AsyncConnect(Loop* loop, const SocketAddress& target,
                  const ConnectOptions& opts, ConnectFn done) {
  int fd = socket(target.storage.ss_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    done(absl::InternalError(absl::StrCat("socket: ", std::strerror(errno))));
    return;
  }
  if (opts.source.has_value()) {
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<const sockaddr*>(&opts.source->storage),
             opts.source->len) != 0) {
      int e = errno;
      close(fd);
      done(absl::UnavailableError(absl::StrCat(
          "bind ", opts.source->ToString(), ": ", std::strerror(e))));
      return;
    }
  }
  auto* op = new ConnectOp(loop, fd, target, std::move(done));
  op->Start(opts.timeout);
}

}  // namespace ringmail::engine
