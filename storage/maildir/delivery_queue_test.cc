#include "storage/maildir/delivery_queue.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/maildir/maildir_name.h"
#include "storage/maildir/maildir_test_util.h"

namespace ringmail::storage {
namespace {

using engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;
using testing::ListDir;
using testing::MakeBody;
using testing::ReadFile;

std::string MakeTempDir() { return testing::MakeTempDir("dq"); }

class DeliveryQueueTest : public ::testing::Test {
 protected:
  struct Task {
    absl::Time due;
    absl::AnyInvocable<void()> fn;
  };

  void MakeQueue(DeliveryOptions opts = DeliveryOptions()) {
    opts.hostname = "mx/1:a";
    opts.core_id = 3;
    opts.pid = 4242;
    if (opts.chunk_size == (64 << 10)) opts.chunk_size = 16;
    opts.log = [this](std::string_view line) { logs_.emplace_back(line); };
    queue_ = std::make_unique<DeliveryQueue>(
        &io_, std::move(opts), [this] { return now_; },
        [this](absl::Duration d, absl::AnyInvocable<void()> fn) {
          tasks_.push_back(Task{now_ + d, std::move(fn)});
        });
  }

  void TearDown() override {
    if (queue_ == nullptr) return;
    bool drained = false;
    queue_->Shutdown([&] { drained = true; });
    RunAll();
    EXPECT_TRUE(drained);
    queue_.reset();
    RunAll();
    EXPECT_EQ(io_.open_fds(), 0u);
  }

  // Runs I/O completions and due tasks until nothing is left to do.
  void RunAll() {
    while (true) {
      io_.RunUntilIdle();
      auto it = std::find_if(tasks_.begin(), tasks_.end(),
                             [&](const Task& t) { return t.due <= now_; });
      if (it == tasks_.end()) return;
      auto fn = std::move(it->fn);
      tasks_.erase(it);
      fn();
    }
  }

  void Advance(absl::Duration d) {
    now_ += d;
    RunAll();
  }

  static void Feed(IncomingMessage& msg, const std::string& body) {
    size_t pos = 0;
    while (pos < body.size()) {
      absl::Span<char> span = msg.Reserve(1);
      size_t n = std::min(span.size(), body.size() - pos);
      std::copy_n(body.data() + pos, n, span.data());
      msg.Commit(n);
      pos += n;
    }
  }

  std::string Maildir(const std::string& user) {
    return root_ + "/mail/example.com/" + user + "/Maildir";
  }

  struct Outcome {
    bool called = false;
    DeliveryResult result;
    size_t records_at_done = 0;
  };

  // Starts and finishes a message; the outcome fills in when done runs.
  void Deliver(std::vector<DeliveryTarget> targets, const std::string& body,
               Outcome* out) {
    auto msg = queue_->Begin(std::move(targets));
    ASSERT_TRUE(msg.ok()) << msg.status();
    Feed(**msg, body);
    (*msg)->Finish([this, out](DeliveryResult r) {
      out->called = true;
      out->result = std::move(r);
      out->records_at_done = io_.records().size();
    });
  }

  FakeFileIo io_;
  std::string root_ = MakeTempDir();
  absl::Time now_ = absl::FromUnixSeconds(1700000000) + absl::Microseconds(5);
  std::vector<Task> tasks_;
  std::vector<std::string> logs_;
  std::unique_ptr<DeliveryQueue> queue_;
};

TEST_F(DeliveryQueueTest, SingleTargetVariousSizesAreByteExact) {
  MakeQueue();
  const std::string prefix = "Return-Path: <a@b>\nDelivered-To: u@example.com\n";
  for (size_t size : {0, 1, 15, 16, 17, 100, 16 * 20 + 3}) {
    SCOPED_TRACE(size);
    std::string body = MakeBody(size);
    Outcome out;
    Deliver({{Maildir("u"), prefix}}, body, &out);
    RunAll();
    ASSERT_TRUE(out.called);
    ASSERT_TRUE(out.result.status.ok()) << out.result.status;
    ASSERT_EQ(out.result.new_names.size(), 1u);
    const std::string& name = out.result.new_names[0];
    std::string content = ReadFile(Maildir("u") + "/new/" + name);
    EXPECT_EQ(content, prefix + body);
    auto parsed = ParseMaildirName(name);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed->size, content.size());
    EXPECT_EQ(*parsed->vsize,
              content.size() + std::count(content.begin(), content.end(), '\n'));
    auto unique = ParseUniqueName(parsed->base);
    ASSERT_TRUE(unique.ok()) << unique.status();
    EXPECT_EQ(unique->host, "mx\\0571\\072a");
    EXPECT_EQ(unique->pid, 4242);
    EXPECT_EQ(unique->core, 3);
    EXPECT_EQ(unique->secs, 1700000000);
    EXPECT_EQ(unique->usecs, 5);
  }
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_TRUE(ListDir(Maildir("u") + "/cur").empty());
  EXPECT_EQ(ListDir(Maildir("u") + "/new").size(), 7u);
}

TEST_F(DeliveryQueueTest, MultiTargetWritesEachPrefixAndBody) {
  MakeQueue();
  io_.SetMaxWriteBytes(5);  // every write is short
  std::string body = MakeBody(16 * 4 + 9);
  Outcome out;
  Deliver({{Maildir("a"), "Delivered-To: a@example.com\n"},
           {Maildir("b"), "Delivered-To: b@example.com\n"},
           {Maildir("c"), ""}},
          body, &out);
  RunAll();
  ASSERT_TRUE(out.called);
  ASSERT_TRUE(out.result.status.ok()) << out.result.status;
  ASSERT_EQ(out.result.new_names.size(), 3u);
  EXPECT_EQ(ReadFile(Maildir("a") + "/new/" + out.result.new_names[0]),
            "Delivered-To: a@example.com\n" + body);
  EXPECT_EQ(ReadFile(Maildir("b") + "/new/" + out.result.new_names[1]),
            "Delivered-To: b@example.com\n" + body);
  EXPECT_EQ(ReadFile(Maildir("c") + "/new/" + out.result.new_names[2]), body);
  EXPECT_NE(out.result.new_names[0], out.result.new_names[1]);
}

TEST_F(DeliveryQueueTest, DurabilityOrder) {
  MakeQueue();
  Outcome out;
  Deliver({{Maildir("u"), "X: y\n"}}, MakeBody(40), &out);
  RunAll();
  ASSERT_TRUE(out.result.status.ok());
  std::string tmp_file = "/tmp/" + std::string(ParseMaildirName(
      out.result.new_names[0])->base);
  int last_write = -1;
  for (size_t i = 0; i < io_.records().size(); ++i) {
    if (io_.records()[i].op == Op::kWrite) last_write = static_cast<int>(i);
  }
  int sync = io_.IndexOf(Op::kFdatasync, tmp_file);
  int close = io_.IndexOf(Op::kClose, tmp_file);
  int rename = io_.IndexOf(Op::kRename, tmp_file);
  int dir_sync = io_.IndexOf(Op::kFsync, Maildir("u") + "/new", rename);
  ASSERT_GE(last_write, 0);
  EXPECT_LT(last_write, sync);
  EXPECT_LT(sync, close);
  EXPECT_LT(close, rename);
  EXPECT_LT(rename, dir_sync);
  EXPECT_LT(static_cast<size_t>(dir_sync), out.records_at_done);
  // First delivery created the Maildir and fsync'ed the parents.
  int mkdir_new = io_.IndexOf(Op::kMkdir, Maildir("u") + "/new");
  EXPECT_GE(mkdir_new, 0);
  EXPECT_GE(io_.IndexOf(Op::kFsync, Maildir("u"), mkdir_new), 0);
  EXPECT_EQ(io_.records()[io_.IndexOf(Op::kRename, tmp_file)].path2,
            Maildir("u") + "/new/" + out.result.new_names[0]);
}

TEST_F(DeliveryQueueTest, GroupCommitOneDirFsyncPerDirectory) {
  MakeQueue();
  std::vector<Outcome> outs(10);
  for (int i = 0; i < 10; ++i) {
    Deliver({{Maildir(i % 2 ? "odd" : "even"), "H: v\n"}}, MakeBody(30 + i),
            &outs[i]);
  }
  io_.ClearRecords();
  RunAll();
  for (const Outcome& o : outs) EXPECT_TRUE(o.called && o.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kFdatasync), 10u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/new"), 2u);  // not 10
  EXPECT_EQ(queue_->batches_committed(), 1u);
  // A second round reuses the cached directory fds.
  Outcome again;
  Deliver({{Maildir("odd"), ""}}, "x\n", &again);
  io_.ClearRecords();
  RunAll();
  EXPECT_TRUE(again.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kOpen, "/new"), 0u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/new"), 1u);
}

TEST_F(DeliveryQueueTest, MaxBatchMessagesSplitsBatches) {
  DeliveryOptions opts;
  opts.max_batch_messages = 3;
  MakeQueue(std::move(opts));
  std::vector<Outcome> outs(7);
  for (int i = 0; i < 7; ++i) Deliver({{Maildir("u"), ""}}, "m\n", &outs[i]);
  RunAll();
  for (const Outcome& o : outs) EXPECT_TRUE(o.result.status.ok());
  EXPECT_EQ(queue_->batches_committed(), 3u);
}

TEST_F(DeliveryQueueTest, BatchWindowWaitsForMoreMessages) {
  DeliveryOptions opts;
  opts.batch_window = absl::Milliseconds(5);
  MakeQueue(std::move(opts));
  Outcome first, second;
  Deliver({{Maildir("u"), ""}}, "1\n", &first);
  RunAll();
  EXPECT_FALSE(first.called);  // waiting for the window
  Deliver({{Maildir("u"), ""}}, "2\n", &second);
  Advance(absl::Milliseconds(5));
  EXPECT_TRUE(first.called && second.called);
  EXPECT_EQ(queue_->batches_committed(), 1u);
}

TEST_F(DeliveryQueueTest, CommitDelayNeverHoldsALoneMessage) {
  DeliveryOptions opts;
  opts.commit_delay = absl::Milliseconds(5);
  MakeQueue(std::move(opts));
  Outcome out;
  Deliver({{Maildir("u"), ""}}, "1\n", &out);
  RunAll();  // no time passes
  EXPECT_TRUE(out.called && out.result.status.ok());
}

TEST_F(DeliveryQueueTest, CommitDelayWaitsForAMessageInProgress) {
  DeliveryOptions opts;
  opts.commit_delay = absl::Milliseconds(5);
  MakeQueue(std::move(opts));
  auto slow = queue_->Begin({{Maildir("u"), ""}});
  ASSERT_TRUE(slow.ok());
  Feed(**slow, "part of the second message\n");
  Outcome first, second;
  Deliver({{Maildir("u"), ""}}, "1\n", &first);
  RunAll();
  EXPECT_FALSE(first.called);  // waits for the one still arriving
  // The last one in progress becomes ready: the batch starts at once, both
  // in it, before the delay ran out.
  (*slow)->Finish([&](DeliveryResult r) {
    second.called = true;
    second.result = std::move(r);
  });
  RunAll();
  EXPECT_TRUE(first.called && first.result.status.ok());
  EXPECT_TRUE(second.called && second.result.status.ok());
  EXPECT_EQ(queue_->batches_committed(), 1u);
}

TEST_F(DeliveryQueueTest, CommitDelayIsBounded) {
  DeliveryOptions opts;
  opts.commit_delay = absl::Milliseconds(5);
  MakeQueue(std::move(opts));
  auto slow = queue_->Begin({{Maildir("u"), ""}});
  ASSERT_TRUE(slow.ok());
  Outcome first;
  Deliver({{Maildir("u"), ""}}, "1\n", &first);
  RunAll();  // written and ready: the delay starts now
  Advance(absl::Milliseconds(4));
  EXPECT_FALSE(first.called);
  Advance(absl::Milliseconds(1));
  EXPECT_TRUE(first.called && first.result.status.ok());
  EXPECT_EQ(queue_->batches_committed(), 1u);
  (*slow)->Abort();
  RunAll();
}

// The header prefix waits for the first body chunk so both go out in one
// write; a message without a body writes its prefix at Finish. Short writes
// anywhere (inside the prefix, at its end, inside the chunk) still give a
// byte-exact file.
TEST_F(DeliveryQueueTest, PrefixAndFirstChunkShareOneWrite) {
  MakeQueue();  // chunk_size 16 here
  const std::string prefix = "Delivered-To: u@example.com\n";
  for (size_t body_size : {0, 10, 16, 40}) {
    SCOPED_TRACE(body_size);
    std::string body = MakeBody(body_size);
    Outcome out;
    io_.ClearRecords();
    Deliver({{Maildir("u"), prefix}}, body, &out);
    RunAll();
    ASSERT_TRUE(out.called && out.result.status.ok()) << out.result.status;
    EXPECT_EQ(ReadFile(Maildir("u") + "/new/" + out.result.new_names[0]),
              prefix + body);
    size_t chunks = (body_size + 15) / 16;
    EXPECT_EQ(io_.Count(Op::kWrite), std::max<size_t>(chunks, 1));
  }
  for (size_t cap : {prefix.size() - 1, prefix.size(), prefix.size() + 1,
                     prefix.size() + 7}) {
    SCOPED_TRACE(cap);
    io_.SetMaxWriteBytes(cap);
    std::string body = MakeBody(12);
    Outcome out;
    Deliver({{Maildir("u"), prefix}}, body, &out);
    RunAll();
    ASSERT_TRUE(out.called && out.result.status.ok()) << out.result.status;
    EXPECT_EQ(ReadFile(Maildir("u") + "/new/" + out.result.new_names[0]),
              prefix + body);
  }
}

// A fault in one message of a batch fails only that message.
class FaultTest : public DeliveryQueueTest,
                  public ::testing::WithParamInterface<Op> {};

TEST_P(FaultTest, FailsOnlyThatMessage) {
  MakeQueue();
  // Create the Maildirs first so the fault hits delivery, not creation.
  for (const char* u : {"a", "b", "c"}) {
    Outcome o;
    Deliver({{Maildir(u), ""}}, "warm\n", &o);
    RunAll();
    ASSERT_TRUE(o.result.status.ok());
  }
  std::string fault_path = GetParam() == Op::kFsync ? Maildir("b") + "/new"
                                                     : "/b/Maildir/tmp/";
  io_.Fail(GetParam(), EIO, fault_path);
  Outcome a, b, c;
  Deliver({{Maildir("a"), "A\n"}}, MakeBody(50), &a);
  Deliver({{Maildir("b"), "B\n"}, {Maildir("c"), "C\n"}}, MakeBody(50), &b);
  Deliver({{Maildir("c"), "C\n"}}, MakeBody(50), &c);
  RunAll();
  ASSERT_TRUE(a.called && b.called && c.called);
  EXPECT_TRUE(a.result.status.ok());
  EXPECT_TRUE(c.result.status.ok());
  EXPECT_TRUE(absl::IsUnavailable(b.result.status)) << b.result.status;
  EXPECT_TRUE(b.result.new_names.empty());
  EXPECT_FALSE(logs_.empty());
  for (const char* u : {"a", "b", "c"}) {
    EXPECT_TRUE(ListDir(Maildir(u) + "/tmp").empty()) << u;
  }
  EXPECT_EQ(ListDir(Maildir("a") + "/new").size(), 2u);
  EXPECT_EQ(ListDir(Maildir("b") + "/new").size(), 1u);  // warm-up only
  EXPECT_EQ(ListDir(Maildir("c") + "/new").size(), 2u);  // warm-up + c
}

INSTANTIATE_TEST_SUITE_P(Ops, FaultTest,
                         ::testing::Values(Op::kOpen, Op::kWrite,
                                           Op::kFdatasync, Op::kClose,
                                           Op::kRename, Op::kFsync));

TEST_F(DeliveryQueueTest, NoSpaceIsResourceExhausted) {
  MakeQueue();
  io_.Fail(Op::kWrite, ENOSPC);
  Outcome out;
  Deliver({{Maildir("u"), "H: v\n"}}, "body\n", &out);
  RunAll();
  EXPECT_TRUE(absl::IsResourceExhausted(out.result.status));
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
}

TEST_F(DeliveryQueueTest, MaildirCreationFailure) {
  MakeQueue();
  io_.Fail(Op::kMkdir, EACCES, "", 0, 100);
  Outcome out;
  Deliver({{Maildir("u"), ""}}, "x\n", &out);
  RunAll();
  EXPECT_FALSE(out.result.status.ok());
}

// Found by the durability simulation (storage/sim): a Maildir creation
// that failed half-way (ENOSPC on cur/) left tmp/ and new/ without a
// durable entry; the retry saw EEXIST for them and never synced their
// parent, so a power cut lost the acknowledged message of the retry.
TEST_F(DeliveryQueueTest, RetryAfterFailedMaildirCreationSyncsParents) {
  MakeQueue();
  // The first mkdir of cur/ (the fast path) finds no Maildir; the second
  // (in the chain, after u/, Maildir/, tmp/, new/ were made) fails.
  io_.Fail(Op::kMkdir, ENOSPC, Maildir("u") + "/cur", /*skip=*/1);
  Outcome first;
  Deliver({{Maildir("u"), ""}}, "x\n", &first);
  RunAll();
  ASSERT_FALSE(first.result.status.ok());
  size_t before = io_.records().size();
  Outcome second;
  Deliver({{Maildir("u"), ""}}, "y\n", &second);
  RunAll();
  ASSERT_TRUE(second.result.status.ok()) << second.result.status;
  // The entries created by the failed attempt (u/, Maildir/, tmp/, new/)
  // are made durable by the retry before its 250.
  bool synced_maildir = false, synced_user = false;
  for (size_t i = before; i < io_.records().size(); ++i) {
    const FakeFileIo::Record& r = io_.records()[i];
    if (r.op != Op::kFsync || r.result != 0) continue;
    synced_maildir |= r.path == Maildir("u");
    synced_user |= r.path == root_ + "/mail/example.com/u";
  }
  EXPECT_TRUE(synced_maildir);
  EXPECT_TRUE(synced_user);
}

// Found by the durability simulation: a message paused for back-pressure
// (its chunks waiting for a target whose Maildir was still being created)
// was never resumed when that creation failed, so the session waited for
// ever instead of finishing the message and answering 4xx.
TEST_F(DeliveryQueueTest, PausedMessageResumesWhenItsOpenFails) {
  DeliveryOptions opts;
  opts.max_chunks_in_flight = 1;
  MakeQueue(std::move(opts));
  io_.Fail(Op::kMkdir, EIO, Maildir("v"), 0, 100);
  auto msg = queue_->Begin({{Maildir("u"), "H: u\n"}, {Maildir("v"), "H: v\n"}});
  ASSERT_TRUE(msg.ok());
  int resumed = 0;
  (*msg)->SetResumeCallback([&] { ++resumed; });
  Feed(**msg, MakeBody(16));  // one full chunk: v/ cannot take it yet
  ASSERT_TRUE((*msg)->WantsPause());
  RunAll();
  EXPECT_EQ(resumed, 1);
  EXPECT_FALSE((*msg)->WantsPause());
  Outcome out;
  (*msg)->Finish([&](DeliveryResult r) { out.called = true; out.result = r; });
  RunAll();
  EXPECT_TRUE(out.called);
  EXPECT_FALSE(out.result.status.ok());
}

TEST_F(DeliveryQueueTest, AbortRemovesTmpFile) {
  MakeQueue();
  auto msg = queue_->Begin({{Maildir("u"), "H: v\n"}});
  ASSERT_TRUE(msg.ok());
  Feed(**msg, MakeBody(40));
  RunAll();
  EXPECT_EQ(ListDir(Maildir("u") + "/tmp").size(), 1u);
  Feed(**msg, MakeBody(40));  // writes in flight while aborting
  (*msg)->Abort();
  RunAll();
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_TRUE(ListDir(Maildir("u") + "/new").empty());
  EXPECT_EQ(queue_->messages_in_flight(), 0u);
}

TEST_F(DeliveryQueueTest, DestroyingHandleAborts) {
  MakeQueue();
  {
    auto msg = queue_->Begin({{Maildir("u"), "H: v\n"}});
    ASSERT_TRUE(msg.ok());
    Feed(**msg, "abc\n");
  }
  RunAll();
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_EQ(queue_->messages_in_flight(), 0u);
}

TEST_F(DeliveryQueueTest, BackPressure) {
  DeliveryOptions opts;
  opts.max_chunks_in_flight = 2;
  MakeQueue(std::move(opts));
  auto msg = queue_->Begin({{Maildir("u"), ""}});
  ASSERT_TRUE(msg.ok());
  int resumed = 0;
  (*msg)->SetResumeCallback([&] { ++resumed; });
  EXPECT_FALSE((*msg)->WantsPause());
  Feed(**msg, MakeBody(32));  // two full chunks, not yet written
  EXPECT_TRUE((*msg)->WantsPause());
  RunAll();
  EXPECT_FALSE((*msg)->WantsPause());
  EXPECT_EQ(resumed, 1);
  Outcome out;
  (*msg)->Finish([&](DeliveryResult r) { out.called = true; out.result = r; });
  RunAll();
  EXPECT_TRUE(out.result.status.ok());
}

TEST_F(DeliveryQueueTest, MessageTooLarge) {
  DeliveryOptions opts;
  opts.max_message_bytes = 20;
  MakeQueue(std::move(opts));
  Outcome out;
  Deliver({{Maildir("u"), "H: v\n"}}, MakeBody(40), &out);
  RunAll();
  EXPECT_TRUE(absl::IsResourceExhausted(out.result.status));
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
}

TEST_F(DeliveryQueueTest, BeginValidatesAndShutdownRefuses) {
  MakeQueue();
  EXPECT_FALSE(queue_->Begin({}).ok());
  EXPECT_FALSE(queue_->Begin({{"relative/path", ""}}).ok());
  bool drained = false;
  queue_->Shutdown([&] { drained = true; });
  EXPECT_FALSE(drained);  // never from inside the call
  EXPECT_TRUE(absl::IsUnavailable(queue_->Begin({{Maildir("u"), ""}}).status()));
  RunAll();
  EXPECT_TRUE(drained);
  queue_.reset();
}

TEST_F(DeliveryQueueTest, ShutdownWaitsForInFlightMessages) {
  MakeQueue();
  Outcome out;
  Deliver({{Maildir("u"), ""}}, "x\n", &out);
  bool drained = false;
  queue_->Shutdown([&] { drained = true; });
  RunAll();
  EXPECT_TRUE(out.called && out.result.status.ok());
  EXPECT_TRUE(drained);
  queue_.reset();
  RunAll();
  EXPECT_EQ(io_.open_fds(), 0u);
}

}  // namespace
}  // namespace ringmail::storage
