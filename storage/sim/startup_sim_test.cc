// Start-up durability on the simulated file system: each test is a bug the
// durability simulation found, cut down to the steps that show it. A
// start-up step fails (an injected error: ringmaild exits), the next start
// succeeds, the power fails — what the successful start made, or relied
// on, must still be there.
#include <errno.h>
#include <fcntl.h>

#include <string>

#include "engine/testing/sim_fs.h"
#include "gtest/gtest.h"
#include "storage/maildir/journal_format.h"
#include "storage/maildir/journal_recovery.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/spool.h"
#include "storage/queue/state_record.h"

namespace ringmail::storage {
namespace {

using engine::testing::SimBlockingFs;
using engine::testing::SimCutMode;
using engine::testing::SimFs;
using engine::testing::SimRng;

struct Machine {
  SimRng rng{1};
  SimFs fs{&rng};
  SimBlockingFs bfs{&fs};
  Machine() {
    fs.Mkdir(AT_FDCWD, "/var", 0755);
    fs.Syncfs();
  }
};

LogFn Quiet() {
  return [](std::string_view) {};
}

// Seed 4284: PrepareSpool made /var/spool, then could not fsync /var and
// exited; the next start found /var/spool, never synced /var, and a power
// cut took the whole spool with the queued messages.
TEST(StartupSimTest, SpoolDirectoriesOfAFailedStartAreSyncedByTheNext) {
  Machine m;
  queue::PrepareOptions opts;
  opts.fs = &m.bfs;
  opts.log = Quiet();
  m.bfs.FailOnce("open", "/var", EIO);  // FsyncDir(/var) after mkdir /var/spool
  ASSERT_FALSE(queue::PrepareSpool("/var/spool/rmq", 1, opts).ok());
  m.fs.CloseAll();  // ringmaild exited
  ASSERT_TRUE(queue::PrepareSpool("/var/spool/rmq", 1, opts).ok());
  m.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_TRUE(m.fs.IsDir("/var/spool/rmq/c0/new"));
}

// The same for the journal directory: mkdir -p /var/ringmail/journal, the
// fsync of /var/ringmail fails; the next start must sync it.
TEST(StartupSimTest, JournalDirectoryOfAFailedStartIsSyncedByTheNext) {
  Machine m;
  const std::string path = "/var/ringmail/journal/core-0.wal";
  m.bfs.FailOnce("open", "/var/ringmail", EIO);
  ASSERT_FALSE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
  m.fs.CloseAll();
  ASSERT_TRUE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
  m.fs.PowerCut(SimCutMode::kDropVolatile);
  auto jf = OpenJournalFile(path, 1 << 20, m.bfs);
  EXPECT_TRUE(jf.ok()) << jf.status();
}

// Seed 3000852: start-up's reset of the journal header wrote the new header
// over both slots in place. A power cut tearing the write of the slot that
// held the newest header (a graceful shutdown's final checkpoint) left the
// other slot's older header, whose checkpoint lay before records already
// retired: the next start replayed them, bringing back messages expunged
// since. The reset now writes only the slot the new generation's parity
// names: the newest valid header is never overwritten, so no cut can lose it.
TEST(StartupSimTest, HeaderResetNeverOverwritesTheNewestHeader) {
  Machine m;
  const std::string path = "/var/ringmail/journal/core-0.wal";
  for (int start = 0; start < 4; ++start) {
    std::string before;
    ASSERT_TRUE(start == 0 || m.fs.ReadFile(path, &before));
    ASSERT_TRUE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
    std::string after;
    ASSERT_TRUE(m.fs.ReadFile(path, &after));
    JournalFile newest;
    ASSERT_TRUE(PickJournalHeader(after, &newest));
    EXPECT_EQ(newest.generation, static_cast<uint64_t>(start));
    if (start == 0) continue;
    // The slot of the previous generation is byte for byte what it was.
    const uint64_t kept = (start - 1) % 2 == 0 ? 0 : kJournalHeaderSlot1;
    EXPECT_EQ(after.substr(kept, 64), before.substr(kept, 64)) << "start " << start;
  }
}

// Seed 3035238: start-up's header reset was written but its fdatasync
// failed (Linux drops the failed pages from writeback and keeps them in the
// page cache), so recovery failed. OpenJournalFile read the header back
// from the cache and took the journal; records appended under it were lost
// at the next power cut with the header (none valid on disk: recreated),
// and an acknowledged message's unsynced file in new/ stayed corrupt.
// OpenJournalFile now rewrites the header it picked and syncs it.
TEST(StartupSimTest, JournalHeaderWhoseSyncFailedIsMadeDurableBeforeUse) {
  Machine m;
  const std::string path = "/var/ringmail/journal/core-0.wal";
  ASSERT_TRUE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());  // gen 0
  m.fs.CloseAll();
  // The next start: no records, so the only sync of the file is the reset's
  // fdatasync. (A planned failure leaves the header pending rather than
  // dropped; either way it is not on disk when OpenJournalFile reads it.)
  m.bfs.FailOnce("fsync", path, EIO);
  ASSERT_FALSE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
  m.fs.CloseAll();  // ringmaild exited; the next start opens the journal
  auto jf = OpenJournalFile(path, 1 << 20, m.bfs);
  ASSERT_TRUE(jf.ok()) << jf.status();
  EXPECT_EQ(jf->generation, 1u);  // the reset's header, as reads see it
  m.fs.PowerCut(SimCutMode::kDropVolatile);
  std::string image;
  ASSERT_TRUE(m.fs.ReadFile(path, &image));
  JournalFile durable;
  ASSERT_TRUE(PickJournalHeader(image, &durable));
  // The header the writer appends under is the one on disk: its records
  // (same epoch, from the same checkpoint) are found by the next start.
  EXPECT_EQ(durable.generation, jf->generation);
  EXPECT_EQ(durable.epoch, jf->epoch);
  EXPECT_EQ(durable.checkpoint_offset, jf->checkpoint_offset);
}

// Seed 990: the first attempt created the journal file and failed before
// zero-filling it; the retry zero-filled it but did not fsync the
// directory (the file "existed"), and a power cut took the journal with
// the records of acknowledged messages.
TEST(StartupSimTest, JournalFileCreatedByAFailedAttemptGetsItsEntrySynced) {
  Machine m;
  const std::string path = "/var/ringmail/journal/core-0.wal";
  m.bfs.FailOnce("pwrite", path, EIO);  // the zero-fill
  ASSERT_FALSE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
  m.fs.CloseAll();
  ASSERT_TRUE(RecoverJournal(path, 1 << 20, Quiet(), m.bfs).ok());
  m.fs.PowerCut(SimCutMode::kDropVolatile);
  auto jf = OpenJournalFile(path, 1 << 20, m.bfs);
  EXPECT_TRUE(jf.ok()) << jf.status();
}

// Seed 2625: a start whose journal recovery did not finish (the header
// reset failed) loaded the spool, unlinked a finished queue file and
// compacted away its `removed` record; the next start replayed the
// journal, which wrote the file back, and nothing said it was finished:
// its recipients would have been sent again. With keep_removed_records
// (server/main.cc sets it when a journal was not recovered) the record
// stays until a start whose journals were all recovered.
TEST(StartupSimTest, RemovedRecordsOutliveAnUnrecoveredJournal) {
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep);
    Machine m;
    const std::string root = "/var/spool/rmq";
    queue::PrepareOptions popts;
    popts.fs = &m.bfs;
    popts.log = Quiet();
    ASSERT_TRUE(queue::PrepareSpool(root, 1, popts).ok());
    queue::QueueEnvelope env;
    env.id = "Q1";
    env.arrival = absl::FromUnixSeconds(1);
    env.recipients.push_back({"r@example.org", "", ""});
    const std::string name = "1.M1P1Q0_0.h,S=10,W=11";
    const std::string file = root + "/c0/new/" + name;
    const std::string content = queue::EncodeQueuePrefix(env) + "body\n";
    auto write = [&](const std::string& path, const std::string& data) {
      int fd = m.bfs.Open(AT_FDCWD, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(engine::PwriteAll(m.bfs, fd, data.data(), data.size(), 0), 0);
      m.bfs.Close(fd);
    };
    write(file, content);
    queue::StateRecord removed;
    removed.kind = queue::StateRecord::Kind::kRemoved;
    removed.file = name;
    write(root + "/c0/state.log", queue::EncodeStateRecord(removed));
    m.fs.Syncfs();
    queue::LoadOptions lopts;
    lopts.fs = &m.bfs;
    lopts.log = Quiet();
    lopts.keep_removed_records = true;  // this start's journal: not recovered
    auto first = queue::LoadCoreSpool(root, 0, lopts);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(first->empty());
    EXPECT_FALSE(m.fs.Exists(file));
    if (!keep) {
      // What happened before: the compacted log forgets the file.
      lopts.keep_removed_records = false;
      ASSERT_TRUE(queue::LoadCoreSpool(root, 0, lopts).ok());
    }
    write(file, content);  // the next start's journal replay
    lopts.keep_removed_records = false;  // recovered this time
    auto second = queue::LoadCoreSpool(root, 0, lopts);
    ASSERT_TRUE(second.ok());
    if (keep) {
      EXPECT_TRUE(second->empty()) << "a finished file is queued again";
      EXPECT_FALSE(m.fs.Exists(file));
    } else {
      EXPECT_EQ(second->size(), 1u);  // the bug, when nothing keeps the record
    }
  }
}

// Seed 3034751: a queue file linked in journal mode, never synced (the
// journal had broken, so no checkpoint synced it), was empty after a power
// cut. A start whose journal recovery failed moved it to corrupt/ and
// compacted its records away, a recipient's `delivered` among them; the
// next start's journal replay wrote the file back with nothing saying that
// recipient was done: it would have been sent again. With
// keep_removed_records every record of an absent file now stays.
TEST(StartupSimTest, OutcomesOfAFileTheJournalWillRestoreOutliveItsAbsence) {
  Machine m;
  const std::string root = "/var/spool/rmq";
  queue::PrepareOptions popts;
  popts.fs = &m.bfs;
  popts.log = Quiet();
  ASSERT_TRUE(queue::PrepareSpool(root, 1, popts).ok());
  queue::QueueEnvelope env;
  env.id = "Q1";
  env.arrival = absl::FromUnixSeconds(1);
  env.recipients.push_back({"r@example.org", "", ""});
  env.recipients.push_back({"s@example.org", "", ""});
  const std::string name = "1.M1P1Q0_0.h,S=10,W=11";
  const std::string file = root + "/c0/new/" + name;
  const std::string content = queue::EncodeQueuePrefix(env) + "body\n";
  auto write = [&](const std::string& path, const std::string& data) {
    int fd = m.bfs.Open(AT_FDCWD, path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(engine::PwriteAll(m.bfs, fd, data.data(), data.size(), 0), 0);
    m.bfs.Close(fd);
  };
  write(file, "");  // its data was lost; the journal holds its record
  queue::StateRecord delivered;
  delivered.kind = queue::StateRecord::Kind::kRecipient;
  delivered.file = name;
  delivered.rcpt = 0;
  delivered.status.state = queue::RecipientState::kDelivered;
  delivered.status.attempts = 1;
  write(root + "/c0/state.log", queue::EncodeStateRecord(delivered));
  m.fs.Syncfs();
  queue::LoadOptions lopts;
  lopts.fs = &m.bfs;
  lopts.log = Quiet();
  lopts.keep_removed_records = true;  // this start's journal: not recovered
  auto first = queue::LoadCoreSpool(root, 0, lopts);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->empty());
  write(file, content);  // the next start's journal replay
  lopts.keep_removed_records = false;  // recovered this time
  auto second = queue::LoadCoreSpool(root, 0, lopts);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].recipients[0].state, queue::RecipientState::kDelivered)
      << "a delivered recipient would be sent again";
  EXPECT_EQ((*second)[0].recipients[1].state, queue::RecipientState::kPending);
}

}  // namespace
}  // namespace ringmail::storage
