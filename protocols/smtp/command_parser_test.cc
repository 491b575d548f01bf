#include "protocols/smtp/command_parser.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/address.h"

namespace ringmail::smtp {
namespace {

// LineReader is common/line_reader.h (tested there; the exact limit of
// SMTP command lines in session_test.cc).

TEST(CommandLine, VerbAndArgs) {
  CommandLine c = ParseCommandLine("mail FROM:<a@b>  ");
  ASSERT_NE(c.spec, nullptr);
  EXPECT_EQ(c.spec->verb, Verb::kMail);
  EXPECT_EQ(c.args, "FROM:<a@b>");
  EXPECT_EQ(ParseCommandLine("ETRN example.org").spec, nullptr);
  EXPECT_EQ(ParseCommandLine("starttls").spec->verb, Verb::kStartTls);
  EXPECT_EQ(ParseCommandLine("AUTH PLAIN x").spec->verb, Verb::kAuth);
}

TEST(CommandLine, SplitPathArgsHandlesQuotedGreaterThan) {
  std::string_view path, params;
  ASSERT_TRUE(SplitPathArgs("from: <\"a>b\"@c.d> SIZE=1", "FROM", &path, &params));
  EXPECT_EQ(path, "<\"a>b\"@c.d>");
  EXPECT_EQ(params, "SIZE=1");
  EXPECT_FALSE(SplitPathArgs("FROM:<a@b>x", "FROM", &path, &params));
  EXPECT_FALSE(SplitPathArgs("TO:<a@b>", "FROM", &path, &params));
}

TEST(CommandLine, MailParamsAndBdat) {
  MailParams p;
  std::string_view bad;
  EXPECT_EQ(ParseMailParams("SIZE=123 body=8bitmime SMTPUTF8", &p, &bad),
            ParamError::kOk);
  EXPECT_TRUE(p.has_size);
  EXPECT_EQ(p.size, 123u);
  EXPECT_EQ(p.body, BodyType::k8BitMime);
  EXPECT_TRUE(p.smtputf8);
  EXPECT_EQ(ParseMailParams("BODY=BINARYMIME", &p, &bad), ParamError::kUnsupported);
  EXPECT_EQ(ParseMailParams("SIZE=99999999999999999999", &p, &bad),
            ParamError::kSyntax);
  uint64_t n;
  bool last;
  EXPECT_TRUE(ParseBdatArgs("100 last", &n, &last));
  EXPECT_EQ(n, 100u);
  EXPECT_TRUE(last);
  EXPECT_FALSE(ParseBdatArgs("100 FIRST", &n, &last));
  EXPECT_FALSE(ParseBdatArgs("-1", &n, &last));
}

TEST(CommandLine, DsnMailParams) {
  MailParams p;
  std::string_view bad;
  ASSERT_EQ(ParseMailParams("RET=full ENVID=a+2Bb", &p, &bad), ParamError::kOk);
  EXPECT_EQ(p.ret, DsnRet::kFull);
  EXPECT_EQ(p.envid, "a+2Bb");
  ASSERT_EQ(ParseMailParams("Ret=Hdrs", &p, &bad), ParamError::kOk);
  EXPECT_EQ(p.ret, DsnRet::kHdrs);
  EXPECT_EQ(p.envid, "");
  // The ENVID limit is on the decoded form: 100 "+41" are 300 octets.
  std::string envid;
  for (int i = 0; i < 100; ++i) envid += "+41";
  const std::string ok = "ENVID=" + envid;
  const std::string too_long = ok + "B";
  EXPECT_EQ(ParseMailParams(ok, &p, &bad), ParamError::kOk);
  EXPECT_EQ(ParseMailParams(too_long, &p, &bad), ParamError::kSyntax);
  EXPECT_EQ(bad, too_long);
  EXPECT_EQ(ParseMailParams("ENVID=a+7Fb", &p, &bad), ParamError::kSyntax);
  EXPECT_EQ(ParseMailParams("ENVID=a+20b", &p, &bad), ParamError::kOk);
  EXPECT_EQ(ParseMailParams("RET=HDRS SIZE=1 RET=FULL", &p, &bad),
            ParamError::kSyntax);
  EXPECT_EQ(bad, "RET=FULL");
}

TEST(CommandLine, DsnRcptParams) {
  RcptParams r;
  std::string_view bad;
  ASSERT_EQ(ParseRcptParams("", false, &r, &bad), ParamError::kOk);
  EXPECT_EQ(r.notify, 0);
  EXPECT_EQ(NotifyText(r.notify), "");
  ASSERT_EQ(ParseRcptParams("NOTIFY=delay,success ORCPT=x-unknown;+00", false,
                            &r, &bad),
            ParamError::kOk);
  EXPECT_EQ(NotifyText(r.notify), "SUCCESS,DELAY");
  EXPECT_EQ(r.orcpt, "x-unknown;+00");
  ASSERT_EQ(ParseRcptParams("NOTIFY=Never", false, &r, &bad), ParamError::kOk);
  EXPECT_EQ(NotifyText(r.notify), "NEVER");
  EXPECT_EQ(ParseRcptParams("NOTIFY=NEVER,NEVER", false, &r, &bad),
            ParamError::kSyntax);
  EXPECT_EQ(ParseRcptParams("NOTIFY=,SUCCESS", false, &r, &bad),
            ParamError::kSyntax);
  // RFC 3461 §4.2: the ORCPT value is at most 500 characters.
  const std::string orcpt500 = "rfc822;" + std::string(493, 'a');
  EXPECT_EQ(ParseRcptParams("ORCPT=" + orcpt500, false, &r, &bad),
            ParamError::kOk);
  EXPECT_EQ(ParseRcptParams("ORCPT=" + orcpt500 + "a", false, &r, &bad),
            ParamError::kSyntax);
  // Raw UTF-8 only for the utf-8 type and only with SMTPUTF8; its 7-bit
  // form (RFC 6533 embedded \x{...}) is plain xtext and always fine.
  EXPECT_EQ(ParseRcptParams("ORCPT=utf-8;\xC3\xA9@x", true, &r, &bad),
            ParamError::kOk);
  EXPECT_EQ(ParseRcptParams("ORCPT=UTF-8;\xC3\xA9@x", true, &r, &bad),
            ParamError::kOk);
  EXPECT_EQ(ParseRcptParams("ORCPT=utf-8;\xC3\xA9@x", false, &r, &bad),
            ParamError::kSyntax);
  EXPECT_EQ(ParseRcptParams("ORCPT=rfc822;\xC3\xA9@x", true, &r, &bad),
            ParamError::kSyntax);
  EXPECT_EQ(ParseRcptParams("ORCPT=utf-8;\\x{E9}@x", false, &r, &bad),
            ParamError::kOk);
  EXPECT_EQ(ParseRcptParams("ORCPT=utf\r8;\xC3\xA9@x", true, &r, &bad),
            ParamError::kSyntax);
  EXPECT_EQ(ParseRcptParams("SIZE=1", false, &r, &bad),
            ParamError::kUnsupported);
  EXPECT_EQ(bad, "SIZE=1");
}

AddressError Parse(std::string_view s, PathKind k = PathKind::kForwardPath,
                   bool utf8 = false, EnvelopeAddress* a = nullptr) {
  EnvelopeAddress tmp;
  return ParsePath(s, k, utf8, a ? a : &tmp);
}

TEST(Address, Valid) {
  EnvelopeAddress a;
  ASSERT_EQ(Parse("<\"a.b\"@Example.COM>", PathKind::kForwardPath, false, &a),
            AddressError::kOk);
  EXPECT_EQ(a.local(), "a.b");
  EXPECT_EQ(a.domain_lower(), "example.com");
  ASSERT_EQ(Parse("<\"a\\\"b c\"@x.y>", PathKind::kForwardPath, false, &a),
            AddressError::kOk);
  EXPECT_EQ(a.local(), "a\"b c");
  EXPECT_EQ(a.local_wire, "\"a\\\"b c\"");
  EXPECT_EQ(Parse("<first.last+tag@sub.example.org>"), AddressError::kOk);
  EXPECT_EQ(Parse("<u@[192.0.2.1]>"), AddressError::kOk);
  EXPECT_EQ(Parse("<u@[IPv6:2001:db8::1]>"), AddressError::kOk);
  EXPECT_EQ(Parse("<@a.b,@c.d:u@e.f>"), AddressError::kOk);
  EXPECT_EQ(Parse("<>", PathKind::kReversePath), AddressError::kOk);
  ASSERT_EQ(Parse("<PostMaster>", PathKind::kForwardPath, false, &a),
            AddressError::kOk);
  EXPECT_TRUE(a.postmaster);
  EXPECT_EQ(a.local(), "postmaster");
  for (const char* pm : {"<POSTMASTER>", "<postmaster>", "<pOsTmAsTeR>"}) {
    EnvelopeAddress p;
    ASSERT_EQ(Parse(pm, PathKind::kForwardPath, false, &p), AddressError::kOk) << pm;
    EXPECT_TRUE(p.postmaster) << pm;
    EXPECT_EQ(p.local(), "postmaster") << pm;
    EXPECT_EQ(p.domain_lower(), "") << pm;
  }
  // With a domain it is an ordinary address.
  ASSERT_EQ(Parse("<Postmaster@Example.ORG>", PathKind::kForwardPath, false, &a),
            AddressError::kOk);
  EXPECT_FALSE(a.postmaster);
  EXPECT_EQ(a.local(), "Postmaster");
  EXPECT_EQ(a.domain_lower(), "example.org");
}

TEST(Address, Invalid) {
  EXPECT_EQ(Parse("<>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<postmaster>", PathKind::kReversePath), AddressError::kSyntax);
  // Only "Postmaster" itself may lack a domain.
  EXPECT_EQ(Parse("<postmasters>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<post master>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<postmaster@>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("a@b"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a..b@c>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<.a@c>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a@-c.d>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a@c..d>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a@[300.1.1.1]>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a@[IPv6:1:2:3]>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<\"a\"b@c>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<a b@c>"), AddressError::kSyntax);
  EXPECT_EQ(Parse("<" + std::string(65, 'a') + "@b.c>"), AddressError::kTooLong);
  EXPECT_EQ(Parse("<a@" + std::string(260, 'b') + ">"), AddressError::kTooLong);
  EXPECT_EQ(Parse("<j\xC3\xB6rg@x.y>"), AddressError::kUtf8NotAllowed);
  EXPECT_EQ(Parse("<j\xC3\xB6rg@x.y>", PathKind::kForwardPath, true),
            AddressError::kOk);
  EXPECT_EQ(Parse("<j\xC3@x.y>", PathKind::kForwardPath, true),
            AddressError::kBadUtf8);
  EXPECT_EQ(Parse("<\xED\xA0\x80@x.y>", PathKind::kForwardPath, true),
            AddressError::kBadUtf8);  // surrogate
}

}  // namespace
}  // namespace ringmail::smtp
