#include "engine/testing/sim_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::engine::testing {
namespace {

// Writes `content` to a new file at `path` (created, not synced).
int Create(SimFs& fs, const std::string& path, const std::string& content) {
  int fd = fs.Open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return fd;
  EXPECT_EQ(fs.Pwrite(fd, content.data(), content.size(), 0),
            static_cast<ssize_t>(content.size()));
  return fd;
}

void FsyncPath(SimFs& fs, const std::string& path) {
  int fd = fs.Open(AT_FDCWD, path, O_RDONLY, 0);
  ASSERT_GE(fd, 0) << path;
  EXPECT_EQ(fs.Fsync(fd, false), 0);
  fs.Close(fd);
}

std::string Read(SimFs& fs, const std::string& path) {
  std::string out;
  if (!fs.ReadFile(path, &out)) return "<missing>";
  return out;
}

struct Fixture {
  SimRng rng{1};
  SimFs fs{&rng};
  Fixture() {
    EXPECT_EQ(fs.Mkdir(AT_FDCWD, "/d", 0700), 0);
    EXPECT_EQ(fs.Mkdir(AT_FDCWD, "/e", 0700), 0);
    fs.Syncfs();
  }
};

TEST(SimRngTest, DeterministicAndBounded) {
  SimRng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    EXPECT_LT(a.Below(7), 7u);
    b.Below(7);
  }
  EXPECT_NE(SimRng(42).Next(), c.Next());
}

TEST(SimFsTest, PosixErrors) {
  Fixture f;
  SimFs& fs = f.fs;
  EXPECT_EQ(fs.Open(AT_FDCWD, "/missing/x", O_WRONLY | O_CREAT, 0600), -ENOENT);
  EXPECT_EQ(fs.Open(AT_FDCWD, "/d/x", O_RDONLY, 0), -ENOENT);
  int fd = Create(fs, "/d/x", "abc");
  ASSERT_GE(fd, 0);
  EXPECT_EQ(fs.Open(AT_FDCWD, "/d/x", O_WRONLY | O_CREAT | O_EXCL, 0600), -EEXIST);
  EXPECT_EQ(fs.Open(AT_FDCWD, "/d/x", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
  EXPECT_EQ(fs.Open(AT_FDCWD, "/d", O_WRONLY, 0), -EISDIR);
  EXPECT_EQ(fs.Mkdir(AT_FDCWD, "/d", 0700), -EEXIST);
  EXPECT_EQ(fs.Unlink(AT_FDCWD, "/d", 0), -EISDIR);
  EXPECT_EQ(fs.Unlink(AT_FDCWD, "/d", AT_REMOVEDIR), -ENOTEMPTY);
  EXPECT_EQ(fs.Unlink(AT_FDCWD, "/d/x", AT_REMOVEDIR), -ENOTDIR);
  EXPECT_EQ(fs.Rename(AT_FDCWD, "/d/x", AT_FDCWD, "/e", 0), -EISDIR);
  int fd2 = Create(fs, "/e/y", "");
  EXPECT_EQ(fs.Rename(AT_FDCWD, "/d/x", AT_FDCWD, "/e/y", RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ(fs.Link(AT_FDCWD, "/d/x", AT_FDCWD, "/e/y", 0), -EEXIST);
  char buf[8];
  EXPECT_EQ(fs.Pread(fd, buf, sizeof(buf), 0), -EBADF);  // O_WRONLY
  EXPECT_EQ(fs.Close(fd), 0);
  EXPECT_EQ(fs.Close(fd), -EBADF);
  fs.Close(fd2);
  // dirfd-relative.
  int dfd = fs.Open(AT_FDCWD, "/d", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(dfd, 0);
  struct stat st;
  EXPECT_EQ(fs.Stat(dfd, "x", &st), 0);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(fs.Unlink(dfd, "x", 0), 0);
  EXPECT_FALSE(fs.Exists("/d/x"));
  fs.Close(dfd);
}

TEST(SimFsTest, UnsyncedWriteAndEntryAreLost) {
  Fixture f;
  int fd = Create(f.fs, "/d/x", "hello");
  f.fs.Close(fd);
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_FALSE(f.fs.Exists("/d/x"));
  EXPECT_TRUE(f.fs.IsDir("/d"));
}

TEST(SimFsTest, FdatasyncKeepsDataButNotTheNewEntry) {
  Fixture f;
  int fd = Create(f.fs, "/d/x", "hello");
  EXPECT_EQ(f.fs.Fsync(fd, true), 0);
  f.fs.Close(fd);
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_FALSE(f.fs.Exists("/d/x"));  // ext4 would keep it; POSIX need not
}

TEST(SimFsTest, DirectoryFsyncKeepsTheEntryWithDurableData) {
  Fixture f;
  int fd = Create(f.fs, "/d/x", "hello");
  f.fs.Close(fd);
  FsyncPath(f.fs, "/d");
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_EQ(Read(f.fs, "/d/x"), "");  // the entry, not the data
  fd = f.fs.Open(AT_FDCWD, "/d/x", O_WRONLY, 0);
  ASSERT_GE(fd, 0);
  f.fs.Pwrite(fd, "data", 4, 0);
  f.fs.Fsync(fd, true);
  f.fs.Close(fd);
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_EQ(Read(f.fs, "/d/x"), "data");
}

TEST(SimFsTest, RenameIsAtomicAcrossDirectories) {
  Fixture f;
  int fd = Create(f.fs, "/d/x", "m");
  f.fs.Fsync(fd, true);
  f.fs.Close(fd);
  FsyncPath(f.fs, "/d");
  EXPECT_EQ(f.fs.Rename(AT_FDCWD, "/d/x", AT_FDCWD, "/e/y", 0), 0);
  FsyncPath(f.fs, "/e");  // persists the rename, also its source side
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_FALSE(f.fs.Exists("/d/x"));
  EXPECT_EQ(Read(f.fs, "/e/y"), "m");
}

TEST(SimFsTest, DirectoryFsyncTakesEarlierOperationsOnSharedDirectories) {
  Fixture f;
  // unlink /e/y, then rename /d/x over /e/y; fsync(/d) must not leave the
  // earlier unlink pending to remove the renamed file later.
  int fd = Create(f.fs, "/e/y", "old");
  f.fs.Fsync(fd, true);
  f.fs.Close(fd);
  fd = Create(f.fs, "/d/x", "new");
  f.fs.Fsync(fd, true);
  f.fs.Close(fd);
  f.fs.Syncfs();
  EXPECT_EQ(f.fs.Unlink(AT_FDCWD, "/e/y", 0), 0);
  fd = Create(f.fs, "/e/z", "z");
  f.fs.Close(fd);
  EXPECT_EQ(f.fs.Rename(AT_FDCWD, "/d/x", AT_FDCWD, "/e/y", 0), 0);
  FsyncPath(f.fs, "/d");
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_EQ(Read(f.fs, "/e/y"), "new");
  EXPECT_FALSE(f.fs.Exists("/d/x"));
  EXPECT_TRUE(f.fs.Exists("/e/z"));  // earlier op on /e: taken along
}

TEST(SimFsTest, ParentMustBeSyncedForANewDirectory) {
  Fixture f;
  EXPECT_EQ(f.fs.Mkdir(AT_FDCWD, "/d/sub", 0700), 0);
  int fd = Create(f.fs, "/d/sub/x", "x");
  f.fs.Fsync(fd, true);
  f.fs.Close(fd);
  FsyncPath(f.fs, "/d/sub");
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_FALSE(f.fs.Exists("/d/sub"));
  EXPECT_EQ(f.fs.Mkdir(AT_FDCWD, "/d/sub", 0700), 0);
  FsyncPath(f.fs, "/d");
  f.fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_TRUE(f.fs.IsDir("/d/sub"));
}

TEST(SimFsTest, TmpfileLinkedThroughProc) {
  Fixture f;
  SimFs& fs = f.fs;
  int fd = fs.Open(AT_FDCWD, "/d", O_WRONLY | O_TMPFILE, 0600);
  ASSERT_GE(fd, 0);
  fs.Pwrite(fd, "body", 4, 0);
  EXPECT_TRUE(fs.List("/d").empty());
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  EXPECT_EQ(fs.Link(AT_FDCWD, proc, AT_FDCWD, "/d/m", AT_SYMLINK_FOLLOW), 0);
  EXPECT_EQ(fs.Link(AT_FDCWD, proc, AT_FDCWD, "/d/m", AT_SYMLINK_FOLLOW), -EEXIST);
  fs.Close(fd);
  EXPECT_EQ(Read(fs, "/d/m"), "body");
  EXPECT_EQ(fs.Link(AT_FDCWD, proc, AT_FDCWD, "/d/n", AT_SYMLINK_FOLLOW), -ENOENT);
  int probe = fs.Open(AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY, 0);
  EXPECT_GE(probe, 0);
  fs.Close(probe);
  // Linked, directory synced, data not: the name survives, the data not.
  FsyncPath(fs, "/d");
  fs.PowerCut(SimCutMode::kDropVolatile);
  EXPECT_EQ(Read(fs, "/d/m"), "");
  // An unlinked O_TMPFILE inode is gone after a cut.
  fd = fs.Open(AT_FDCWD, "/d", O_WRONLY | O_TMPFILE, 0600);
  fs.Pwrite(fd, "x", 1, 0);
  fs.Fsync(fd, true);
  fs.PowerCut(SimCutMode::kPrefix);
  EXPECT_EQ(fs.List("/d"), std::vector<std::string>{"m"});
  EXPECT_EQ(fs.open_fds(), 0u);
}

TEST(SimFsTest, FailedFsyncLosesPagesForGood) {
  // With the pending data dropped by a failed fsync, a later successful
  // fsync must not bring it back (the pages are clean).
  for (uint64_t seed = 1; seed < 20; ++seed) {
    SimRng rng(seed);
    SimFs fs(&rng);
    int fd = fs.Open(AT_FDCWD, "/f", O_RDWR | O_CREAT, 0600);
    std::string big(4096, 'a');
    fs.Pwrite(fd, big.data(), big.size(), 0);
    fs.Syncfs();
    std::string b(4096, 'b');
    fs.Pwrite(fd, b.data(), b.size(), 0);
    fs.FsyncFailed(fd);
    EXPECT_EQ(fs.Fsync(fd, true), 0);
    fs.Close(fd);
    EXPECT_EQ(Read(fs, "/f"), b);  // the page cache still has it
    fs.PowerCut(SimCutMode::kDropVolatile);
    std::string after = Read(fs, "/f");
    ASSERT_EQ(after.size(), 4096u);
    // Each sector is old or new, whole.
    for (size_t s = 0; s < 8; ++s) {
      std::string sector = after.substr(s * 512, 512);
      EXPECT_TRUE(sector == std::string(512, 'a') || sector == std::string(512, 'b'));
    }
  }
}

TEST(SimFsTest, WritebackErrorIsReportedOncePerFd) {
  // A failed syncfs that lost a file's pages: the next fdatasync of every
  // fd open before it says EIO, once (Linux errseq_t); a later one, or an
  // fd opened afterwards, says 0.
  int reported = 0;
  for (uint64_t seed = 1; seed < 40; ++seed) {
    SimRng rng(seed);
    SimFs fs(&rng);
    int a = fs.Open(AT_FDCWD, "/f", O_RDWR | O_CREAT, 0600);
    int b = fs.Open(AT_FDCWD, "/f", O_RDWR, 0);
    fs.Pwrite(a, "x", 1, 0);
    fs.SyncfsFailed();
    int ra = fs.Fsync(a, true);
    int rb = fs.Fsync(b, true);
    EXPECT_EQ(ra, rb);
    if (ra == -EIO) {
      ++reported;
      EXPECT_EQ(fs.Fsync(a, true), 0);
      int c = fs.Open(AT_FDCWD, "/f", O_RDWR, 0);
      EXPECT_EQ(fs.Fsync(c, true), 0);
    }
  }
  EXPECT_GT(reported, 5);
}

TEST(SimFsTest, CutModesKeepOnlyWhatTheyMay) {
  int torn = 0, kept = 0, lost = 0;
  for (uint64_t seed = 1; seed < 200; ++seed) {
    SimRng rng(seed);
    SimFs fs(&rng);
    fs.Mkdir(AT_FDCWD, "/d", 0700);
    int fd = fs.Open(AT_FDCWD, "/d/f", O_RDWR | O_CREAT, 0600);
    fs.Syncfs();
    std::string data(3000, 'x');
    fs.Pwrite(fd, data.data(), data.size(), 0);
    SimCutMode mode = seed % 2 ? SimCutMode::kPrefix : SimCutMode::kScatter;
    fs.PowerCut(mode);
    std::string after = Read(fs, "/d/f");
    ASSERT_LE(after.size(), data.size());
    for (char c : after) ASSERT_TRUE(c == 'x' || c == '\0');
    if (after.empty()) {
      ++lost;
    } else if (after == data) {
      ++kept;
    } else {
      ++torn;
    }
  }
  EXPECT_GT(torn, 10);
  EXPECT_GT(kept, 10);
  EXPECT_GT(lost, 10);
}

TEST(SimFsTest, MetadataPrefixIsInOrder) {
  // create a, create b, create c in one directory: after a cut with a
  // metadata prefix, b never survives without a.
  for (uint64_t seed = 1; seed < 200; ++seed) {
    SimRng rng(seed);
    SimFs fs(&rng);
    fs.Mkdir(AT_FDCWD, "/d", 0700);
    fs.Syncfs();
    for (const char* n : {"/d/a", "/d/b", "/d/c"}) fs.Close(Create(fs, n, ""));
    fs.PowerCut(SimCutMode::kScatter);
    bool a = fs.Exists("/d/a"), b = fs.Exists("/d/b"), c = fs.Exists("/d/c");
    EXPECT_TRUE(!b || a);
    EXPECT_TRUE(!c || b);
  }
}

TEST(SimLoopTest, CompletionOrderDependsOnSeedOnlyAndIsReplayable) {
  auto run = [](uint64_t seed) {
    SimRng rng(seed);
    SimFs fs(&rng);
    SimLoop loop(&rng);
    SimFileIo io(&fs, &loop);
    std::vector<std::string> order;
    for (const char* d : {"/a", "/b", "/c", "/d", "/e"}) {
      io.MkdirAt(AT_FDCWD, d, 0700,
                 [&order, d](int r) { order.push_back(std::string(d) + "=" + std::to_string(r)); });
    }
    loop.RunAfter(absl::Milliseconds(1), [&order] { order.push_back("timer"); });
    while (loop.Step()) {
    }
    return std::make_pair(order, loop.trace_hash());
  };
  auto a = run(7), b = run(7);
  EXPECT_EQ(a, b);
  bool differs = false;
  for (uint64_t s = 8; s < 30 && !differs; ++s) differs = run(s).first != a.first;
  EXPECT_TRUE(differs);
}

TEST(SimLoopTest, IssueOrderDoesNotMatter) {
  // The same set of operations issued in a different order completes in
  // the same order for the same seed (canonical ordering).
  auto run = [](bool reverse) {
    SimRng rng(3);
    SimFs fs(&rng);
    SimLoop loop(&rng);
    SimFileIo io(&fs, &loop);
    std::vector<std::string> dirs = {"/a", "/b", "/c", "/d"};
    if (reverse) std::reverse(dirs.begin(), dirs.end());
    std::vector<std::string> order;
    for (const std::string& d : dirs) {
      io.MkdirAt(AT_FDCWD, d, 0700, [&order, d](int) { order.push_back(d); });
    }
    while (loop.Step()) {
    }
    return order;
  };
  EXPECT_EQ(run(false), run(true));
}

TEST(SimFileIoTest, WritesAndFaults) {
  SimRng rng(5);
  SimFs fs(&rng);
  SimLoop loop(&rng);
  SimFileIo io(&fs, &loop);
  int fd = -1;
  io.OpenAt(AT_FDCWD, "/f", O_WRONLY | O_CREAT | O_EXCL, 0600, [&](int r) { fd = r; });
  while (loop.Step()) {
  }
  ASSERT_GE(fd, 0);
  std::string data = "0123456789";
  SimFaults faults;
  faults.short_write = 1.0;
  io.set_faults(faults);
  int written = -1;
  io.Write(fd, data.data(), data.size(), 0, [&](int r) { written = r; });
  while (loop.Step()) {
  }
  EXPECT_GT(written, 0);
  EXPECT_LT(written, 10);
  faults = SimFaults();
  faults.fsync_error = 1.0;
  io.set_faults(faults);
  int synced = 0;
  io.Fsync(fd, true, [&](int r) { synced = r; });
  while (loop.Step()) {
  }
  EXPECT_EQ(synced, -EIO);
  EXPECT_GT(io.faults_injected(), 0u);
}

TEST(SimBlockingFsTest, ListDirAndDeadMachine) {
  SimRng rng(9);
  SimFs fs(&rng);
  SimBlockingFs bfs(&fs);
  ASSERT_EQ(bfs.Mkdir(AT_FDCWD, "/d", 0700), 0);
  ASSERT_EQ(bfs.Mkdir(AT_FDCWD, "/d/sub", 0700), 0);
  int fd = bfs.Open(AT_FDCWD, "/d/f", O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  bfs.Close(fd);
  std::vector<std::string> seen;
  EXPECT_EQ(bfs.ListDir("/d",
                        [&](int dirfd, std::string_view name, unsigned char type) {
                          struct stat st;
                          EXPECT_EQ(bfs.Stat(dirfd, std::string(name).c_str(), &st, 0), 0);
                          seen.push_back(std::string(name) + (type == DT_DIR ? "/" : ""));
                          return true;
                        }),
            0);
  EXPECT_EQ(seen, (std::vector<std::string>{"f", "sub/"}));
  EXPECT_EQ(bfs.ListDir("/nope", [](int, std::string_view, unsigned char) { return true; }),
            -ENOENT);
  bfs.set_op_hook([](uint64_t op) { return op >= 2; });
  EXPECT_EQ(bfs.Mkdir(AT_FDCWD, "/x", 0700), -EIO);
  EXPECT_TRUE(bfs.dead());
  EXPECT_EQ(bfs.Mkdir(AT_FDCWD, "/y", 0700), -EIO);
  EXPECT_FALSE(fs.Exists("/x"));
}

}  // namespace
}  // namespace ringmail::engine::testing
