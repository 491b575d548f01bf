#include "engine/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringmail::engine {
namespace {
// After EMFILE/ENFILE/ENOMEM on accept, wait this long before re-arming, so
// a descriptor shortage does not spin the core.
constexpr absl::Duration kAcceptRetryDelay = absl::Milliseconds(100);
// After -ENOBUFS (every provided buffer lent out), re-arm recv this soon.
constexpr absl::Duration kNoBufsRetryDelay = absl::Milliseconds(1);
// Output buffers up to this capacity are kept while more output is queued
// (a busy connection reuses them); an idle connection keeps none.
constexpr size_t kMaxBusyOutputCapacity = 64 << 10;

// Frees a string's heap buffer (capacity() drops to the inline size).
// References to the string stay valid.
void ReleaseCapacity(std::string& s) {
  s.clear();
  std::string().swap(s);
}

std::string Errno(int e) { return std::strerror(e < 0 ? -e : e); }
}  // namespace

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", std::string(text), "' lacks ':PORT'"));
  }
  std::string_view host = text.substr(0, colon);
  uint32_t port;
  std::string_view port_text = text.substr(colon + 1);
  if (!absl::SimpleAtoi(absl::string_view(port_text.data(), port_text.size()),
                        &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", std::string(text), "' has a bad port"));
  }
  SocketAddress a;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    std::string h(host.substr(1, host.size() - 2));
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, h.c_str(), &s6->sin6_addr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", std::string(text), "' is not a valid IPv6 literal"));
    }
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  if (host == "*" || host.empty()) {
    s4->sin_addr.s_addr = htonl(INADDR_ANY);
  } else {
    std::string h(host);
    if (inet_pton(AF_INET, h.c_str(), &s4->sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "address '", std::string(text), "' is not an IPv4 literal, [IPv6] or *"));
    }
  }
  a.len = sizeof(sockaddr_in);
  return a;
}

uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

void SocketAddress::set_port(uint16_t port) {
  if (storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  }
}

std::string SocketAddress::IpString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (storage.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
    // Show IPv4-mapped addresses as plain IPv4, as mail logs usually do.
    std::string_view v(buf);
    if (v.substr(0, 7) == "::ffff:" && v.find('.') != std::string_view::npos) {
      return std::string(v.substr(7));
    }
  } else if (storage.ss_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&storage);
    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
  } else {
    return "unknown";
  }
  return buf;
}

std::string SocketAddress::ToString() const {
  if (storage.ss_family == AF_INET6) {
    return absl::StrCat("[", IpString(), "]:", port());
  }
  return absl::StrCat(IpString(), ":", port());
}

absl::StatusOr<int> CreateListenSocket(const SocketAddress& addr, int backlog) {
  int fd = socket(addr.storage.ss_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int e = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("SO_REUSEPORT: ", Errno(e)));
  }
  if (addr.storage.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0 ||
      listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", addr.ToString(), ": ", Errno(e)));
  }
  return fd;
}

absl::StatusOr<SocketAddress> BoundAddress(int fd) {
  SocketAddress a;
  a.len = sizeof(a.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", Errno(errno)));
  }
  return a;
}

// ---------------------------------------------------------------- Listener

Listener::Listener(Loop* loop, int fd, AcceptFn on_accept)
    : loop_(loop), fd_(fd), on_accept_(std::move(on_accept)) {}

Listener::~Listener() {
  if (fd_ >= 0) close(fd_);
}

void Listener::Start() { Arm(); }

void Listener::Arm() {
  if (stopped_ || armed_) return;
  io_uring_prep_multishot_accept(loop_->ring().GetSqe(this), fd_, nullptr,
                                 nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  armed_ = true;
}

void Listener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (armed_) {
    io_uring_prep_cancel64(loop_->ring().GetSqe(), reinterpret_cast<uint64_t>(this), 0);
  }
  // Closing our socket removes it from the SO_REUSEPORT group, so the kernel
  // stops routing new connections here.
  shutdown(fd_, SHUT_RD);
}

void Listener::Complete(int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) armed_ = false;
  if (res >= 0) {
    if (stopped_) {
      close(res);
    } else {
      on_accept_(res);
    }
  } else if (res != -ECANCELED && res != -EINVAL) {
    if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
      std::fprintf(stderr, "core %d: accept failed: %s; pausing accepts\n",
                   loop_->id(), Errno(res).c_str());
    }
  }
  if (!armed_ && !stopped_ && !retry_scheduled_) {
    if (res == -EMFILE || res == -ENFILE || res == -ENOMEM || res == -ENOBUFS) {
      retry_scheduled_ = true;
      loop_->AddTimer(kAcceptRetryDelay, [this] {
        retry_scheduled_ = false;
        Arm();
      });
    } else {
      Arm();  // multishot ended (e.g. CQ overflow): re-arm at once
    }
  }
}

// ---------------------------------------------------------------- Connection

Connection::Connection(Loop* loop, int fd) : loop_(loop), fd_(fd) {
  recv_op_.c = this;
  send_op_.c = this;
  close_op_.c = this;
  peer_.len = sizeof(peer_.storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer_.storage), &peer_.len) != 0) {
    peer_.storage.ss_family = AF_UNSPEC;
  }
  int one = 1;
  // Replies are small and already batched per read; do not wait for Nagle.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void Connection::Start(ConnectionHandler* handler) {
  handler_ = handler;
  ArmRecv();
}

void Connection::ArmRecv() {
  if (recv_armed_ || closing_ || paused_ || peer_closed_) return;
  recv_cancel_pending_ = false;
  io_uring_sqe* sqe = loop_->ring().GetSqe(&recv_op_);
  io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = loop_->buffers().group_id();
  recv_armed_ = true;
}

void Connection::Deliver(std::string_view data) {
  if (closing_) return;
  handler_->OnReceive(data);
}

void Connection::OnRecv(int res, uint32_t flags) {
  if (!(flags & IORING_CQE_F_MORE)) {
    recv_armed_ = false;
    recv_cancel_pending_ = false;
  }
  if (flags & IORING_CQE_F_BUFFER) {
    uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    loop_->buffers().NoteTaken();
    if (res > 0) {
      std::string_view data = loop_->buffers().View(bid, res);
      if (paused_) {
        held_.append(data);
      } else {
        Deliver(data);
      }
    }
    loop_->buffers().Recycle(bid);
  }
  if (res == 0) {
    peer_closed_ = true;
    recv_armed_ = false;
    if (!closing_ && !paused_) handler_->OnPeerClosed();
  } else if (res == -ENOBUFS) {
    // Every buffer is lent out; the multishot recv ended. Try again shortly,
    // once other connections have handed buffers back.
    if (!rearm_pending_ && !closing_) {
      rearm_pending_ = true;
      loop_->AddTimer(kNoBufsRetryDelay, [this] {
        rearm_pending_ = false;
        ArmRecv();
        MaybeFinishClose();
      });
    }
  } else if (res < 0 && res != -ECANCELED) {
    // ECONNRESET, ETIMEDOUT, ...: the connection is dead.
    closing_ = true;
    aborting_ = true;
  }
  // Multishot ended but data flows, or a PauseReading's cancel completed
  // after ResumeReading already ran (ArmRecv then found the recv still armed
  // and did nothing): re-arm unless paused or closing (ArmRecv checks).
  if (!recv_armed_ && (res > 0 || res == -ECANCELED)) ArmRecv();
  MaybeFinishClose();
}

void Connection::Flush() {
  if (send_inflight_ || out_.empty() || aborting_ || close_submitted_) return;
  // Output queued while handing over still goes out from this core.
  sending_.swap(out_);
  out_.clear();
  sent_ = 0;
  send_inflight_ = true;
  io_uring_prep_send(loop_->ring().GetSqe(&send_op_), fd_, sending_.data(),
                     sending_.size(), MSG_NOSIGNAL);
}

void Connection::OnSent(int res) {
  send_inflight_ = false;
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      res = 0;  // retry the same bytes
    } else {
      closing_ = true;
      aborting_ = true;
      MaybeFinishClose();
      return;
    }
  }
  sent_ += res;
  if (sent_ < sending_.size() && !aborting_) {
    send_inflight_ = true;
    io_uring_prep_send(loop_->ring().GetSqe(&send_op_), fd_,
                       sending_.data() + sent_, sending_.size() - sent_,
                       MSG_NOSIGNAL);
    return;
  }
  sent_ = 0;
  if (out_.empty() || sending_.capacity() > kMaxBusyOutputCapacity) {
    // Nothing more to send: the connection goes idle, and an idle
    // connection holds no output buffer (thousands of idle sessions would
    // otherwise each keep the capacity of their largest reply; issue 4).
    ReleaseCapacity(sending_);
    if (out_.empty()) ReleaseCapacity(out_);
  } else {
    sending_.clear();
  }
  Flush();
  if (!closing_ && !send_inflight_ && out_.empty() && handler_ != nullptr) {
    handler_->OnOutputDrained();  // may Close (and so delete this): last
    return;
  }
  MaybeFinishClose();
}

void Connection::CancelRecv() {
  if (!recv_armed_ || recv_cancel_pending_) return;
  recv_cancel_pending_ = true;
  io_uring_prep_cancel64(loop_->ring().GetSqe(),
                         reinterpret_cast<uint64_t>(&recv_op_), 0);
}

void Connection::PauseReading() {
  if (paused_) return;
  paused_ = true;
  CancelRecv();
}

void Connection::ResumeReading() {
  if (!paused_) return;
  paused_ = false;
  if (!held_.empty()) {
    std::string held;
    held.swap(held_);
    Deliver(held);
    if (paused_) return;  // the handler paused again; the rest stays held
  }
  if (peer_closed_) {
    if (!closing_) handler_->OnPeerClosed();
    MaybeFinishClose();
    return;
  }
  ArmRecv();
}

void Connection::Close() {
  closing_ = true;
  Flush();
  MaybeFinishClose();
}

void Connection::Abort() {
  closing_ = true;
  aborting_ = true;
  if (send_inflight_) {
    // A peer that reads nothing would hold the send, and so the close,
    // forever; OnSent gets -ECANCELED (or the send finished first).
    io_uring_prep_cancel64(loop_->ring().GetSqe(),
                           reinterpret_cast<uint64_t>(&send_op_), 0);
  }
  MaybeFinishClose();
}

size_t Connection::SwitchHandler(ConnectionHandler* handler) {
  handler_ = handler;
  size_t dropped = held_.size();
  held_.clear();
  held_.shrink_to_fit();
  return dropped;
}

void Connection::Release(ReleaseFn done) {
  release_ = std::move(done);
  paused_ = true;  // anything still arriving is held for the new owner
  closing_ = true;
  Flush();
  MaybeFinishClose();
}

void Connection::MaybeFinishClose() {
  if (!closing_ || close_submitted_) return;
  if (release_ && !aborting_) {
    if (recv_armed_) {
      CancelRecv();
      return;
    }
    if (send_inflight_ || rearm_pending_) return;
    if (!out_.empty()) {
      Flush();
      return;
    }
    close_submitted_ = true;  // no further ring operations on this fd here
    ReleaseFn done = std::move(release_);
    int fd = fd_;
    std::string unread = std::move(held_);
    loop_->Defer([fd, unread = std::move(unread), done = std::move(done)]() mutable {
      done(fd, std::move(unread));
    });
    delete this;
    return;
  }
  if (recv_armed_) {
    CancelRecv();
    return;  // wait for the recv's final CQE
  }
  if (send_inflight_ || rearm_pending_) return;
  if (!aborting_ && !out_.empty()) {
    Flush();
    return;
  }
  close_submitted_ = true;
  io_uring_prep_close(loop_->ring().GetSqe(&close_op_), fd_);
}

void Connection::OnCloseDone() {
  ConnectionHandler* h = handler_;
  // A hand-over that failed (the peer reset mid-way): the handler already
  // let go of this connection, so the new owner hears of it instead, as an
  // fd of -1.
  ReleaseFn release = std::move(release_);
  delete this;
  if (release) {
    release(-1, std::string());
  } else if (h != nullptr) {
    h->OnClosed();
  }
}

}  // namespace ringmail::engine
