#include "protocols/smtp/client_command.h"

#include <string>

#include "gtest/gtest.h"

namespace ringmail::smtp {
namespace {

std::string Path(std::string_view address) {
  std::string out = "x";
  if (!AppendPath(address, &out)) {
    EXPECT_EQ(out, "x") << "appended on failure";
    return "REFUSED";
  }
  return out.substr(1);
}

TEST(ClientCommand, Paths) {
  EXPECT_EQ(Path(""), "<>");
  EXPECT_EQ(Path("a.b+c@example.org"), "<a.b+c@example.org>");
  EXPECT_EQ(Path("postmaster"), "<postmaster>");
  EXPECT_EQ(Path("Postmaster"), "<Postmaster>");
  EXPECT_EQ(Path("J\xc3\xb6rg@b\xc3\xbc\x63her.example"),
            "<J\xc3\xb6rg@b\xc3\xbc\x63her.example>");
  EXPECT_EQ(Path("[1.2.3.4]@[IPv6:::1]"), "<\"[1.2.3.4]\"@[IPv6:::1]>");
  // Local parts that are not a Dot-string get quoted (stored unquoted).
  EXPECT_EQ(Path("john doe@example.org"), "<\"john doe\"@example.org>");
  EXPECT_EQ(Path("a..b@example.org"), "<\"a..b\"@example.org>");
  EXPECT_EQ(Path(".a@example.org"), "<\".a\"@example.org>");
  EXPECT_EQ(Path("a\"b\\c@example.org"), "<\"a\\\"b\\\\c\"@example.org>");
  EXPECT_EQ(Path("x@y@example.org"), "<\"x@y\"@example.org>");
  EXPECT_EQ(Path("@example.org"), "<\"\"@example.org>");
  // Already quoted: kept.
  EXPECT_EQ(Path("\"john doe\"@example.org"), "<\"john doe\"@example.org>");
  EXPECT_EQ(Path("\"a\\\"b\"@example.org"), "<\"a\\\"b\"@example.org>");
  // Refused.
  EXPECT_EQ(Path("user"), "REFUSED");
  EXPECT_EQ(Path("user@"), "REFUSED");
  EXPECT_EQ(Path("a@exa mple.org"), "REFUSED");
  EXPECT_EQ(Path("a@example.org>"), "REFUSED");
  EXPECT_EQ(Path("a@example.org\r\nRSET"), "REFUSED");
  EXPECT_EQ(Path("a\n@example.org"), "REFUSED");
  EXPECT_EQ(Path(std::string_view("a\0b@example.org", 15)), "REFUSED");
  EXPECT_EQ(Path("a\x7f@example.org"), "REFUSED");
  EXPECT_EQ(Path(std::string(kMaxOutboundAddress - 12, 'a') + "@example.org"),
            "<" + std::string(kMaxOutboundAddress - 12, 'a') +
                "@example.org>");
  EXPECT_EQ(Path(std::string(kMaxOutboundAddress - 11, 'a') + "@example.org"),
            "REFUSED");
}

ServerCapabilities AllCaps() {
  ServerCapabilities c;
  c.esmtp = c.pipelining = c.size = c.eight_bit_mime = c.smtputf8 =
      c.starttls = c.dsn = c.enhanced_status_codes = true;
  return c;
}

TEST(ClientCommand, MailParameters) {
  OutboundEnvelope env;
  env.mail_from = "a@example.net";
  env.size = 12345;
  env.eight_bit = true;
  env.smtputf8 = true;
  env.ret = "hdrs";
  env.envid = "QQ+2Bx";
  std::string out;
  ASSERT_TRUE(AppendMailCommand(env, AllCaps(), &out));
  EXPECT_EQ(out,
            "MAIL FROM:<a@example.net> SIZE=12345 BODY=8BITMIME SMTPUTF8 "
            "RET=HDRS ENVID=QQ+2Bx\r\n");

  out.clear();
  ASSERT_TRUE(AppendMailCommand(env, ServerCapabilities(), &out));
  EXPECT_EQ(out, "MAIL FROM:<a@example.net>\r\n");

  env.size = 0;  // unknown: no SIZE= even where advertised
  env.eight_bit = env.smtputf8 = false;
  env.mail_from = "";
  env.ret = "";
  env.envid = "";
  out.clear();
  ASSERT_TRUE(AppendMailCommand(env, AllCaps(), &out));
  EXPECT_EQ(out, "MAIL FROM:<>\r\n");
}

TEST(ClientCommand, MalformedDsnValuesAreLeftOut) {
  OutboundEnvelope env;
  env.mail_from = "a@example.net";
  for (const char* ret : {"ALL", "FULL HDRS", "FULL\r\n"}) {
    env.ret = ret;
    std::string out;
    ASSERT_TRUE(AppendMailCommand(env, AllCaps(), &out));
    EXPECT_EQ(out, "MAIL FROM:<a@example.net>\r\n") << ret;
  }
  env.ret = "";
  for (std::string envid :
       {std::string("a b"), std::string("a=b"), std::string("a+2"),
        std::string("a+2g"), std::string("a\r\nQUIT"),
        std::string(kMaxEnvidLength + 1, 'x')}) {
    env.envid = envid;
    std::string out;
    ASSERT_TRUE(AppendMailCommand(env, AllCaps(), &out));
    EXPECT_EQ(out, "MAIL FROM:<a@example.net>\r\n") << envid;
  }
  env.envid = std::string(kMaxEnvidLength, 'x');
  std::string out;
  ASSERT_TRUE(AppendMailCommand(env, AllCaps(), &out));
  EXPECT_EQ(out, "MAIL FROM:<a@example.net> ENVID=" + env.envid + "\r\n");
}

TEST(ClientCommand, BadSenderAppendsNothing) {
  OutboundEnvelope env;
  env.mail_from = "a@b\r\nRCPT TO:<x@y>";
  std::string out = "keep";
  EXPECT_FALSE(AppendMailCommand(env, AllCaps(), &out));
  EXPECT_EQ(out, "keep");
}

TEST(ClientCommand, RcptParameters) {
  OutboundRecipient r{"b@example.org", "success,FAILURE", "rfc822;b+40x"};
  std::string out;
  ASSERT_TRUE(AppendRcptCommand(r, AllCaps(), &out));
  EXPECT_EQ(out,
            "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE "
            "ORCPT=rfc822;b+40x\r\n");
  out.clear();
  ASSERT_TRUE(AppendRcptCommand(r, ServerCapabilities(), &out));
  EXPECT_EQ(out, "RCPT TO:<b@example.org>\r\n");
  for (const char* notify : {"NEVER,SUCCESS", "", "SUCCESS,", "ALWAYS"}) {
    for (const char* orcpt : {"b@example.org", ";x", "rfc822;a b",
                              "rfc 822;x", "rfc822;a=b"}) {
      r.notify = notify;
      r.orcpt = orcpt;
      out.clear();
      ASSERT_TRUE(AppendRcptCommand(r, AllCaps(), &out));
      EXPECT_EQ(out, "RCPT TO:<b@example.org>\r\n") << notify << orcpt;
    }
  }
  r.notify = "never";
  r.orcpt = "";
  out.clear();
  ASSERT_TRUE(AppendRcptCommand(r, AllCaps(), &out));
  EXPECT_EQ(out, "RCPT TO:<b@example.org> NOTIFY=NEVER\r\n");
  r.address = "";
  EXPECT_FALSE(AppendRcptCommand(r, AllCaps(), &out));
  r.address = "bad\r\n@x";
  EXPECT_FALSE(AppendRcptCommand(r, AllCaps(), &out));
}

}  // namespace
}  // namespace ringmail::smtp
