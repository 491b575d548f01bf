#include "server/file_read.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "engine/testing/fake_file_io.h"
#include "gtest/gtest.h"

namespace ringmail::server {
namespace {

using engine::testing::FakeFileIo;
using Op = FakeFileIo::Op;

class FileReadTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  absl::StatusOr<std::string> Read(const std::string& path,
                                   const FileReadOptions& options) {
    std::optional<absl::StatusOr<std::string>> got;
    ReadFile(&io_, path, options,
             [&](absl::StatusOr<std::string> r) { got = std::move(r); });
    io_.RunUntilIdle();
    EXPECT_TRUE(got.has_value());
    EXPECT_EQ(io_.open_fds(), 0u);
    return got.value_or(absl::InternalError("no callback"));
  }

  // Lengths asked for by the reads, in order.
  std::vector<size_t> ReadLengths() const {
    std::vector<size_t> lens;
    for (const auto& r : io_.RecordsOf(Op::kRead)) lens.push_back(r.len);
    return lens;
  }

  static std::string Content(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
  }

  std::string dir_ = [] {
    const char* base = getenv("TEST_TMPDIR");
    std::string t = std::string(base ? base : "/tmp") + "/fileread-XXXXXX";
    EXPECT_NE(mkdtemp(t.data()), nullptr);
    return t;
  }();
  FakeFileIo io_;
};

// With a correct hint: one read of hint+1 bytes and a one-byte probe for
// the end, never a 256 KiB buffer.
TEST_F(FileReadTest, ExactHintReadsOnceAndProbes) {
  std::string body = Content(10240);
  FileReadOptions o;
  o.max_bytes = 1 << 20;
  o.size_hint = body.size();
  auto r = Read(Write("m", body), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, body);
  EXPECT_EQ(ReadLengths(), (std::vector<size_t>{10241, 1}));
  EXPECT_LE(r->capacity(), 10241u + 64);
}

TEST_F(FileReadTest, HintTooSmallOrTooLargeStillReadsEverything) {
  std::string body = Content(100000);
  for (uint64_t hint : {0ul, 1ul, 5000ul, 99999ul, 100001ul, 300000ul}) {
    SCOPED_TRACE(hint);
    io_.ClearRecords();
    FileReadOptions o;
    o.max_bytes = 1 << 20;
    o.size_hint = hint;
    auto r = Read(Write("m", body), o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, body);
    for (size_t len : ReadLengths()) EXPECT_LE(len, 300001u);
  }
}

TEST_F(FileReadTest, WithoutHintReadsGrowGeometrically) {
  std::string body = Content(1 << 20);  // 1 MiB
  FileReadOptions o;
  o.max_bytes = 4 << 20;
  auto r = Read(Write("m", body), o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, body);
  std::vector<size_t> lens = ReadLengths();
  ASSERT_GE(lens.size(), 3u);
  EXPECT_EQ(lens[0], 16u << 10);
  for (size_t len : lens) EXPECT_LE(len, 256u << 10);
}

TEST_F(FileReadTest, AShortReadIsProbedNotTrusted) {
  std::string body = Content(5000);
  FileReadOptions o;
  o.max_bytes = 1 << 20;
  o.size_hint = body.size();
  // A short read is only "probably the end": the file grows after the
  // first read (the fake performs each read when it is issued), so the
  // one-byte probe finds more and the read goes on.
  std::string path = Write("m", body);
  std::optional<absl::StatusOr<std::string>> got;
  ReadFile(&io_, path, o,
           [&](absl::StatusOr<std::string> r) { got = std::move(r); });
  io_.RunOne();  // open's callback issues the first read: 5000 of 5001
  std::ofstream(path, std::ios::binary | std::ios::app) << "tail";
  io_.RunUntilIdle();
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->ok()) << got->status();
  EXPECT_EQ(**got, body + "tail");
}

TEST_F(FileReadTest, LimitsOffsetAndErrors) {
  std::string body = Content(3000);
  std::string path = Write("m", body);
  FileReadOptions o;
  o.max_bytes = 3000;
  o.size_hint = 3000;
  auto r = Read(path, o);  // exactly max_bytes: fine
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, body);
  o.max_bytes = 2999;
  r = Read(path, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  o.truncate = true;
  r = Read(path, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, body.substr(0, 2999));
  FileReadOptions tail;
  tail.offset = 2990;
  tail.max_bytes = 100;
  tail.size_hint = 10;
  r = Read(path, tail);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, body.substr(2990));
  r = Read(dir_ + "/missing", tail);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  io_.FailNext(Op::kRead, EIO);
  r = Read(path, o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace ringmail::server
