// For engine tests: one core's Loop on a thread of its own with a Listener
// on 127.0.0.1 (ephemeral port). Every accepted connection gets a Connection
// and the handler `make_handler` returns (called on the loop thread).
#ifndef RINGMAIL_ENGINE_LOOP_TEST_SERVER_H_
#define RINGMAIL_ENGINE_LOOP_TEST_SERVER_H_

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "engine/loop.h"
#include "engine/tcp.h"

namespace ringmail::engine {

class LoopTestServer {
 public:
  using MakeHandler = std::function<ConnectionHandler*(Connection*)>;

  // Four provided receive buffers of `buffer_size` bytes. Set-up failures
  // are reported to gtest; Connect() then returns -1.
  LoopTestServer(size_t buffer_size, MakeHandler make_handler)
      : make_handler_(std::move(make_handler)) {
    LoopOptions opts;
    opts.ring.entries = 64;
    opts.buffers.count = 4;
    opts.buffers.buffer_size = buffer_size;
    auto addr = SocketAddress::Parse("127.0.0.1:0");
    if (!addr.ok()) {
      ADD_FAILURE() << addr.status();
      return;
    }
    auto lfd = CreateListenSocket(*addr, 16);
    if (!lfd.ok()) {
      ADD_FAILURE() << lfd.status();
      return;
    }
    auto bound = BoundAddress(*lfd);
    if (!bound.ok()) {
      ADD_FAILURE() << bound.status();
      return;
    }
    bound_ = *bound;
    thread_ = std::thread([this, opts, fd = *lfd] {
      auto l = Loop::Create(0, &mesh_, opts);
      if (!l.ok()) {
        ADD_FAILURE() << l.status();
        return;
      }
      loop_ = std::move(*l);
      auto listener = std::make_unique<Listener>(loop_.get(), fd, [this](int c) {
        auto* conn = new Connection(loop_.get(), c);
        conn->Start(make_handler_(conn));
      });
      listener->Start();
      loop_->Run();
    });
    mesh_.WaitForLoops();
  }

  ~LoopTestServer() { Stop(); }

  // Stops the loop and joins its thread (once); afterwards the handlers'
  // state may be read without a race. Tests let their server-side
  // connections close first (LeakSanitizer).
  void Stop() {
    if (!thread_.joinable()) return;
    if (loop_ != nullptr) mesh_.PostFromThread(1, 0, [this] { loop_->Stop(); });
    thread_.join();
  }

  // A client socket connected to the server, or -1.
  int Connect() {
    if (!bound_) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&bound_->storage),
                bound_->len) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

 private:
  MakeHandler make_handler_;
  Mesh mesh_{1, 1};  // the loop, and this thread as message source 1
  std::optional<SocketAddress> bound_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_LOOP_TEST_SERVER_H_
