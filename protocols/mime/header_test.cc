#include "protocols/mime/header.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::mime {
namespace {

std::vector<std::string> Names(std::string_view block, HeaderIterator* it) {
  std::vector<std::string> out;
  HeaderField f;
  while (it->Next(&f)) out.emplace_back(f.name);
  return out;
}

TEST(HeaderTest, FoldingAndOffsets) {
  const std::string block = "Subject: hello\n  world\nTo : a@b\n\nbody";
  HeaderIterator it(block);
  HeaderField f;
  ASSERT_TRUE(it.Next(&f));
  EXPECT_EQ(f.name, "Subject");
  EXPECT_EQ(f.raw_value, " hello\n  world");
  EXPECT_EQ(Unfold(f.raw_value), "hello  world");
  EXPECT_EQ(f.offset, 0u);
  EXPECT_EQ(f.size, 23u);
  ASSERT_TRUE(it.Next(&f));
  EXPECT_EQ(f.name, "To");
  EXPECT_EQ(f.offset, 23u);
  EXPECT_FALSE(it.Next(&f));
  EXPECT_TRUE(it.has_separator());
  EXPECT_EQ(block.substr(it.end()), "body");
}

TEST(HeaderTest, CrlfInput) {
  const std::string block = "A: 1\r\n 2\r\nB: x\r\n\r\nbody";
  HeaderIterator it(block);
  HeaderField f;
  ASSERT_TRUE(it.Next(&f));
  EXPECT_EQ(f.raw_value, " 1\r\n 2");
  EXPECT_EQ(Unfold(f.raw_value), "1 2");
  ASSERT_TRUE(it.Next(&f));
  EXPECT_EQ(f.raw_value, " x");
  EXPECT_FALSE(it.Next(&f));
  EXPECT_EQ(block.substr(it.end()), "body");
}

TEST(HeaderTest, GarbageAndLeadingContinuationSkipped) {
  const std::string block = " orphan\nA: 1\nno colon here\n cont\nB: 2\n\n";
  HeaderIterator it(block);
  EXPECT_EQ(Names(block, &it), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(it.end(), block.size());
}

TEST(HeaderTest, MissingFinalNewlineAndNoBody) {
  const std::string block = "A: 1\nB: 2";
  HeaderIterator it(block);
  HeaderField f;
  ASSERT_TRUE(it.Next(&f));
  ASSERT_TRUE(it.Next(&f));
  EXPECT_EQ(f.raw_value, " 2");
  EXPECT_EQ(f.size, 4u);
  EXPECT_FALSE(it.Next(&f));
  EXPECT_FALSE(it.has_separator());
  EXPECT_EQ(it.end(), block.size());
}

TEST(HeaderTest, Limits) {
  HeaderLimits limits;
  limits.max_fields = 2;
  limits.max_field_length = 10;
  const std::string block = "A: 1\nLong: 0123456789\nB: 2\nC: 3\n\n";
  HeaderIterator it(block, limits);
  EXPECT_EQ(Names(block, &it), (std::vector<std::string>{"A", "B"}));
  EXPECT_TRUE(it.truncated());
  EXPECT_EQ(it.end(), block.size());
}

TEST(HeaderTest, FindFieldIsCaseInsensitive) {
  const std::string block = "content-TYPE: text/html\nContent-Type: x/y\n\n";
  auto f = FindField(block, "Content-Type");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(Unfold(f->raw_value), "text/html");
  EXPECT_FALSE(FindField(block, "Subject").has_value());
}

}  // namespace
}  // namespace ringmail::mime
