// Helpers shared by the storage/maildir tests: a private temp directory,
// directory listings, whole-file reads and a deterministic body.
#ifndef RINGMAIL_STORAGE_MAILDIR_MAILDIR_TEST_UTIL_H_
#define RINGMAIL_STORAGE_MAILDIR_MAILDIR_TEST_UTIL_H_

#include <dirent.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::storage::testing {

// A new directory under $TEST_TMPDIR (or /tmp), named <prefix>XXXXXX.
inline std::string MakeTempDir(const std::string& prefix) {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/" + prefix + "XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// Sorted entry names of `dir` without "." and ".."; empty if it is missing.
inline std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// The whole file; empty if it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `n` bytes of letters with an LF every seventh byte.
inline std::string MakeBody(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i % 7 == 6) ? '\n' : char('a' + i % 26);
  return s;
}

}  // namespace ringmail::storage::testing

#endif  // RINGMAIL_STORAGE_MAILDIR_MAILDIR_TEST_UTIL_H_
