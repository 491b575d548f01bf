#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "engine/blocking_fs.h"
#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/journal_format.h"
#include "storage/maildir/journal_recovery.h"
#include "storage/maildir/journal_writer.h"
#include "storage/maildir/maildir_test_util.h"

namespace ringmail::storage {
namespace {

using common::Crc32c;

using engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;
using testing::ListDir;
using testing::MakeBody;
using testing::ReadFile;

std::string MakeTempDir() { return testing::MakeTempDir("jt"); }

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

TEST(JournalHeaderTest, RoundTripAndCorruption) {
  JournalFile f;
  f.file_size = 1 << 20;
  f.epoch = 7;
  f.checkpoint_offset = 8192;
  f.checkpoint_seq = 99;
  f.generation = 3;
  std::string s = EncodeJournalHeader(f);
  JournalFile g;
  ASSERT_TRUE(DecodeJournalHeader(s, &g));
  EXPECT_EQ(g.epoch, 7u);
  EXPECT_EQ(g.checkpoint_offset, 8192u);
  EXPECT_EQ(g.checkpoint_seq, 99u);
  s[20] ^= 1;
  EXPECT_FALSE(DecodeJournalHeader(s, &g));
}

TEST(JournalHeaderTest, PickTakesTheValidSlotWithTheHigherGeneration) {
  JournalFile f;
  f.file_size = 1 << 20;
  f.epoch = 1;
  f.generation = 4;
  std::string block(kJournalHeaderBytes, '\0');
  block.replace(0, 52, EncodeJournalHeader(f));
  f.generation = 5;
  f.epoch = 2;
  block.replace(kJournalHeaderSlot1, 52, EncodeJournalHeader(f));
  JournalFile got;
  ASSERT_TRUE(PickJournalHeader(block, &got));
  EXPECT_EQ(got.generation, 5u);
  block[kJournalHeaderSlot1 + 20] ^= 1;  // a torn write of the newer slot
  ASSERT_TRUE(PickJournalHeader(block, &got));
  EXPECT_EQ(got.generation, 4u);
  block[20] ^= 1;
  EXPECT_FALSE(PickJournalHeader(block, &got));
}

TEST(JournalRecordTest, CrcSpanAndCheckOfEncodedRecords) {
  JournalFile f;
  f.file_size = 1 << 20;
  f.epoch = 3;
  const JournalRecordRef ref{"/m/a", "1.M1P1.x", "Prefix: 1\r\n", "body\r\n"};
  std::string rec;
  AppendJournalMessageRecord(&rec, ref, 3, 10);
  ASSERT_EQ(rec.size(), JournalRecordSize(ref));
  const uint64_t off = kJournalHeaderBytes;
  EXPECT_EQ(JournalRecordCrcSpan(rec, f, off, 10), rec.size());
  EXPECT_TRUE(JournalRecordCrcOk(rec));
  EXPECT_EQ(JournalRecordCrcSpan(rec, f, off, 11), 0u);              // another seq
  EXPECT_EQ(JournalRecordCrcSpan(rec, f, f.file_size - 8, 10), 0u);  // past the end
  f.epoch = 4;
  EXPECT_EQ(JournalRecordCrcSpan(rec, f, off, 10), 0u);  // another epoch
  f.epoch = 3;
  rec[rec.size() - 9] ^= 1;
  EXPECT_FALSE(JournalRecordCrcOk(rec));

  std::string wrap;
  AppendJournalWrapRecord(&wrap, 4096, 3, 11);
  ASSERT_EQ(wrap.size(), kJournalRecordHeaderBytes);
  EXPECT_EQ(JournalRecordCrcSpan(wrap, f, f.file_size - 4096, 11), kJournalRecordHeaderBytes);
  EXPECT_TRUE(JournalRecordCrcOk(wrap));
}

// A message record laid out as journal_format.h says, `len` octets long (what
// follows the 32-octet header is cut to fit, so a record of 32 or 40
// octets holds only some of its size fields), with a correct CRC-32C:
// only the sizes are wrong, as after tampering or a writer's bug.
std::string MessageRecord(uint64_t epoch, uint64_t seq, uint32_t len, uint32_t maildir_len,
                          uint32_t name_len, uint64_t content_len) {
  std::string r;
  auto put = [&r](auto v) { r.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put(uint32_t{0x4A4D5252});  // "RRMJ"
  put(uint16_t{1});           // version
  put(uint16_t{1});           // message
  put(len);
  put(uint32_t{0});  // CRC, below
  put(epoch);
  put(seq);
  put(maildir_len);
  put(name_len);
  put(content_len);
  r.resize(len, 'x');
  const uint32_t crc = Crc32c(r.data(), r.size());
  std::memcpy(r.data() + 12, &crc, sizeof(crc));
  return r;
}

// Found by the journal scanner's fuzzer: ScanJournal read a message
// record's size fields before knowing the record covered them (a 32- or
// 40-octet record: a read past the record, past the image when last), and
// summed them in 64 bits, so a content_len near 2^64 wrapped into range and
// std::string::assign threw length_error (every start-up aborted). Sizes a
// record cannot hold now end the log like any other invalid record.
TEST(ScanJournalTest, SizesTheRecordCannotHoldEndTheLog) {
  constexpr uint64_t kEpoch = 7;
  const std::string good = MessageRecord(kEpoch, 1, 64, 2, 3, 11);
  struct Case {
    const char* what;
    std::string record;
  };
  const Case cases[] = {
      {"no size fields", MessageRecord(kEpoch, 2, 32, 0, 0, 0)},
      {"half the size fields", MessageRecord(kEpoch, 2, 40, 0, 0, 0)},
      {"content_len wraps the sum", MessageRecord(kEpoch, 2, 64, 1, 1, UINT64_MAX - 40)},
      {"content_len one too many", MessageRecord(kEpoch, 2, 64, 1, 1, 15)},
      {"name_len past the record", MessageRecord(kEpoch, 2, 64, 1, 0xFFFFFFFF, 0)},
      {"maildir_len past the record", MessageRecord(kEpoch, 2, 64, 17, 0, 0)},
      {"maildir_len + name_len past the record", MessageRecord(kEpoch, 2, 64, 9, 8, 0)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string built = std::string(kJournalHeaderBytes, '\0') + good + c.record;
    // Exactly sized, so a sanitizer sees a read past the last record.
    const std::unique_ptr<char[]> image(new char[built.size()]);
    std::memcpy(image.get(), built.data(), built.size());
    JournalFile hdr;
    hdr.file_size = built.size();
    hdr.epoch = kEpoch;
    hdr.checkpoint_offset = kJournalHeaderBytes;
    hdr.checkpoint_seq = 1;
    std::vector<std::string> logs;
    const std::vector<JournalRecord> recs =
        ScanJournal(std::string_view(image.get(), built.size()), hdr,
                    [&](std::string_view line) { logs.emplace_back(line); });
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].maildir, "xx");
    EXPECT_EQ(recs[0].name, "xxx");
    EXPECT_EQ(recs[0].content, std::string(11, 'x'));
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_NE(logs[0].find("bad payload"), std::string::npos) << logs[0];
  }
  // Sizes that fill the record exactly are a record.
  const std::string built =
      std::string(kJournalHeaderBytes, '\0') + good + MessageRecord(kEpoch, 2, 64, 1, 1, 14);
  JournalFile hdr;
  hdr.file_size = built.size();
  hdr.epoch = kEpoch;
  hdr.checkpoint_offset = kJournalHeaderBytes;
  hdr.checkpoint_seq = 1;
  const std::vector<JournalRecord> recs = ScanJournal(built, hdr, nullptr);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].content, std::string(14, 'x'));
}

// A journal file of `size` at `path`, made by start-up recovery and opened
// as a core opens it.
absl::StatusOr<JournalFile> FreshJournal(const std::string& path, uint64_t size) {
  absl::StatusOr<JournalRecoveryStats> recovered = RecoverJournal(path, size, nullptr);
  if (!recovered.ok()) return recovered.status();
  return OpenJournalFile(path, size);
}

// Found by the durability simulation: a record that ended exactly at the
// end of the ring made the next record of the same batch go past the end
// of the file (the file grew; the next start saw a journal of the wrong
// size, "no valid header", and dropped every record).
TEST(JournalWriterTest, RecordEndingExactlyAtTheEndOfTheRingWrapsTheNext) {
  const std::string path = MakeTempDir() + "/journal/core-0.wal";
  const uint64_t size = 1 << 20;
  auto jf = FreshJournal(path, size);
  ASSERT_TRUE(jf.ok()) << jf.status();
  JournalFile f = *jf;
  f.checkpoint_offset = size - 256;  // the writer starts 256 bytes before the end
  f.checkpoint_seq = 1;
  FakeFileIo io;
  {
    JournalWriter w(
        &io, f, absl::Seconds(1), [](std::string_view) {},
        [](absl::Duration, absl::AnyInvocable<void()>) {},
        [](std::vector<std::string>, engine::IoCallback done) { done(0); });
    const std::string body1(256 - 32 - 16 - 3, 'a');  // exactly 256 bytes
    const std::string body2(100, 'b');
    JournalRecordRef r1{"/m", "n", "", body1};
    JournalRecordRef r2{"/m", "o", "", body2};
    ASSERT_EQ(JournalRecordSize(r1), 256u);
    int result = 1;
    JournalRecordRef both[] = {r1, r2};
    w.Append(both, [&](int r) { result = r; });
    io.RunUntilIdle();
    EXPECT_EQ(result, 0);
  }
  io.RunUntilIdle();
  std::string image = ReadFile(path);
  ASSERT_EQ(image.size(), size);  // not one byte past the end
  std::vector<JournalRecord> recs = ScanJournal(image, f, nullptr);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, size - 256);
  EXPECT_EQ(recs[1].offset, kJournalHeaderBytes);
  EXPECT_EQ(recs[1].content, std::string(100, 'b'));
}

// Found by the durability simulation: a checkpoint's header fdatasync
// failed (its write-back error took a batch's pages too) and the batch's
// own fdatasync, completing next on the same fd, said 0 — Linux reports
// the error once per file description. The batch was acknowledged and its
// records were gone. A flush completing after any journal error fails.
TEST(JournalWriterTest, BatchFlushAfterAFailedHeaderFlushFails) {
  const std::string path = MakeTempDir() + "/journal/core-0.wal";
  const uint64_t size = 1 << 20;
  auto jf = FreshJournal(path, size);
  ASSERT_TRUE(jf.ok()) << jf.status();
  FakeFileIo io;
  absl::AnyInvocable<void()> timer;
  int a_result = 1, b_result = 1;
  {
    JournalWriter w(
        &io, *jf, absl::Seconds(1), [](std::string_view) {},
        [&](absl::Duration, absl::AnyInvocable<void()> fn) { timer = std::move(fn); },
        [](std::vector<std::string>, engine::IoCallback done) { done(0); });
    const std::string body(100, 'x');
    JournalRecordRef r{"/m", "n", "", body};
    JournalWriter::Position end = w.Append({&r, 1}, [&](int res) { a_result = res; });
    io.RunUntilIdle();
    ASSERT_EQ(a_result, 0);
    w.MarkApplied(end, {});
    ASSERT_TRUE(timer);
    timer();  // the checkpoint: header write, then its fdatasync
    w.Append({&r, 1}, [&](int res) { b_result = res; });
    io.FailNext(Op::kFdatasync, EIO);  // the header's fdatasync comes first
    io.RunUntilIdle();
    EXPECT_TRUE(w.broken());
    EXPECT_EQ(b_result, -EIO);
    bool closed = false;
    w.Shutdown([&] { closed = true; });
    io.RunUntilIdle();
    EXPECT_TRUE(closed);
  }
  io.RunUntilIdle();
}

// Found by the durability simulation: Shutdown() came while a checkpoint
// was in progress (its syncfs still running). That checkpoint's target was
// taken before the last batch was applied, and its completion started no
// further one while shutting down: the journal was closed with the last
// batch's records after the checkpoint, and the next (clean) start had
// records to replay. The final checkpoint now follows the one in progress.
TEST(JournalWriterTest, ShutdownDuringACheckpointStillRetiresEveryRecord) {
  const std::string root = MakeTempDir();
  const std::string path = root + "/journal/core-0.wal";
  const std::string maildir = root + "/Maildir";
  const uint64_t size = 1 << 20;
  auto jf = FreshJournal(path, size);
  ASSERT_TRUE(jf.ok()) << jf.status();
  FakeFileIo io;
  absl::AnyInvocable<void()> timer;
  std::vector<engine::IoCallback> syncs;  // syncfs requests, held
  bool closed = false;
  {
    JournalWriter w(
        &io, *jf, absl::Seconds(1), [](std::string_view) {},
        [&](absl::Duration, absl::AnyInvocable<void()> fn) { timer = std::move(fn); },
        [&](std::vector<std::string>, engine::IoCallback done) {
          syncs.push_back(std::move(done));
        });
    const std::string body(100, 'x');
    JournalRecordRef r{maildir, "n", "", body};
    int a_result = 1, b_result = 1;
    JournalWriter::Position a_end = w.Append({&r, 1}, [&](int res) { a_result = res; });
    io.RunUntilIdle();
    ASSERT_EQ(a_result, 0);
    w.MarkApplied(a_end, {});
    ASSERT_TRUE(timer);
    timer();  // a checkpoint up to A; its syncfs is held
    ASSERT_EQ(syncs.size(), 1u);
    ASSERT_TRUE(w.checkpoint_in_progress());
    JournalWriter::Position b_end = w.Append({&r, 1}, [&](int res) { b_result = res; });
    io.RunUntilIdle();
    ASSERT_EQ(b_result, 0);
    w.MarkApplied(b_end, {});  // B is applied while that checkpoint runs
    w.Shutdown([&] { closed = true; });
    for (size_t i = 0; i < syncs.size(); ++i) {  // complete each as it comes
      engine::IoCallback done = std::move(syncs[i]);
      done(0);
      io.RunUntilIdle();
    }
    EXPECT_TRUE(closed);
    EXPECT_EQ(syncs.size(), 2u);  // the final checkpoint ran
    EXPECT_EQ(w.checkpoints(), 2u);
    EXPECT_EQ(w.used_bytes(), 0u);
  }
  io.RunUntilIdle();
  // The next start finds nothing to replay.
  auto reopened = OpenJournalFile(path, size);
  EXPECT_TRUE(reopened.ok()) << reopened.status();
  if (reopened.ok()) close(reopened->fd);
  auto stats = RecoverJournal(path, size, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 0u);
}

class JournalTest : public ::testing::Test {
 protected:
  struct Task {
    absl::Time due;
    absl::AnyInvocable<void()> fn;
  };

  std::string JournalFilePath() { return root_ + "/journal/core-0.wal"; }

  void MakeQueue(uint64_t journal_size = 1 << 20,
                 uint64_t max_message = 512 << 10) {
    auto stats = RecoverJournal(JournalFilePath(), journal_size, nullptr);
    ASSERT_TRUE(stats.ok()) << stats.status();
    auto jf = OpenJournalFile(JournalFilePath(), journal_size);
    ASSERT_TRUE(jf.ok()) << jf.status();
    DeliveryOptions opts;
    opts.hostname = "mx";
    opts.pid = 4242;
    opts.chunk_size = 4096;
    opts.durability = Durability::kJournal;
    opts.journal = *jf;
    opts.journal_max_message_bytes = max_message;
    opts.checkpoint_interval = absl::Seconds(1);
    opts.log = [this](std::string_view line) { logs_.emplace_back(line); };
    opts.sync_fs = [this](std::vector<std::string> dirs,
                          engine::IoCallback done) {
      ++syncs_;
      sync_dirs_ += dirs.size();
      if (hold_sync_) {
        held_sync_ = std::move(done);
        return;
      }
      tasks_.push_back(Task{now_, [this, done = std::move(done)]() mutable {
                              done(sync_result_);
                            }});
    };
    queue_ = std::make_unique<DeliveryQueue>(
        &io_, std::move(opts), [this] { return now_; },
        [this](absl::Duration d, absl::AnyInvocable<void()> fn) {
          tasks_.push_back(Task{now_ + d, std::move(fn)});
        });
  }

  void TearDown() override {
    if (queue_ == nullptr) return;
    hold_sync_ = false;
    if (held_sync_) {
      auto h = std::move(held_sync_);
      held_sync_ = nullptr;
      h(0);
    }
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

  std::vector<JournalRecord> Scan() {
    std::string image = ReadFile(JournalFilePath());
    // The newer valid header slot (OpenJournalFile would refuse a journal
    // with records after its checkpoint, which is what we look at here).
    JournalFile a, b;
    bool va = DecodeJournalHeader(std::string_view(image).substr(0, 64), &a);
    bool vb = DecodeJournalHeader(std::string_view(image).substr(2048, 64), &b);
    EXPECT_TRUE(va || vb);
    JournalFile hdr = (va && (!vb || a.generation >= b.generation)) ? a : b;
    return ScanJournal(image, hdr, nullptr);
  }

  FakeFileIo io_;
  std::string root_ = MakeTempDir();
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::vector<Task> tasks_;
  std::vector<std::string> logs_;
  std::unique_ptr<DeliveryQueue> queue_;
  int syncs_ = 0;
  size_t sync_dirs_ = 0;
  int sync_result_ = 0;
  bool hold_sync_ = false;
  engine::IoCallback held_sync_;
};

TEST_F(JournalTest, DoneOnlyAfterJournalFdatasyncAndNoPerFileSync) {
  MakeQueue();
  const std::string body = MakeBody(5000);
  Outcome a, b;
  Deliver({{Maildir("u"), "Delivered-To: u@example.com\n"},
           {Maildir("v"), ""}},
          body, &a);
  Deliver({{Maildir("u"), "X: 1\n"}}, body, &b);
  RunAll();
  ASSERT_TRUE(a.called && b.called);
  ASSERT_TRUE(a.result.status.ok()) << a.result.status;
  ASSERT_TRUE(b.result.status.ok()) << b.result.status;
  // No fdatasync of any Maildir file, no directory fsync before done.
  EXPECT_EQ(io_.Count(Op::kFdatasync, "/Maildir/"), 0u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/new"), 0u);
  // The journal fd was opened outside the FakeFileIo: its path is "", and
  // it is the only fdatasync in journal mode.
  int sync = io_.IndexOf(Op::kFdatasync, "");
  EXPECT_EQ(io_.Count(Op::kFdatasync), 1u);
  ASSERT_GE(sync, 0);
  int rename = io_.IndexOf(Op::kRename, "/new/");
  ASSERT_GE(rename, 0);
  EXPECT_LT(sync, rename);  // rename only after the record is durable
  EXPECT_GT(a.records_at_done, static_cast<size_t>(rename));
  EXPECT_EQ(ReadFile(Maildir("u") + "/new/" + a.result.new_names[0]),
            "Delivered-To: u@example.com\n" + body);
  // The records are in the journal until a checkpoint retires them.
  std::vector<JournalRecord> recs = Scan();
  ASSERT_EQ(recs.size(), 3u);
  auto find = [&](const std::string& name) -> const JournalRecord* {
    for (const JournalRecord& r : recs) {
      if (r.name == name) return &r;
    }
    return nullptr;
  };
  const JournalRecord* ra = find(a.result.new_names[0]);
  const JournalRecord* rv = find(a.result.new_names[1]);
  ASSERT_TRUE(ra != nullptr && rv != nullptr && find(b.result.new_names[0]));
  EXPECT_EQ(ra->maildir, Maildir("u"));
  EXPECT_TRUE(ra->content == "Delivered-To: u@example.com\n" + body);
  EXPECT_TRUE(rv->content == body);
  EXPECT_EQ(recs[1].seq, recs[0].seq + 1);
  EXPECT_EQ(syncs_, 0);
  Advance(absl::Seconds(1));  // checkpoint
  EXPECT_EQ(syncs_, 1);
  EXPECT_EQ(queue_->journal()->checkpoints(), 1u);
  EXPECT_EQ(queue_->journal()->used_bytes(), 0u);
  EXPECT_TRUE(Scan().empty());
}

// Found by the durability simulation (recovery under injected errors): a
// journal whose recovery failed before replaying was opened for writing
// anyway, and new records overwrote acknowledged ones never replayed.
TEST_F(JournalTest, OpenRefusesAJournalWithRecordsAfterItsCheckpoint) {
  MakeQueue();
  Outcome a;
  Deliver({{Maildir("u"), ""}}, MakeBody(300), &a);
  RunAll();
  ASSERT_TRUE(a.result.status.ok());
  ASSERT_EQ(Scan().size(), 1u);
  auto jf = OpenJournalFile(JournalFilePath(), 1 << 20);
  EXPECT_TRUE(absl::IsFailedPrecondition(jf.status())) << jf.status();
  // After recovery (epoch + 1, empty log) it opens.
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 1u);
  jf = OpenJournalFile(JournalFilePath(), 1 << 20);
  ASSERT_TRUE(jf.ok()) << jf.status();
  close(jf->fd);
}

TEST_F(JournalTest, JournalFailureFailsBatchThenFallsBackToFsync) {
  MakeQueue();
  io_.Fail(Op::kFdatasync, EIO);  // the journal's (the only one)
  Outcome a;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &a);
  RunAll();
  ASSERT_TRUE(a.called);
  EXPECT_FALSE(a.result.status.ok());
  EXPECT_TRUE(ListDir(Maildir("u") + "/new").empty());
  EXPECT_TRUE(ListDir(Maildir("u") + "/tmp").empty());
  EXPECT_FALSE(queue_->journal_active());
  Outcome b;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &b);
  RunAll();
  ASSERT_TRUE(b.called);
  EXPECT_TRUE(b.result.status.ok()) << b.result.status;
  EXPECT_EQ(io_.Count(Op::kFdatasync, "/Maildir/tmp/"), 1u);  // fsync path
}

TEST_F(JournalTest, CloseFailureFailsOnlyThatMessage) {
  MakeQueue();
  Outcome a, b;
  Deliver({{Maildir("a"), ""}}, MakeBody(100), &a);
  Deliver({{Maildir("b"), ""}}, MakeBody(100), &b);
  io_.Fail(Op::kClose, EIO, "/a/Maildir/tmp/");
  RunAll();
  ASSERT_TRUE(a.called && b.called);
  EXPECT_FALSE(a.result.status.ok());
  EXPECT_TRUE(b.result.status.ok()) << b.result.status;
  EXPECT_TRUE(ListDir(Maildir("a") + "/new").empty());
  EXPECT_EQ(ListDir(Maildir("b") + "/new").size(), 1u);
}

TEST_F(JournalTest, BigMessageTakesFsyncPath) {
  MakeQueue(1 << 20, 8 << 10);
  Outcome small, big;
  Deliver({{Maildir("u"), ""}}, MakeBody(1000), &small);
  Deliver({{Maildir("u"), ""}}, MakeBody(40000), &big);
  RunAll();
  ASSERT_TRUE(small.called && big.called);
  ASSERT_TRUE(small.result.status.ok());
  ASSERT_TRUE(big.result.status.ok());
  EXPECT_EQ(io_.Count(Op::kFdatasync, "/Maildir/tmp/"), 1u);
  EXPECT_EQ(io_.Count(Op::kFsync, "/Maildir/new"), 1u);
  std::vector<JournalRecord> recs = Scan();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].name, small.result.new_names[0]);
}

TEST_F(JournalTest, CheckpointWrapsTheRingAndFullRingWaits) {
  MakeQueue(1 << 20, 64 << 10);  // ~1 MiB ring, 60 KiB messages
  const std::string body = MakeBody(60000);
  std::vector<std::unique_ptr<Outcome>> outs;
  // Several laps of the ring; checkpoints keep it from filling up.
  for (int i = 0; i < 60; ++i) {
    outs.push_back(std::make_unique<Outcome>());
    Deliver({{Maildir("u"), ""}}, body, outs.back().get());
    RunAll();
    ASSERT_TRUE(outs.back()->called);
    ASSERT_TRUE(outs.back()->result.status.ok()) << outs.back()->result.status;
    EXPECT_LE(queue_->journal()->used_bytes(), queue_->journal()->data_size());
  }
  EXPECT_GT(queue_->journal()->checkpoints(), 2u);
  EXPECT_EQ(ListDir(Maildir("u") + "/new").size(), 60u);
  // Now hold the checkpoint: the ring fills, later messages wait.
  hold_sync_ = true;
  std::vector<std::unique_ptr<Outcome>> waiting;
  for (int i = 0; i < 30; ++i) {
    waiting.push_back(std::make_unique<Outcome>());
    Deliver({{Maildir("w"), ""}}, body, waiting.back().get());
    RunAll();
  }
  size_t done = std::count_if(waiting.begin(), waiting.end(),
                              [](const auto& o) { return o->called; });
  EXPECT_LT(done, 30u);
  EXPECT_GT(done, 0u);
  ASSERT_TRUE(held_sync_);
  hold_sync_ = false;
  auto h = std::move(held_sync_);
  held_sync_ = nullptr;
  h(0);
  RunAll();
  for (const auto& o : waiting) {
    ASSERT_TRUE(o->called);
    EXPECT_TRUE(o->result.status.ok()) << o->result.status;
  }
  EXPECT_EQ(ListDir(Maildir("w") + "/new").size(), 30u);
}

TEST_F(JournalTest, SyncfsFailureKeepsRecords) {
  MakeQueue();
  sync_result_ = -EIO;
  Outcome a;
  Deliver({{Maildir("u"), ""}}, MakeBody(100), &a);
  RunAll();
  ASSERT_TRUE(a.called && a.result.status.ok());
  Advance(absl::Seconds(1));
  EXPECT_EQ(syncs_, 1);
  EXPECT_EQ(queue_->journal()->checkpoints(), 0u);
  EXPECT_EQ(Scan().size(), 1u);  // still there for recovery
  EXPECT_FALSE(queue_->journal_active());
}

// Delivers with a held checkpoint so records stay, then "crashes" (the
// queue is shut down with the checkpoint failing) and tampers with files.
class JournalRecoveryTest : public JournalTest {
 protected:
  std::vector<std::string> DeliverAndCrash(int n) {
    MakeQueue();
    sync_result_ = -EIO;  // no checkpoint ever succeeds: records stay
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) {
      Outcome o;
      Deliver({{Maildir("u"), "P: " + std::to_string(i) + "\n"}},
              MakeBody(300 + i), &o);
      RunAll();
      EXPECT_TRUE(o.called && o.result.status.ok());
      names.push_back(o.result.new_names[0]);
    }
    bool drained = false;
    queue_->Shutdown([&] { drained = true; });
    RunAll();
    EXPECT_TRUE(drained);
    queue_.reset();
    return names;
  }
  std::string Content(int i) {
    return "P: " + std::to_string(i) + "\n" + MakeBody(300 + i);
  }
};

TEST_F(JournalRecoveryTest, ReplaysMissingShortAndDifferentOnly) {
  std::vector<std::string> names = DeliverAndCrash(5);
  std::string nd = Maildir("u") + "/new/";
  unlink((nd + names[0]).c_str());                        // missing
  WriteFile(nd + names[1], Content(1).substr(0, 10));     // short
  std::string wrong = Content(2);
  wrong[5] = '#';
  WriteFile(nd + names[2], wrong);                        // different
  // names[3]: moved to cur/ with flags: present, not replayed.
  rename((nd + names[3]).c_str(),
         (Maildir("u") + "/cur/" + names[3] + ":2,S").c_str());
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 5u);
  EXPECT_EQ(stats->replayed, 3u);
  EXPECT_EQ(stats->present, 2u);
  for (int i : {0, 1, 2, 4}) EXPECT_EQ(ReadFile(nd + names[i]), Content(i));
  EXPECT_EQ(ReadFile(Maildir("u") + "/cur/" + names[3] + ":2,S"), Content(3));
  EXPECT_FALSE(ListDir(nd).size() != 4u);
  // The log was reset: a second recovery finds nothing.
  stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->records, 0u);
}

// The real file system, except that listing a cur/ directory fails.
class CurUnlistableFs final : public engine::BlockingFs {
 public:
  int Open(int dirfd, const char* path, int flags, mode_t mode) override {
    return real_.Open(dirfd, path, flags, mode);
  }
  int Close(int fd) override { return real_.Close(fd); }
  ssize_t Pread(int fd, void* buf, size_t len, off_t offset) override {
    return real_.Pread(fd, buf, len, offset);
  }
  ssize_t Pwrite(int fd, const void* buf, size_t len, off_t offset) override {
    return real_.Pwrite(fd, buf, len, offset);
  }
  int Fsync(int fd) override { return real_.Fsync(fd); }
  int Fdatasync(int fd) override { return real_.Fdatasync(fd); }
  int Syncfs(int fd) override { return real_.Syncfs(fd); }
  int Ftruncate(int fd, off_t size) override { return real_.Ftruncate(fd, size); }
  int Fstat(int fd, struct stat* st) override { return real_.Fstat(fd, st); }
  int Stat(int dirfd, const char* path, struct stat* st, int flags) override {
    return real_.Stat(dirfd, path, st, flags);
  }
  int Mkdir(int dirfd, const char* path, mode_t mode) override {
    return real_.Mkdir(dirfd, path, mode);
  }
  int Rename(int od, const char* op, int nd, const char* np, unsigned flags) override {
    return real_.Rename(od, op, nd, np, flags);
  }
  int Link(int od, const char* op, int nd, const char* np, int flags) override {
    return real_.Link(od, op, nd, np, flags);
  }
  int Unlink(int dirfd, const char* path, int flags) override {
    return real_.Unlink(dirfd, path, flags);
  }
  int ListDir(const char* path,
              absl::FunctionRef<bool(int, std::string_view, unsigned char)> fn) override {
    std::string_view p(path);
    if (p.size() >= 4 && p.substr(p.size() - 4) == "/cur") return -EIO;
    return real_.ListDir(path, fn);
  }

 private:
  engine::PosixBlockingFs real_;
};

// Found by the durability simulation: a record whose file was not in new/
// was written back to new/ when cur/ could not be listed, although the
// message had been moved to cur/: two copies. Recovery now gives up this
// attempt and keeps the log; the next start, able to list cur/, finds the
// message there and writes nothing.
TEST_F(JournalRecoveryTest, UnlistableCurKeepsTheLogInsteadOfASecondCopy) {
  std::vector<std::string> names = DeliverAndCrash(2);
  const std::string nd = Maildir("u") + "/new/";
  const std::string moved = Maildir("u") + "/cur/" + names[0] + ":2,S";
  ASSERT_EQ(rename((nd + names[0]).c_str(), moved.c_str()), 0);
  CurUnlistableFs failing;
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr, failing);
  EXPECT_FALSE(stats.ok());
  EXPECT_EQ(ListDir(nd).size(), 1u) << "a second copy went to new/";
  stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 2u);
  EXPECT_EQ(stats->present, 2u);
  EXPECT_EQ(stats->replayed, 0u);
  EXPECT_EQ(ListDir(nd).size(), 1u);
  EXPECT_EQ(ReadFile(moved), Content(0));
}

TEST_F(JournalRecoveryTest, TornTailAndBadCrcStopReplay) {
  std::vector<std::string> names = DeliverAndCrash(4);
  std::string nd = Maildir("u") + "/new/";
  for (const std::string& n : names) unlink((nd + n).c_str());
  std::vector<JournalRecord> recs = Scan();
  ASSERT_EQ(recs.size(), 4u);
  // Flip a content byte of record 2 (CRC mismatch): records 0 and 1 only.
  int fd = open(JournalFilePath().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c = 'Z';
  ASSERT_EQ(pwrite(fd, &c, 1, recs[2].offset + 100), 1);
  close(fd);
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 2u);
  EXPECT_EQ(stats->replayed, 2u);
  EXPECT_EQ(ReadFile(nd + names[0]), Content(0));
  EXPECT_EQ(ReadFile(nd + names[1]), Content(1));
  EXPECT_EQ(ListDir(nd).size(), 2u);
}

TEST_F(JournalRecoveryTest, TornRecordAtTail) {
  std::vector<std::string> names = DeliverAndCrash(3);
  std::string nd = Maildir("u") + "/new/";
  for (const std::string& n : names) unlink((nd + n).c_str());
  std::vector<JournalRecord> recs = Scan();
  ASSERT_EQ(recs.size(), 3u);
  // Zero the second half of the last record (a torn write).
  int fd = open(JournalFilePath().c_str(), O_RDWR);
  std::string zeros(200, '\0');
  ASSERT_EQ(pwrite(fd, zeros.data(), zeros.size(), recs[2].offset + 150), 200);
  close(fd);
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20, nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 2u);
  EXPECT_EQ(ListDir(nd).size(), 2u);
}

// The start-up side of ScanJournalTest.SizesTheRecordCannotHoldEndTheLog:
// a record whose content_len wraps the old 64-bit sum (CRC made good
// again) no longer aborts recovery; the records before it are replayed.
TEST_F(JournalRecoveryTest, RecordWithWrappingSizeEndsTheLog) {
  std::vector<std::string> names = DeliverAndCrash(3);
  std::string nd = Maildir("u") + "/new/";
  for (const std::string& n : names) unlink((nd + n).c_str());
  std::vector<JournalRecord> recs = Scan();
  ASSERT_EQ(recs.size(), 3u);
  int fd = open(JournalFilePath().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint32_t len = 0;
  ASSERT_EQ(pread(fd, &len, sizeof(len), recs[1].offset + 8), 4);
  std::string rec(len, '\0');
  ASSERT_EQ(pread(fd, rec.data(), len, recs[1].offset), static_cast<ssize_t>(len));
  // 32 + 16 + maildir_len + name_len + content_len == 2^64 + 8 (mod 2^64: 8).
  const uint64_t content_len =
      UINT64_MAX - 47 - recs[1].maildir.size() - recs[1].name.size() + 8;
  std::memcpy(rec.data() + 40, &content_len, sizeof(content_len));
  std::memset(rec.data() + 12, 0, 4);
  const uint32_t crc = Crc32c(rec.data(), rec.size());
  std::memcpy(rec.data() + 12, &crc, sizeof(crc));
  ASSERT_EQ(pwrite(fd, rec.data(), len, recs[1].offset), static_cast<ssize_t>(len));
  close(fd);
  std::vector<std::string> logs;
  auto stats = RecoverJournal(JournalFilePath(), 1 << 20,
                              [&](std::string_view line) { logs.emplace_back(line); });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 1u);
  EXPECT_EQ(stats->replayed, 1u);
  EXPECT_EQ(ReadFile(nd + names[0]), Content(0));
  EXPECT_EQ(ListDir(nd).size(), 1u);
  EXPECT_TRUE(std::any_of(logs.begin(), logs.end(), [](const std::string& l) {
    return l.find("bad payload") != std::string::npos;
  }));
}

}  // namespace
}  // namespace ringmail::storage
