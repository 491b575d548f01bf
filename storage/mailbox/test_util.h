// Helpers for storage/mailbox tests: temp dirs and small files.
#ifndef RINGMAIL_STORAGE_MAILBOX_TEST_UTIL_H_
#define RINGMAIL_STORAGE_MAILBOX_TEST_UTIL_H_

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace ringmail::storage::testing {

inline std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/mbxXXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  ASSERT_TRUE(f.good()) << path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}

// <dir>/{tmp,new,cur}; `dir` itself too.
inline void MakeMaildir(const std::string& dir) {
  mkdir(dir.c_str(), 0700);
  for (const char* s : {"/tmp", "/new", "/cur"}) {
    mkdir((dir + s).c_str(), 0700);
  }
}

}  // namespace ringmail::storage::testing

#endif  // RINGMAIL_STORAGE_MAILBOX_TEST_UTIL_H_
