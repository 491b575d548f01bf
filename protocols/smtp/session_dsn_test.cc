// DSN parameters (RFC 3461) in the server session: the EHLO/LHLO keyword,
// RET/ENVID on MAIL, NOTIFY/ORCPT on RCPT, what reaches the host. Every
// transcript is fed whole and one byte at a time.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/session_test_util.h"

namespace ringmail::smtp {
namespace {

using testing_util::FakeHost;
using testing_util::RunResult;
using testing_util::RunTranscript;
using testing_util::TestConfig;

// Replies after the greeting and the EHLO/LHLO reply; whole-input host
// state in *host.
std::string RunDsn(std::string_view in, FakeHost* host,
                SessionConfig config = TestConfig()) {
  FakeHost whole_host, byte_host;
  whole_host.verdicts = byte_host.verdicts = host->verdicts;
  const RunResult whole = RunTranscript(in, in.size() + 1, &whole_host, config);
  const RunResult bytes = RunTranscript(in, 1, &byte_host, config);
  EXPECT_EQ(whole.out, bytes.out);
  EXPECT_EQ(whole_host.messages, byte_host.messages);
  EXPECT_EQ(whole_host.rcpt_dsn, byte_host.rcpt_dsn);
  EXPECT_EQ(whole_host.rcpts.size(), whole_host.rcpt_dsn.size());
  *host = whole_host;
  const size_t hello_end = whole.out.find("250 CHUNKING\r\n");
  return hello_end == std::string::npos ? whole.out
                                        : whole.out.substr(hello_end + 14);
}

TEST(SessionDsn, EhloAndLhloAdvertiseDsnHeloDoesNot) {
  FakeHost host;
  RunResult r = RunTranscript("EHLO c\r\n", 100, &host, TestConfig());
  EXPECT_NE(r.out.find("\r\n250-DSN\r\n"), std::string::npos) << r.out;
  SessionConfig lmtp = TestConfig();
  lmtp.lmtp = true;
  r = RunTranscript("LHLO c\r\n", 100, &host, lmtp);
  EXPECT_NE(r.out.find("\r\n250-DSN\r\n"), std::string::npos) << r.out;
  r = RunTranscript("HELO c\r\n", 100, &host, TestConfig());
  EXPECT_EQ(r.out.find("DSN"), std::string::npos);
  // After HELO no extension was offered: RCPT parameters are unknown.
  r = RunTranscript("HELO c\r\nMAIL FROM:<a@b.c>\r\n"
                    "RCPT TO:<d@e.f> NOTIFY=NEVER\r\n"
                    "MAIL FROM:<a@b.c> RET=FULL\r\n",
                    100, &host, TestConfig());
  EXPECT_NE(r.out.find("555 5.5.4 Unsupported option: NOTIFY=NEVER\r\n"),
            std::string::npos);
}

TEST(SessionDsn, PipelinedParametersReachTheHost) {
  FakeHost host;
  host.verdicts["nobody"] = RecipientVerdict::kUnknownUser;
  const std::string out = RunDsn(
      "EHLO c\r\n"
      "MAIL FROM:<a@b.c> ret=hdrs SIZE=10 ENVID=QQ+2B314\r\n"
      "RCPT TO:<x@example.org> NOTIFY=success,Delay ORCPT=rfc822;X+40example.org\r\n"
      "RCPT TO:<nobody@example.org> NOTIFY=FAILURE\r\n"
      "RCPT TO:<y@example.org>\r\n"
      "RCPT TO:<z@example.org> ORCPT=rfc822;z@example.org NOTIFY=NEVER\r\n"
      "RCPT TO:<w@example.org> NOTIFY=DELAY,FAILURE,SUCCESS,FAILURE\r\n"
      "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n",
      &host);
  EXPECT_EQ(out,
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
            "User unknown\r\n"
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
            "354 End data with <CR><LF>.<CR><LF>\r\n"
            "250 2.0.0 Ok: queued as ABC00001\r\n");
  ASSERT_EQ(host.messages.size(), 1u);
  EXPECT_EQ(host.dsn_ret, "HDRS");
  EXPECT_EQ(host.dsn_envid, "QQ+2B314");  // xtext, as received
  EXPECT_EQ(host.rcpts, (std::vector<std::string>{
                            "x@example.org", "y@example.org", "z@example.org",
                            "w@example.org"}));
  EXPECT_EQ(host.rcpt_dsn, (std::vector<std::string>{
                               "SUCCESS,DELAY|rfc822;X+40example.org", "|",
                               "NEVER|rfc822;z@example.org",
                               "SUCCESS,FAILURE,DELAY|"}));
}

TEST(SessionDsn, ParametersAreResetWithTheTransaction) {
  FakeHost host;
  // RSET drops the first transaction; the next message has no DSN params.
  RunDsn("EHLO c\r\nMAIL FROM:<a@b.c> RET=FULL ENVID=1\r\n"
      "RCPT TO:<x@e.f> NOTIFY=NEVER\r\nRSET\r\n"
      "MAIL FROM:<a@b.c>\r\nRCPT TO:<y@e.f>\r\nDATA\r\nx\r\n.\r\n",
      &host);
  ASSERT_EQ(host.messages.size(), 1u);
  EXPECT_EQ(host.dsn_ret, "");
  EXPECT_EQ(host.dsn_envid, "");
  EXPECT_EQ(host.rcpt_dsn, std::vector<std::string>{"|"});
  // A finished message resets them too (second message, BDAT this time).
  RunDsn("EHLO c\r\nMAIL FROM:<a@b.c> RET=FULL ENVID=1\r\n"
      "RCPT TO:<x@e.f> NOTIFY=NEVER\r\nDATA\r\nx\r\n.\r\n"
      "MAIL FROM:<a@b.c>\r\nRCPT TO:<y@e.f>\r\nBDAT 2 LAST\r\nx\n",
      &host);
  EXPECT_EQ(host.dsn_ret, "");
  EXPECT_EQ(host.rcpt_dsn, std::vector<std::string>{"|"});
}

TEST(SessionDsn, BadMailParameters) {
  FakeHost host;
  const std::string envid100(100, 'e');
  const std::string out = RunDsn(
      "EHLO c\r\n"
      "MAIL FROM:<a@b.c> RET=FOO\r\n"
      "MAIL FROM:<a@b.c> RET\r\n"
      "MAIL FROM:<a@b.c> RET=FULL RET=FULL\r\n"
      "MAIL FROM:<a@b.c> ENVID=a=b\r\n"
      "MAIL FROM:<a@b.c> ENVID=+4\r\n"
      "MAIL FROM:<a@b.c> ENVID=+0A\r\n"
      "MAIL FROM:<a@b.c> ENVID=\r\n"
      "MAIL FROM:<a@b.c> ENVID=x ENVID=y\r\n"
      "MAIL FROM:<a@b.c> ENVID=" + envid100 + "x\r\n"
      "MAIL FROM:<a@b.c> ENVID=" + envid100 + "\r\n",
      &host);
  EXPECT_EQ(out,
            "501 5.5.4 Bad parameter syntax: RET=FOO\r\n"
            "501 5.5.4 Bad parameter syntax: RET\r\n"
            "501 5.5.4 Bad parameter syntax: RET=FULL\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=a=b\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=+4\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=+0A\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=y\r\n"
            "501 5.5.4 Bad parameter syntax: ENVID=" + envid100 + "x\r\n"
            "250 2.1.0 Ok\r\n");
}

TEST(SessionDsn, BadRcptParameters) {
  FakeHost host;
  const std::string out = RunDsn(
      "EHLO c\r\nMAIL FROM:<a@b.c>\r\n"
      "RCPT TO:<x@e.f> NOTIFY=\r\n"
      "RCPT TO:<x@e.f> NOTIFY\r\n"
      "RCPT TO:<x@e.f> NOTIFY=NEVER,SUCCESS\r\n"
      "RCPT TO:<x@e.f> NOTIFY=SUCCESS,NEVER\r\n"
      "RCPT TO:<x@e.f> NOTIFY=SUCCESS,,DELAY\r\n"
      "RCPT TO:<x@e.f> NOTIFY=DELAY,\r\n"
      "RCPT TO:<x@e.f> NOTIFY=SOMETIMES\r\n"
      "RCPT TO:<x@e.f> NOTIFY=DELAY NOTIFY=DELAY\r\n"
      "RCPT TO:<x@e.f> ORCPT=rfc822\r\n"
      "RCPT TO:<x@e.f> ORCPT=;x@e.f\r\n"
      "RCPT TO:<x@e.f> ORCPT=rfc822;\r\n"
      "RCPT TO:<x@e.f> ORCPT=rfc(822);x@e.f\r\n"
      "RCPT TO:<x@e.f> ORCPT=rfc822;x=y\r\n"
      "RCPT TO:<x@e.f> ORCPT=rfc822;x@e.f ORCPT=rfc822;x@e.f\r\n"
      "RCPT TO:<x@e.f> ORCPT=utf-8;j\xC3\xB6rg@e.f\r\n"  // needs SMTPUTF8
      "RCPT TO:<x@e.f> XFOO=1\r\n"
      "RCPT TO:<x@e.f> notify=never orcpt=RFC822;x@e.f\r\n",
      &host);
  EXPECT_EQ(out,
            "250 2.1.0 Ok\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=NEVER,SUCCESS\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=SUCCESS,NEVER\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=SUCCESS,,DELAY\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=DELAY,\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=SOMETIMES\r\n"
            "501 5.5.4 Bad parameter syntax: NOTIFY=DELAY\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=rfc822\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=;x@e.f\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=rfc822;\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=rfc(822);x@e.f\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=rfc822;x=y\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=rfc822;x@e.f\r\n"
            "501 5.5.4 Bad parameter syntax: ORCPT=utf-8;j\xC3\xB6rg@e.f\r\n"
            "555 5.5.4 Unsupported option: XFOO=1\r\n"
            "250 2.1.5 Ok\r\n");
}

TEST(SessionDsn, Utf8OrcptWithSmtputf8AndLmtp) {
  FakeHost host;
  RunDsn("EHLO c\r\nMAIL FROM:<a@b.c> SMTPUTF8\r\n"
      "RCPT TO:<j\xC3\xB6rg@e.f> ORCPT=utf-8;j\xC3\xB6rg@e.f\r\n"
      "DATA\r\nx\r\n.\r\n",
      &host);
  EXPECT_EQ(host.rcpt_dsn,
            std::vector<std::string>{"|utf-8;j\xC3\xB6rg@e.f"});

  SessionConfig lmtp = TestConfig();
  lmtp.lmtp = true;
  const std::string out =
      RunDsn("LHLO c\r\nMAIL FROM:<a@b.c> RET=FULL\r\n"
          "RCPT TO:<x@e.f> NOTIFY=FAILURE ORCPT=rfc822;x@e.f\r\n"
          "DATA\r\nx\r\n.\r\n",
          &host, lmtp);
  EXPECT_EQ(out, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                 "354 End data with <CR><LF>.<CR><LF>\r\n"
                 "250 2.0.0 <x@e.f> Ok\r\n");
  EXPECT_EQ(host.dsn_ret, "FULL");
  EXPECT_EQ(host.rcpt_dsn, std::vector<std::string>{"FAILURE|rfc822;x@e.f"});
}

}  // namespace
}  // namespace ringmail::smtp
