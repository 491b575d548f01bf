// DeliveryQueue in journal mode with DeliveryOptions::tmpfile: O_TMPFILE
// files linked into new/ through /proc/self/fd, and every fallback to the
// classic tmp/ path. Real files in a temp dir through FakeFileIo (real
// syscalls, deferred callbacks, injected faults).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/journal_recovery.h"
#include "storage/maildir/maildir_name.h"
#include "storage/maildir/maildir_test_util.h"

namespace ringmail::storage {
namespace {

using engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;
using testing::ListDir;
using testing::MakeBody;
using testing::ReadFile;

std::string MakeTempDir() { return testing::MakeTempDir("tf"); }

constexpr std::string_view kTmpfile = FakeFileIo::kTmpfileSuffix;

class TmpfileTest : public ::testing::Test {
 protected:
  struct Task {
    absl::Time due;
    absl::AnyInvocable<void()> fn;
  };

  // Journal mode with O_TMPFILE; runs the /proc probe to completion.
  void MakeQueue(uint64_t max_message = 512 << 10, bool tmpfile = true,
                 bool run_probe = true) {
    const std::string path = root_ + "/journal/core-0.wal";
    auto stats = RecoverJournal(path, 1 << 20, nullptr);
    ASSERT_TRUE(stats.ok()) << stats.status();
    auto jf = OpenJournalFile(path, 1 << 20);
    ASSERT_TRUE(jf.ok()) << jf.status();
    DeliveryOptions opts;
    opts.hostname = "mx";
    opts.pid = 4242;
    opts.chunk_size = 4096;
    opts.durability = Durability::kJournal;
    opts.journal = *jf;
    opts.journal_max_message_bytes = max_message;
    opts.tmpfile = tmpfile;
    opts.log = [this](std::string_view line) { logs_.emplace_back(line); };
    opts.sync_fs = [this](std::vector<std::string>, engine::IoCallback done) {
      tasks_.push_back(Task{now_, [done = std::move(done)]() mutable {
                              done(0);
                            }});
    };
    queue_ = std::make_unique<DeliveryQueue>(
        &io_, std::move(opts), [this] { return now_; },
        [this](absl::Duration d, absl::AnyInvocable<void()> fn) {
          tasks_.push_back(Task{now_ + d, std::move(fn)});
        });
    if (run_probe) RunAll();
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

  void Finish(IncomingMessage& msg, Outcome* out) {
    msg.Finish([this, out](DeliveryResult r) {
      out->called = true;
      out->result = std::move(r);
      out->records_at_done = io_.records().size();
    });
  }

  void Deliver(std::vector<DeliveryTarget> targets, const std::string& body,
               Outcome* out) {
    auto msg = queue_->Begin(std::move(targets));
    ASSERT_TRUE(msg.ok()) << msg.status();
    Feed(**msg, body);
    Finish(**msg, out);
  }

  // Delivers one small message so the Maildirs exist (and are known):
  // later opens are issued from Begin() itself.
  void WarmUp(std::initializer_list<const char*> users) {
    for (const char* u : users) {
      Outcome o;
      Deliver({{Maildir(u), ""}}, "warm\n", &o);
      RunAll();
      ASSERT_TRUE(o.called && o.result.status.ok()) << o.result.status;
    }
    io_.ClearRecords();
  }

  std::vector<std::string> NewFiles(const std::string& user) {
    return ListDir(Maildir(user) + "/new");
  }

  bool Logged(std::string_view needle) const {
    return std::any_of(logs_.begin(), logs_.end(), [&](const std::string& l) {
      return l.find(needle) != std::string::npos;
    });
  }

  FakeFileIo io_;
  std::string root_ = MakeTempDir();
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::vector<Task> tasks_;
  std::vector<std::string> logs_;
  std::unique_ptr<DeliveryQueue> queue_;
};

TEST_F(TmpfileTest, JournalDeliveryLinksIntoNewAndNeverUsesTmp) {
  MakeQueue();
  ASSERT_TRUE(queue_->tmpfile_active());
  WarmUp({"u", "v"});
  io_.SetMaxWriteBytes(1000);  // short writes too
  const std::string body = MakeBody(9000);  // several chunks
  const std::string prefix = "Delivered-To: u@example.com\n";
  auto msg = queue_->Begin({{Maildir("u"), prefix}, {Maildir("v"), ""}});
  ASSERT_TRUE(msg.ok());
  Feed(**msg, body);
  RunAll();
  // Written, not finished: no directory entry anywhere yet.
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_EQ(NewFiles("u").size(), 1u);  // the warm-up only
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 2u);
  Outcome out;
  Finish(**msg, &out);
  RunAll();
  ASSERT_TRUE(out.called);
  ASSERT_TRUE(out.result.status.ok()) << out.result.status;
  const std::string u_path = Maildir("u") + "/new/" + out.result.new_names[0];
  const std::string v_path = Maildir("v") + "/new/" + out.result.new_names[1];
  EXPECT_EQ(ReadFile(u_path), prefix + body);
  EXPECT_EQ(ReadFile(v_path), body);
  struct stat st;
  ASSERT_EQ(stat(u_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_nlink, 1u);
  for (const char* u : {"u", "v"}) {
    EXPECT_TRUE(ListDir(Maildir(u) + "/tmp").empty()) << u;
    EXPECT_EQ(NewFiles(u).size(), 2u) << u;
  }
  // Nothing touched tmp/, nothing was renamed, no per-file sync.
  EXPECT_EQ(io_.Count(Op::kOpen, "/Maildir/tmp/"), 0u);
  EXPECT_EQ(io_.Count(Op::kRename), 0u);
  EXPECT_EQ(io_.Count(Op::kFdatasync, "/Maildir/"), 0u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/Maildir/"), 0u);
  // journal fdatasync -> link -> close -> done.
  int flush = io_.IndexOf(Op::kFdatasync, "");
  int link = io_.IndexOf(Op::kLink, u_path);
  ASSERT_GE(flush, 0);
  ASSERT_GE(link, 0);
  EXPECT_LT(flush, link);
  const FakeFileIo::Record& l = io_.records()[link];
  EXPECT_EQ(l.path, "/proc/self/fd/" + std::to_string(l.fd));
  EXPECT_EQ(l.path2, u_path);
  int close = io_.IndexOf(Op::kClose, u_path);
  EXPECT_GT(close, link);
  EXPECT_GT(out.records_at_done, static_cast<size_t>(close));
}

TEST_F(TmpfileTest, OffByDefault) {
  MakeQueue(512 << 10, /*tmpfile=*/false);
  EXPECT_FALSE(queue_->tmpfile_active());
  Outcome out;
  Deliver({{Maildir("u"), ""}}, "x\n", &out);
  RunAll();
  ASSERT_TRUE(out.called && out.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 0u);
  EXPECT_EQ(io_.Count(Op::kOpen, "/proc/self/fd"), 0u);
  EXPECT_EQ(io_.Count(Op::kRename, "/Maildir/tmp/"), 1u);
}

// A file system (EOPNOTSUPP) or kernel (EISDIR) without O_TMPFILE.
class TmpfileUnsupportedTest : public TmpfileTest,
                               public ::testing::WithParamInterface<int> {};

TEST_P(TmpfileUnsupportedTest, FallsBackToTmpForThisAndLaterTargets) {
  MakeQueue();
  WarmUp({"a", "b"});
  // Only the first target's open fails; the second one was issued at the
  // same time and keeps its O_TMPFILE file.
  io_.Fail(Op::kOpen, GetParam(), std::string(kTmpfile));
  const std::string body = MakeBody(700);
  Outcome first;
  Deliver({{Maildir("a"), "A: 1\n"}, {Maildir("b"), "B: 1\n"}}, body, &first);
  RunAll();
  ASSERT_TRUE(first.called);
  ASSERT_TRUE(first.result.status.ok()) << first.result.status;
  EXPECT_EQ(ReadFile(Maildir("a") + "/new/" + first.result.new_names[0]),
            "A: 1\n" + body);
  EXPECT_EQ(ReadFile(Maildir("b") + "/new/" + first.result.new_names[1]),
            "B: 1\n" + body);
  EXPECT_EQ(io_.Count(Op::kRename, "/a/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kLink, "/b/Maildir/new/"), 1u);
  EXPECT_FALSE(queue_->tmpfile_active());
  EXPECT_TRUE(Logged("O_TMPFILE"));
  // Later messages go through tmp/ without trying again, and log no more.
  size_t logged = logs_.size();
  io_.ClearRecords();
  Outcome later;
  Deliver({{Maildir("a"), ""}, {Maildir("b"), ""}}, body, &later);
  RunAll();
  ASSERT_TRUE(later.called && later.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 0u);
  EXPECT_EQ(io_.Count(Op::kRename, "/Maildir/tmp/"), 2u);
  EXPECT_EQ(logs_.size(), logged);
  for (const char* u : {"a", "b"}) {
    EXPECT_TRUE(ListDir(Maildir(u) + "/tmp").empty()) << u;
    EXPECT_EQ(NewFiles(u).size(), 3u) << u;
  }
}

INSTANTIATE_TEST_SUITE_P(Errno, TmpfileUnsupportedTest,
                         ::testing::Values(EOPNOTSUPP, EISDIR));

TEST_F(TmpfileTest, NoProcAtStartUsesTmp) {
  io_.Fail(Op::kOpen, ENOENT, "/proc/self/fd");
  MakeQueue();
  EXPECT_FALSE(queue_->tmpfile_active());
  EXPECT_TRUE(Logged("/proc/self/fd"));
  Outcome out;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &out);
  RunAll();
  ASSERT_TRUE(out.called && out.result.status.ok()) << out.result.status;
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 0u);
  EXPECT_EQ(io_.Count(Op::kRename, "/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kFdatasync, "/Maildir/"), 0u);  // still journaled
}

TEST_F(TmpfileTest, OffUntilTheProcProbeAnswers) {
  MakeQueue(512 << 10, /*tmpfile=*/true, /*run_probe=*/false);
  EXPECT_FALSE(queue_->tmpfile_active());
  EXPECT_EQ(io_.Count(Op::kOpen, "/proc/self/fd"), 1u);
  RunAll();
  EXPECT_TRUE(queue_->tmpfile_active());
  EXPECT_EQ(io_.open_fds(), 0u);  // the probe's fd is closed
}

// /proc unmounted at run time: the link fails with ENOENT, the message
// fails and leaves nothing, the probe finds /proc gone, later messages use
// tmp/.
TEST_F(TmpfileTest, LinkEnoentWithoutProcFallsBack) {
  MakeQueue();
  WarmUp({"u"});
  io_.Fail(Op::kLink, ENOENT, "/proc/self/fd");
  io_.Fail(Op::kOpen, ENOENT, "/proc/self/fd");
  Outcome lost;
  Deliver({{Maildir("u"), ""}}, MakeBody(300), &lost);
  RunAll();
  ASSERT_TRUE(lost.called);
  EXPECT_TRUE(absl::IsUnavailable(lost.result.status)) << lost.result.status;
  EXPECT_EQ(NewFiles("u").size(), 1u);  // warm-up only
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_FALSE(queue_->tmpfile_active());
  EXPECT_TRUE(Logged("linkat("));
  io_.ClearRecords();
  Outcome next;
  Deliver({{Maildir("u"), ""}}, MakeBody(300), &next);
  RunAll();
  ASSERT_TRUE(next.called && next.result.status.ok()) << next.result.status;
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 0u);
  EXPECT_EQ(io_.Count(Op::kRename, "/Maildir/tmp/"), 1u);
  EXPECT_EQ(NewFiles("u").size(), 2u);
}

// ENOENT from the link with /proc present (new/ vanished, say): only that
// message fails; O_TMPFILE stays on once the probe has answered.
TEST_F(TmpfileTest, LinkEnoentWithProcKeepsTmpfile) {
  MakeQueue();
  WarmUp({"u"});
  io_.Fail(Op::kLink, ENOENT, "/proc/self/fd");
  Outcome lost;
  Deliver({{Maildir("u"), ""}}, MakeBody(300), &lost);
  RunAll();
  ASSERT_TRUE(lost.called);
  EXPECT_FALSE(lost.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kOpen, "/proc/self/fd"), 1u);  // probed again
  EXPECT_TRUE(queue_->tmpfile_active());
  Outcome next;
  Deliver({{Maildir("u"), ""}}, MakeBody(300), &next);
  RunAll();
  ASSERT_TRUE(next.called && next.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 2u);
  EXPECT_EQ(NewFiles("u").size(), 2u);
}

// A link failure in one target fails the message and unlinks the copies
// already linked; another message of the same batch is unaffected.
TEST_F(TmpfileTest, LinkFailureRemovesLinkedCopies) {
  MakeQueue();
  WarmUp({"a", "b", "c"});
  io_.Fail(Op::kLink, EIO, "/b/Maildir/new/");
  Outcome ab, c;
  Deliver({{Maildir("a"), "A\n"}, {Maildir("b"), "B\n"}}, MakeBody(200), &ab);
  Deliver({{Maildir("c"), "C\n"}}, MakeBody(200), &c);
  RunAll();
  ASSERT_TRUE(ab.called && c.called);
  EXPECT_TRUE(absl::IsUnavailable(ab.result.status)) << ab.result.status;
  EXPECT_TRUE(c.result.status.ok()) << c.result.status;
  EXPECT_EQ(queue_->batches_committed(), 1u + 3u);  // one batch + warm-ups
  EXPECT_EQ(io_.Count(Op::kLink, "/a/Maildir/new/"), 1u);  // linked...
  EXPECT_EQ(io_.Count(Op::kUnlink, "/a/Maildir/new/"), 1u);  // ...and removed
  EXPECT_EQ(NewFiles("a").size(), 1u);
  EXPECT_EQ(NewFiles("b").size(), 1u);
  EXPECT_EQ(NewFiles("c").size(), 2u);
  for (const char* u : {"a", "b", "c"}) {
    EXPECT_TRUE(ListDir(Maildir(u) + "/tmp").empty()) << u;
  }
}

// close() after the link reports an error: not trusted, the linked file is
// removed, as after a failed rename.
TEST_F(TmpfileTest, CloseFailureAfterLinkRemovesTheFile) {
  MakeQueue();
  WarmUp({"a", "b"});
  io_.Fail(Op::kClose, EIO, "/a/Maildir/new/");
  Outcome a, b;
  Deliver({{Maildir("a"), ""}}, MakeBody(100), &a);
  Deliver({{Maildir("b"), ""}}, MakeBody(100), &b);
  RunAll();
  ASSERT_TRUE(a.called && b.called);
  EXPECT_FALSE(a.result.status.ok());
  EXPECT_TRUE(b.result.status.ok()) << b.result.status;
  int link = io_.IndexOf(Op::kLink, "/a/Maildir/new/");
  int close = io_.IndexOf(Op::kClose, "/a/Maildir/new/");
  ASSERT_GE(link, 0);
  EXPECT_GT(close, link);
  EXPECT_GE(io_.IndexOf(Op::kUnlink, "/a/Maildir/new/", close), 0);
  EXPECT_EQ(NewFiles("a").size(), 1u);
  EXPECT_EQ(NewFiles("b").size(), 2u);
}

// The body grows past the journal limit after the O_TMPFILE open: the
// message takes the fsync path, its file is linked into tmp/<base>, fsync'ed
// (not fdatasync'ed: the link count must be durable), closed, renamed.
TEST_F(TmpfileTest, GrowsPastJournalLimitLinksIntoTmpAndFsyncs) {
  MakeQueue(/*max_message=*/8 << 10);
  WarmUp({"u"});
  const std::string body = MakeBody(40000);
  Outcome small, big;
  auto msg = queue_->Begin({{Maildir("u"), "H: 1\n"}});
  ASSERT_TRUE(msg.ok());
  RunAll();  // the open has completed
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 1u);
  Feed(**msg, body);  // becomes ineligible on the way
  Finish(**msg, &big);
  Deliver({{Maildir("u"), ""}}, MakeBody(500), &small);
  RunAll();
  ASSERT_TRUE(big.called && small.called);
  ASSERT_TRUE(big.result.status.ok()) << big.result.status;
  ASSERT_TRUE(small.result.status.ok()) << small.result.status;
  const std::string base(ParseMaildirName(big.result.new_names[0])->base);
  const std::string tmp_path = Maildir("u") + "/tmp/" + base;
  const std::string new_path = Maildir("u") + "/new/" + big.result.new_names[0];
  EXPECT_EQ(ReadFile(new_path), "H: 1\n" + body);
  int link = io_.IndexOf(Op::kLink, tmp_path);
  int fsync = io_.IndexOf(Op::kFsync, tmp_path);
  int close = io_.IndexOf(Op::kClose, tmp_path);
  int rename = io_.IndexOf(Op::kRename, tmp_path);
  int dir_sync = io_.IndexOf(Op::kFsync, Maildir("u") + "/new", rename);
  ASSERT_GE(link, 0);
  EXPECT_EQ(io_.records()[link].path2, tmp_path);
  EXPECT_LT(link, fsync);
  EXPECT_LT(fsync, close);
  EXPECT_LT(close, rename);
  EXPECT_LT(rename, dir_sync);
  EXPECT_LT(static_cast<size_t>(dir_sync), big.records_at_done);
  EXPECT_EQ(io_.Count(Op::kFdatasync, tmp_path), 0u);
  EXPECT_EQ(io_.records()[rename].path2, new_path);
  // The small message still went through the journal and a link.
  EXPECT_EQ(io_.Count(Op::kLink, small.result.new_names[0]), 1u);
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_EQ(NewFiles("u").size(), 3u);
}

// Linking into tmp/ fails on the fsync path: the message fails, its
// unnamed file is just closed, nothing is left.
TEST_F(TmpfileTest, FsyncPathLinkFailureLeavesNothing) {
  MakeQueue(/*max_message=*/8 << 10);
  WarmUp({"u"});
  io_.Fail(Op::kLink, EIO, "/Maildir/tmp/");
  Outcome big;
  auto msg = queue_->Begin({{Maildir("u"), ""}});
  ASSERT_TRUE(msg.ok());
  RunAll();
  Feed(**msg, MakeBody(40000));
  Finish(**msg, &big);
  RunAll();
  ASSERT_TRUE(big.called);
  EXPECT_FALSE(big.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kFsync, "/Maildir/tmp/"), 0u);
  EXPECT_EQ(io_.Count(Op::kClose, kTmpfile), 1u);
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_EQ(NewFiles("u").size(), 1u);
}

// The journal breaks while a message's O_TMPFILE file is open: that
// message takes the fsync path like a classic one.
TEST_F(TmpfileTest, JournalBrokenAfterOpenTakesFsyncPath) {
  MakeQueue();
  WarmUp({"u", "v"});
  const std::string body = MakeBody(5000);
  auto later = queue_->Begin({{Maildir("v"), "V\n"}});
  ASSERT_TRUE(later.ok());
  Feed(**later, body);
  RunAll();  // open + writes done, not finished
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 1u);
  io_.Fail(Op::kFdatasync, EIO);  // the journal's: the only fdatasync
  Outcome failed;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &failed);
  RunAll();
  ASSERT_TRUE(failed.called);
  EXPECT_FALSE(failed.result.status.ok());
  EXPECT_FALSE(queue_->journal_active());
  EXPECT_FALSE(queue_->tmpfile_active());
  Outcome out;
  Finish(**later, &out);
  RunAll();
  ASSERT_TRUE(out.called);
  ASSERT_TRUE(out.result.status.ok()) << out.result.status;
  EXPECT_EQ(ReadFile(Maildir("v") + "/new/" + out.result.new_names[0]),
            "V\n" + body);
  EXPECT_EQ(io_.Count(Op::kLink, "/v/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/v/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kRename, "/v/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/v/Maildir/new"), 1u);  // the dir
  for (const char* u : {"u", "v"}) {
    EXPECT_TRUE(ListDir(Maildir(u) + "/tmp").empty()) << u;
  }
  EXPECT_EQ(NewFiles("u").size(), 1u);
  EXPECT_EQ(NewFiles("v").size(), 2u);
}

// Aborted or failed while writing: the unnamed file is only closed.
TEST_F(TmpfileTest, AbortAndWriteFailureOnlyClose) {
  MakeQueue();
  WarmUp({"u"});
  auto msg = queue_->Begin({{Maildir("u"), "H\n"}});
  ASSERT_TRUE(msg.ok());
  Feed(**msg, MakeBody(5000));
  (*msg)->Abort();
  RunAll();
  io_.Fail(Op::kWrite, ENOSPC, std::string(kTmpfile));
  Outcome full;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &full);
  RunAll();
  ASSERT_TRUE(full.called);
  EXPECT_TRUE(absl::IsResourceExhausted(full.result.status));
  EXPECT_EQ(io_.Count(Op::kClose, kTmpfile), 2u);
  EXPECT_EQ(io_.Count(Op::kUnlink), 0u);
  EXPECT_EQ(io_.Count(Op::kLink), 0u);
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_EQ(NewFiles("u").size(), 1u);
  EXPECT_EQ(queue_->messages_in_flight(), 0u);
}

// The Maildir vanished behind the caches: the O_TMPFILE open gets ENOENT
// and the Maildir is recreated, as for a tmp/ open.
TEST_F(TmpfileTest, VanishedMaildirIsRecreated) {
  MakeQueue();
  WarmUp({"u"});
  const std::string dir = Maildir("u");
  for (const char* sub : {"tmp", "cur"}) {
    ASSERT_EQ(rmdir((dir + "/" + sub).c_str()), 0) << sub;
  }
  for (const std::string& n : NewFiles("u")) {
    ASSERT_EQ(unlink((dir + "/new/" + n).c_str()), 0);
  }
  ASSERT_EQ(rmdir((dir + "/new").c_str()), 0);
  Outcome out;
  Deliver({{dir, ""}}, MakeBody(100), &out);
  RunAll();
  ASSERT_TRUE(out.called && out.result.status.ok()) << out.result.status;
  EXPECT_EQ(io_.Count(Op::kOpen, kTmpfile), 2u);
  EXPECT_EQ(NewFiles("u").size(), 1u);
}

}  // namespace
}  // namespace ringmail::storage
