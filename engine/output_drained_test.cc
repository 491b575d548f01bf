// ConnectionHandler::OnOutputDrained: a handler that produces output only
// as the client takes it (the POP3 RETR streaming pattern); and Abort of a
// connection whose peer stopped reading.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "engine/loop_test_server.h"
#include "engine/tcp.h"

namespace ringmail::engine {
namespace {

constexpr size_t kChunk = 256 << 10;
constexpr int kChunks = 16;  // 4 MiB: far more than a socket buffer

// On "go\n" queues one chunk; each OnOutputDrained queues the next, then
// "end\n". Records what it saw for the test to check afterwards.
class StreamingHandler : public ConnectionHandler {
 public:
  StreamingHandler(Connection* c, int* drained, bool* pending_zero,
                   std::atomic<bool>* closed)
      : c_(c), drained_(drained), pending_zero_(pending_zero), closed_(closed) {}
  void OnReceive(std::string_view data) override {
    if (data.find('\n') == std::string_view::npos || started_) return;
    started_ = true;
    Next();
  }
  void OnOutputDrained() override {
    ++*drained_;
    if (c_->pending_output() != 0) *pending_zero_ = false;
    Next();
  }
  void OnPeerClosed() override { c_->Close(); }
  void OnClosed() override {
    closed_->store(true);
    delete this;
  }

 private:
  void Next() {
    if (sent_ < kChunks) {
      c_->output().append(kChunk, static_cast<char>('a' + sent_ % 26));
      if (++sent_ == kChunks) c_->output().append("end\n");
      c_->Flush();
    }
  }
  Connection* c_;
  int* drained_;
  bool* pending_zero_;
  std::atomic<bool>* closed_;
  bool started_ = false;
  int sent_ = 0;
};

TEST(Tcp, OutputDrainedDrivesStreamingOutput) {
  int drained = 0;
  bool pending_zero = true;
  std::atomic<bool> server_closed{false};
  LoopTestServer server(256, [&](Connection* c) -> ConnectionHandler* {
    return new StreamingHandler(c, &drained, &pending_zero, &server_closed);
  });
  int fd = server.Connect();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "go\n", 3), 3);
  std::string got;
  char buf[65536];
  while (got.size() < kChunk * kChunks + 4) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, n);
  }
  ASSERT_EQ(got.size(), kChunk * kChunks + 4);
  for (int i = 0; i < kChunks; ++i) {
    EXPECT_EQ(got[i * kChunk], 'a' + i % 26);
    EXPECT_EQ(got[(i + 1) * kChunk - 1], 'a' + i % 26);
  }
  EXPECT_EQ(got.substr(got.size() - 4), "end\n");
  close(fd);
  // Let the server side see EOF and close before the loop stops, or the
  // connection leaks (LeakSanitizer in the ASan run).
  for (int i = 0; i < 500 && !server_closed.load(); ++i) usleep(10'000);
  EXPECT_TRUE(server_closed.load());
  server.Stop();
  // One drain per chunk handed to the kernel (the last one's drain too).
  EXPECT_EQ(drained, kChunks);
  EXPECT_TRUE(pending_zero);
}

// Queues far more than the socket takes, then aborts: the connection must
// close although the peer never reads (the stuck send is cancelled).
class StuckHandler : public ConnectionHandler {
 public:
  StuckHandler(Connection* c, std::atomic<bool>* closed) : c_(c), closed_(closed) {}
  void OnReceive(std::string_view) override {
    if (started_) return;
    started_ = true;
    c_->output().append(16 << 20, 'x');
    c_->Flush();
    c_->loop()->AddTimer(absl::Milliseconds(100), [c = c_] { c->Abort(); });
  }
  void OnPeerClosed() override {}
  void OnClosed() override {
    closed_->store(true);
    delete this;
  }

 private:
  Connection* c_;
  std::atomic<bool>* closed_;
  bool started_ = false;
};

TEST(Tcp, AbortDoesNotWaitForAPeerThatDoesNotRead) {
  std::atomic<bool> closed{false};
  LoopTestServer server(256, [&](Connection* c) -> ConnectionHandler* {
    return new StuckHandler(c, &closed);
  });
  int fd = server.Connect();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "go\n", 3), 3);
  // Never read. Polling, not a timing assertion: the bound only ends a
  // hang.
  for (int i = 0; i < 3000 && !closed.load(); ++i) usleep(10000);
  EXPECT_TRUE(closed.load());
  close(fd);
}

}  // namespace
}  // namespace ringmail::engine
