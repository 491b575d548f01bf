// LMTP mode (RFC 2033): LHLO, per-recipient replies after the data, each
// transcript fed whole and one byte at a time.
#include <string>

#include "gtest/gtest.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/session_test_util.h"

namespace ringmail::smtp {
namespace {

using testing_util::FakeHost;
using testing_util::RunResult;
using testing_util::RunTranscript;
using testing_util::TestConfig;

constexpr char kGreeting[] = "220 mx.example.org LMTP\r\n";
constexpr char kLhlo[] =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n";

SessionConfig LmtpConfig() {
  SessionConfig c = TestConfig();
  c.lmtp = true;
  return c;
}

struct Outcome {
  std::string replies;  // after the greeting
  FakeHost host;
};

Outcome RunBoth(std::string_view in, SessionConfig config = LmtpConfig()) {
  FakeHost whole_host, byte_host;
  whole_host.verdicts = byte_host.verdicts = {
      {"nobody", RecipientVerdict::kUnknownUser}};
  const RunResult whole = RunTranscript(in, in.size() + 1, &whole_host, config);
  const RunResult bytes = RunTranscript(in, 1, &byte_host, config);
  EXPECT_EQ(whole.out, bytes.out);
  EXPECT_EQ(whole_host.messages, byte_host.messages);
  EXPECT_EQ(whole.out.substr(0, sizeof kGreeting - 1), kGreeting);
  return {whole.out.substr(sizeof kGreeting - 1), whole_host};
}

TEST(SessionLmtp, HeloAndEhloAreRefusedLhloWorks) {
  EXPECT_EQ(RunBoth("HELO x\r\nEHLO x\r\nMAIL FROM:<>\r\nLHLO x\r\n").replies,
            std::string("500 5.5.1 Error: this is LMTP, send LHLO\r\n"
                        "500 5.5.1 Error: this is LMTP, send LHLO\r\n"
                        "503 5.5.1 Error: send LHLO first\r\n") +
                kLhlo);
}

TEST(SessionLmtp, LhloIsUnknownInSmtp) {
  FakeHost host;
  const RunResult r = RunTranscript("LHLO x\r\n", 100, &host, TestConfig());
  EXPECT_EQ(r.out, "220 mx.example.org ESMTP\r\n"
                   "502 5.5.2 Error: command not recognized\r\n");
}

TEST(SessionLmtp, OneReplyPerAcceptedRecipientAfterData) {
  Outcome o = RunBoth(
      "LHLO client\r\nMAIL FROM:<s@example.net>\r\n"
      "RCPT TO:<a@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
      "RCPT TO:<B@Example.ORG>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n"
      "QUIT\r\n");
  EXPECT_EQ(o.replies,
            std::string(kLhlo) +
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                "550 5.1.1 <nobody@example.org>: Recipient address rejected: "
                "User unknown\r\n"
                "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
                "250 2.0.0 <a@example.org> Ok\r\n"
                "250 2.0.0 <B@example.org> Ok\r\n221 2.0.0 Bye\r\n");
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0], "Subject: hi\n\nbody\n");
  EXPECT_NE(o.host.received.find(" with LMTP id "), std::string::npos);
}

TEST(SessionLmtp, BdatLastGetsPerRecipientReplies) {
  Outcome o = RunBoth(
      "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n"
      "RCPT TO:<b@example.org>\r\nBDAT 5\r\nab\r\ncBDAT 3 LAST\r\nd\r\n");
  EXPECT_EQ(o.replies, std::string(kLhlo) +
                           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                           "250 2.0.0 5 bytes received\r\n"
                           "250 2.0.0 <a@example.org> Ok\r\n"
                           "250 2.0.0 <b@example.org> Ok\r\n");
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0], "ab\ncd\n");
}

TEST(SessionLmtp, RejectedBodyIsRefusedPerRecipient) {
  SessionConfig c = LmtpConfig();
  c.limits.max_message_size = 10;
  Outcome o = RunBoth(
      "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n"
      "RCPT TO:<b@example.org>\r\nDATA\r\n0123456789abcdef\r\n.\r\n",
      c);
  std::string lhlo = kLhlo;
  lhlo.replace(lhlo.find("52428800"), 8, "10");
  EXPECT_EQ(o.replies, lhlo +
                           "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                           "354 End data with <CR><LF>.<CR><LF>\r\n"
                           "552 5.3.4 <a@example.org> Error: message file "
                           "too big\r\n"
                           "552 5.3.4 <b@example.org> Error: message file "
                           "too big\r\n");
  EXPECT_TRUE(o.host.messages.empty());
}

TEST(SessionLmtp, FailedCommitFailsEveryRecipient) {
  FakeHost host;
  Session s(LmtpConfig(), &host, "127.0.0.1", 7,
            [] { return absl::FromUnixSeconds(1700000000); });
  std::string out;
  s.Start(&out);
  const std::string in =
      "LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n"
      "RCPT TO:<postmaster>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n";
  size_t used = s.Consume(in, &out);
  ASSERT_TRUE(s.waiting());
  out.clear();
  s.MessageDone(false, &out);
  used += s.Consume(std::string_view(in).substr(used), &out);
  EXPECT_EQ(used, in.size());
  EXPECT_EQ(out,
            "451 4.3.0 <a@example.org> Error: queue file write error\r\n"
            "451 4.3.0 <postmaster> Error: queue file write error\r\n"
            "250 2.0.0 Ok\r\n");
}

}  // namespace
}  // namespace ringmail::smtp
