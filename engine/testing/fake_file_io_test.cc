#include "engine/testing/fake_file_io.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::engine::testing {
namespace {

using Op = FakeFileIo::Op;

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/fakeioXXXXXX";
  char* p = mkdtemp(tmpl.data());
  EXPECT_NE(p, nullptr);
  return tmpl;
}

TEST(FakeFileIoTest, CallbacksAreDeferredAndRecorded) {
  FakeFileIo io;
  std::string dir = MakeTempDir();
  int fd = -1;
  io.OpenAt(AT_FDCWD, dir + "/f", O_WRONLY | O_CREAT | O_EXCL, 0600,
            [&](int r) { fd = r; });
  EXPECT_EQ(fd, -1);  // not run yet
  EXPECT_EQ(io.pending(), 1u);
  EXPECT_EQ(io.RunUntilIdle(), 1u);
  ASSERT_GE(fd, 0);
  std::string data = "hello";
  int written = 0;
  io.SetMaxWriteBytes(2);
  io.Write(fd, data.data(), data.size(), 0, [&](int r) { written = r; });
  io.RunUntilIdle();
  EXPECT_EQ(written, 2);  // short write
  int sync = 1, closed = 1;
  io.Fsync(fd, true, [&](int r) { sync = r; });
  io.Close(fd, [&](int r) { closed = r; });
  io.RunUntilIdle();
  EXPECT_EQ(sync, 0);
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(io.open_fds(), 0u);
  ASSERT_EQ(io.records().size(), 4u);
  EXPECT_EQ(io.records()[2].op, Op::kFdatasync);
  EXPECT_EQ(io.records()[2].path, dir + "/f");
  EXPECT_EQ(io.IndexOf(Op::kClose, "/f"), 3);
}

TEST(FakeFileIoTest, WriteVGathersPartsAndHonoursTheShortWriteCap) {
  FakeFileIo io;
  std::string dir = MakeTempDir();
  int fd = -1;
  io.OpenAt(AT_FDCWD, dir + "/v", O_RDWR | O_CREAT | O_EXCL, 0600,
            [&](int r) { fd = r; });
  io.RunUntilIdle();
  ASSERT_GE(fd, 0);
  std::string a = "head:", b = "body";
  const iovec parts[] = {{a.data(), a.size()}, {b.data(), b.size()}};
  int written = 0;
  io.WriteV(fd, parts, 2, [&](int r) { written = r; });
  io.RunUntilIdle();
  EXPECT_EQ(written, 9);
  char buf[16] = {};
  ASSERT_EQ(pread(fd, buf, sizeof buf, 0), 11);
  EXPECT_EQ(std::string(buf + 2, 9), "head:body");
  // The cap cuts inside the second part.
  io.SetMaxWriteBytes(7);
  io.WriteV(fd, parts, 0, [&](int r) { written = r; });
  io.RunUntilIdle();
  EXPECT_EQ(written, 7);
  ASSERT_EQ(io.records().back().op, Op::kWrite);
  EXPECT_EQ(io.records().back().len, 9u);  // the request, not the result
  // A write fault applies to WriteV too.
  io.FailNext(Op::kWrite, EIO);
  io.WriteV(fd, parts, 0, [&](int r) { written = r; });
  io.RunUntilIdle();
  EXPECT_EQ(written, -EIO);
  io.Close(fd, [](int) {});
  io.RunUntilIdle();
}

TEST(FakeFileIoTest, FaultsByKindCountAndPath) {
  FakeFileIo io;
  std::string dir = MakeTempDir();
  io.FailNth(Op::kMkdir, 2, ENOSPC);
  io.Fail(Op::kMkdir, EIO, "/c");
  std::vector<int> results;
  for (const char* name : {"/a", "/b", "/c", "/d"}) {
    io.MkdirAt(AT_FDCWD, dir + name, 0700,
               [&](int r) { results.push_back(r); });
  }
  io.RunUntilIdle();
  EXPECT_EQ(results, (std::vector<int>{0, -ENOSPC, -EIO, 0}));
  EXPECT_EQ(access((dir + "/b").c_str(), F_OK), -1);  // syscall skipped
  int renamed = 1;
  io.RenameAt(AT_FDCWD, dir + "/a", AT_FDCWD, dir + "/e",
              [&](int r) { renamed = r; });
  io.RunUntilIdle();
  EXPECT_EQ(renamed, 0);
  EXPECT_EQ(io.records().back().path2, dir + "/e");
}

}  // namespace
}  // namespace ringmail::engine::testing
