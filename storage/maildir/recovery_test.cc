#include "storage/maildir/recovery.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::storage {
namespace {

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/recXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

void MakeMaildir(const std::string& dir) {
  std::string path;
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = dir.find('/', pos + 1);
    mkdir(dir.substr(0, pos).c_str(), 0700);
  }
  for (const char* leaf : {"/tmp", "/new", "/cur"}) {
    ASSERT_EQ(mkdir((dir + leaf).c_str(), 0700), 0);
  }
}

void Touch(const std::string& path, absl::Time mtime) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  struct timeval tv[2];
  tv[0] = tv[1] = absl::ToTimeval(mtime);
  ASSERT_EQ(utimes(path.c_str(), tv), 0);
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

TEST(RecoveryTest, RemovesOnlyOldTmpFiles) {
  std::string root = MakeTempDir();
  std::string a = root + "/example.com/a/Maildir";
  std::string b = root + "/example.com/b/Maildir";
  MakeMaildir(a);
  MakeMaildir(b);
  absl::Time now = absl::FromUnixSeconds(1700000000);
  Touch(a + "/tmp/old", now - absl::Hours(37));
  Touch(a + "/tmp/young", now - absl::Hours(35));
  Touch(b + "/tmp/old", now - absl::Hours(100));
  Touch(a + "/new/old", now - absl::Hours(100));  // new/ is never touched
  std::vector<std::string> logs;
  LogFn log = [&](std::string_view l) { logs.emplace_back(l); };
  auto dirs = FindMaildirs(root, RecoveryLimits(), log);
  ASSERT_TRUE(dirs.ok());
  EXPECT_EQ(dirs->size(), 2u);
  auto stats = RecoverMailRoot(root, now, RecoveryLimits(), log);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->maildirs_scanned, 2u);
  EXPECT_EQ(stats->files_removed, 2u);
  EXPECT_EQ(stats->files_kept, 1u);
  EXPECT_EQ(stats->errors, 0u);
  EXPECT_FALSE(Exists(a + "/tmp/old"));
  EXPECT_TRUE(Exists(a + "/tmp/young"));
  EXPECT_FALSE(Exists(b + "/tmp/old"));
  EXPECT_TRUE(Exists(a + "/new/old"));
  EXPECT_TRUE(logs.empty());
}

TEST(RecoveryTest, MissingRootAndTmp) {
  LogFn log = [](std::string_view) {};
  EXPECT_FALSE(RecoverMailRoot("/nonexistent/ringmail", absl::Now(),
                               RecoveryLimits(), log)
                   .ok());
  auto s = CleanStaleTmpFiles(MakeTempDir(), absl::Now(), RecoveryLimits(), log);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->maildirs_scanned, 0u);
}

TEST(RecoveryTest, DepthLimit) {
  std::string root = MakeTempDir();
  MakeMaildir(root + "/a/b/c/d/Maildir");
  RecoveryLimits limits;
  limits.max_depth = 3;
  auto dirs = FindMaildirs(root, limits, [](std::string_view) {});
  ASSERT_TRUE(dirs.ok());
  EXPECT_TRUE(dirs->empty());
  limits.max_depth = 5;
  dirs = FindMaildirs(root, limits, [](std::string_view) {});
  EXPECT_EQ(dirs->size(), 1u);
}

}  // namespace
}  // namespace ringmail::storage
