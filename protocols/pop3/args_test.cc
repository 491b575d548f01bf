#include "protocols/pop3/args.h"

#include <gtest/gtest.h>

#include "protocols/pop3/uidl.h"

namespace ringmail::pop3 {
namespace {

TEST(Args, SplitsCommandAndArguments) {
  CommandLine c = ParseCommandLine("top  3   10");
  ASSERT_NE(c.spec, nullptr);
  EXPECT_EQ(c.spec->id, CommandId::kTop);
  ASSERT_EQ(c.arg_count, 2);
  EXPECT_EQ(c.args[0], "3");
  EXPECT_EQ(c.args[1], "10");
  EXPECT_FALSE(c.too_many);
  c = ParseCommandLine("RETR 1 2 3");
  EXPECT_TRUE(c.too_many);
  c = ParseCommandLine("PASS  two words ");
  EXPECT_EQ(c.rest, " two words ");
  EXPECT_NE(ParseCommandLine("STLS").spec, nullptr);  // RFC 2595 §4
  EXPECT_EQ(ParseCommandLine("APOP a b").spec, nullptr);
}

TEST(Args, Numbers) {
  uint64_t v;
  EXPECT_TRUE(ParseNumber("42", &v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(ParseNumber("0", &v));
  EXPECT_FALSE(ParseNumber("", &v));
  EXPECT_FALSE(ParseNumber("-1", &v));
  EXPECT_FALSE(ParseNumber("1x", &v));
  EXPECT_FALSE(ParseNumber("12345678901", &v));  // more than 10 digits
}

TEST(Args, SaslPlain) {
  std::string z, c, p;
  // "\0alice\0secret"
  EXPECT_TRUE(DecodeSaslPlain("AGFsaWNlAHNlY3JldA==", &z, &c, &p));
  EXPECT_EQ(z, "");
  EXPECT_EQ(c, "alice");
  EXPECT_EQ(p, "secret");
  // "bob\0alice\0pw"
  EXPECT_TRUE(DecodeSaslPlain("Ym9iAGFsaWNlAHB3", &z, &c, &p));
  EXPECT_EQ(z, "bob");
  EXPECT_FALSE(DecodeSaslPlain("AGFsaWNl", &z, &c, &p));      // one NUL
  EXPECT_FALSE(DecodeSaslPlain("AGFsaWNlAHNlY3JldA=", &z, &c, &p));  // length
  EXPECT_FALSE(DecodeSaslPlain("AGFs aWNlAHNlY3JldA=", &z, &c, &p));
  EXPECT_FALSE(DecodeSaslPlain(std::string(4000, 'A'), &z, &c, &p));  // bound
}

TEST(Uidl, DovecotDefaultAndVariables) {
  UidlVars v{0x1234, 0x5f00aabb, "1700000000.M1P2Q3.host"};
  EXPECT_EQ(FormatUidl(kDefaultUidlFormat, v), "000012345f00aabb");
  EXPECT_EQ(FormatUidl("%u", v), "4660");
  EXPECT_EQ(FormatUidl("%v.%u", v), "1593879227.4660");
  EXPECT_EQ(FormatUidl("%f", v), "1700000000.M1P2Q3.host");
  EXPECT_EQ(FormatUidl("%Xu-%%", v), "1234-%");
  EXPECT_EQ(FormatUidl("%f", UidlVars{1, 1, "a b\x01"}), "a_b_");
  EXPECT_EQ(FormatUidl("%f", UidlVars{1, 1, std::string(100, 'z')}).size(), 70u);
}

TEST(Uidl, Validation) {
  EXPECT_EQ(ValidateUidlFormat(kDefaultUidlFormat), "");
  EXPECT_EQ(ValidateUidlFormat("%u"), "");
  EXPECT_EQ(ValidateUidlFormat("%f"), "");
  EXPECT_NE(ValidateUidlFormat("%v"), "");    // not unique per message
  EXPECT_NE(ValidateUidlFormat("%m"), "");    // MD5: not supported
  EXPECT_NE(ValidateUidlFormat("%123u"), "");
  EXPECT_NE(ValidateUidlFormat("%u%"), "");
  EXPECT_NE(ValidateUidlFormat(""), "");
}

}  // namespace
}  // namespace ringmail::pop3
