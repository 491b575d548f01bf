#include "protocols/smtp/session.h"

#include <string>

#include "gtest/gtest.h"
#include "protocols/smtp/session_test_util.h"

namespace ringmail::smtp {
namespace {

using testing_util::FakeHost;
using testing_util::RunResult;
using testing_util::RunTranscript;
using testing_util::TestConfig;

constexpr char kGreeting[] = "220 mx.example.org ESMTP\r\n";
constexpr char kEhloReply[] =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n"
    "250 CHUNKING\r\n";

// Runs `in` whole and one byte at a time; both must give the same replies and
// the same stored messages. Returns the replies after the greeting and leaves
// the whole-input host state in *host.
std::string Both(std::string_view in, FakeHost* host = nullptr,
                 SessionConfig config = TestConfig(), bool* closed = nullptr) {
  FakeHost whole_host, byte_host;
  if (host != nullptr) {
    whole_host.verdicts = byte_host.verdicts = host->verdicts;
    whole_host.fail_begin = byte_host.fail_begin = host->fail_begin;
  }
  const RunResult whole = RunTranscript(in, in.size() + 1, &whole_host, config);
  const RunResult bytes = RunTranscript(in, 1, &byte_host, config);
  EXPECT_EQ(whole.out, bytes.out);
  EXPECT_EQ(whole.closed, bytes.closed);
  EXPECT_EQ(whole_host.messages, byte_host.messages);
  EXPECT_EQ(whole_host.sizes, byte_host.sizes);
  EXPECT_EQ(whole_host.aborted, byte_host.aborted);
  EXPECT_EQ(whole_host.checked, byte_host.checked);
  EXPECT_EQ(whole.out.substr(0, sizeof kGreeting - 1), kGreeting);
  if (host != nullptr) *host = whole_host;
  if (closed != nullptr) *closed = whole.closed;
  return whole.out.substr(sizeof kGreeting - 1);
}

const std::string kEnvelope =
    "EHLO client.example\r\nMAIL FROM:<a@example.net>\r\n"
    "RCPT TO:<b@example.org>\r\n";
const std::string kEnvelopeReplies =
    std::string(kEhloReply) + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n";

std::string WithSize(std::string replies, std::string_view size) {
  const size_t at = replies.find("52428800");
  return replies.replace(at, 8, size);
}

TEST(Session, EhloAdvertisesExactly) {
  EXPECT_EQ(Both("EHLO x\r\n"), kEhloReply);
  EXPECT_EQ(Both("HELO x\r\n"), "250 mx.example.org\r\n");
}

TEST(Session, PipelinedTransactionWithData) {
  FakeHost host;
  const std::string out = Both(
      kEnvelope + "DATA\r\nSubject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
      &host);
  EXPECT_EQ(out, kEnvelopeReplies +
                     "354 End data with <CR><LF>.<CR><LF>\r\n"
                     "250 2.0.0 Ok: queued as ABC00001\r\n221 2.0.0 Bye\r\n");
  ASSERT_EQ(host.messages.size(), 1u);
  EXPECT_EQ(host.messages[0], "Subject: hi\n\n.dot\nbody\n");
  EXPECT_EQ(host.sizes[0], host.messages[0].size() + 4);
  EXPECT_EQ(host.mail_from, "a@example.net");
  EXPECT_EQ(host.rcpts, std::vector<std::string>{"b@example.org"});
  EXPECT_EQ(host.received,
            "Received: from client.example (unknown [192.0.2.1])\n"
            "\tby mx.example.org with ESMTP id ABC00001\n"
            "\tfor <b@example.org>;\n"
            "\tTue, 14 Nov 2023 22:13:20 +0000\n");
}

TEST(Session, TwoMessagesGetDistinctQueueIds) {
  const std::string msg = "MAIL FROM:<>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nx\r\n.\r\n";
  const std::string out = Both("EHLO c\r\n" + msg + msg);
  EXPECT_NE(out.find("queued as ABC00001"), std::string::npos);
  EXPECT_NE(out.find("queued as ABC00002"), std::string::npos);
}

TEST(Session, SequenceErrors) {
  EXPECT_EQ(Both("MAIL FROM:<a@b.c>\r\n"),
            "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(Both("EHLO c\r\nRCPT TO:<a@b.c>\r\nDATA\r\n"),
            std::string(kEhloReply) +
                "503 5.5.1 Error: need MAIL command\r\n"
                "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Both("HELO c\r\nMAIL FROM:<a@b.c>\r\nMAIL FROM:<a@b.c>\r\nDATA\r\n"),
            "250 mx.example.org\r\n250 2.1.0 Ok\r\n"
            "503 5.5.1 Error: nested MAIL command\r\n"
            "554 5.5.1 Error: no valid recipients\r\n");
}

TEST(Session, UnknownCommandsNulAndOverlongLines) {
  const std::string overlong = "NOOP " + std::string(600, 'x') + "\r\n";
  // STARTTLS and AUTH are known verbs, not offered here (no EHLO, and the
  // default config has neither).
  EXPECT_EQ(Both("STARTTLS\r\nAUTH PLAIN\r\nFOO\r\n" + overlong + "NOOP\r\n" +
                 std::string("NO\0OP\r\n", 7)),
            "502 5.5.1 Error: command not implemented\r\n"
            "502 5.5.1 Error: command not implemented\r\n"
            "502 5.5.2 Error: command not recognized\r\n"
            "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n"
            "500 5.5.2 Error: bad syntax\r\n");
}

TEST(Session, CommandLineLimitIsExact) {
  // 510 octets + CRLF = 512 is fine; one more is too long.
  const std::string ok = "NOOP " + std::string(505, 'x') + "\r\n";
  const std::string bad = "NOOP " + std::string(506, 'x') + "\r\n";
  EXPECT_EQ(Both(ok + bad + "NOOP\n"),
            "250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n"
            "250 2.0.0 Ok\r\n");
  // A bare LF counts as CRLF: it buys no extra octet.
  const std::string ok_lf = "NOOP " + std::string(505, 'x') + "\n";
  const std::string bad_lf = "NOOP " + std::string(506, 'x') + "\n";
  EXPECT_EQ(Both(ok_lf + bad_lf + "NOOP\n"),
            "250 2.0.0 Ok\r\n500 5.5.2 Error: line too long\r\n"
            "250 2.0.0 Ok\r\n");
}

TEST(Session, RecipientVerdictsAndCanonicalForms) {
  FakeHost host;
  host.verdicts["nobody"] = RecipientVerdict::kUnknownUser;
  host.verdicts["relay"] = RecipientVerdict::kRelayDenied;
  host.verdicts["temp"] = RecipientVerdict::kTempFail;
  const std::string out = Both(
      "EHLO c\r\nMAIL FROM:<\"x y\"@Example.NET>\r\n"
      "RCPT TO:<nobody@x.org>\r\nRCPT TO:<relay@y.org>\r\n"
      "RCPT TO:<temp@x.org>\r\nRCPT TO:<\"a.b\"@Example.ORG>\r\n"
      "RCPT TO:<@relay.net:c@x.org>\r\nRCPT TO:<Postmaster>\r\n"
      "DATA\r\n.\r\n",
      &host);
  EXPECT_EQ(out, std::string(kEhloReply) +
                     "250 2.1.0 Ok\r\n"
                     "550 5.1.1 <nobody@x.org>: Recipient address rejected: "
                     "User unknown\r\n"
                     "550 5.7.1 <relay@y.org>: Relay access denied\r\n"
                     "451 4.3.0 <temp@x.org>: Temporary lookup failure\r\n"
                     "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                     "354 End data with <CR><LF>.<CR><LF>\r\n"
                     "250 2.0.0 Ok: queued as ABC00001\r\n");
  EXPECT_EQ(host.mail_from, "x y@example.net");
  EXPECT_EQ(host.rcpts, (std::vector<std::string>{"a.b@example.org",
                                                  "c@x.org", "postmaster"}));
  EXPECT_EQ(host.checked[3], "a.b|example.org");
  EXPECT_EQ(host.checked[5], "postmaster|");
  EXPECT_EQ(host.messages, std::vector<std::string>{""});
}

// RFC 5321 §4.5.1: <Postmaster> without a domain, in any case and with
// parameters, is handed to the host as local part "postmaster" and no
// domain (the host picks the mailbox); anything longer needs a domain.
TEST(Session, BarePostmasterInAnyCase) {
  FakeHost host;
  const std::string out = Both(
      "EHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<POSTMASTER>\r\n"
      "RCPT TO:<postMaster> NOTIFY=FAILURE\r\nRCPT TO:<postmasters>\r\n"
      "RCPT TO:<PostMaster@Example.ORG>\r\nDATA\r\n.\r\n",
      &host);
  EXPECT_EQ(out, std::string(kEhloReply) +
                     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                     "501 5.1.3 Bad recipient address syntax\r\n"
                     "250 2.1.5 Ok\r\n"
                     "354 End data with <CR><LF>.<CR><LF>\r\n"
                     "250 2.0.0 Ok: queued as ABC00001\r\n");
  EXPECT_EQ(host.checked, (std::vector<std::string>{
                              "postmaster|", "postmaster|", "PostMaster|example.org"}));
  EXPECT_EQ(host.rcpts, (std::vector<std::string>{"postmaster", "postmaster",
                                                  "PostMaster@example.org"}));
}

TEST(Session, AddressSyntaxErrors) {
  EXPECT_EQ(Both("EHLO c\r\nMAIL FROM:a@b.c\r\nMAIL FROM:<a@@b>\r\n"
                 "MAIL FROM:<a@b>\r\nRCPT TO:<>\r\nRCPT TO:<a b@c>\r\n"),
            std::string(kEhloReply) +
                "501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
                "501 5.1.7 Bad sender address syntax\r\n250 2.1.0 Ok\r\n"
                "501 5.1.3 Bad recipient address syntax\r\n"
                "501 5.1.3 Bad recipient address syntax\r\n");
}

TEST(Session, MailParameters) {
  EXPECT_EQ(Both("EHLO c\r\nMAIL FROM:<a@b.c> SIZE=52428801\r\n"
                 "MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n"
                 "MAIL FROM:<a@b.c> FOO=1\r\nMAIL FROM:<a@b.c> SIZE=x\r\n"
                 "MAIL FROM:<a@b.c> SIZE=100 BODY=8BITMIME\r\n"
                 "RCPT TO:<d@e.f> XFOO=1\r\n"),
            std::string(kEhloReply) +
                "552 5.3.4 Message size exceeds fixed limit\r\n"
                "555 5.5.4 Unsupported option: BODY=BINARYMIME\r\n"
                "555 5.5.4 Unsupported option: FOO=1\r\n"
                "501 5.5.4 Bad parameter syntax: SIZE=x\r\n250 2.1.0 Ok\r\n"
                "555 5.5.4 Unsupported option: XFOO=1\r\n");
  // After HELO no extensions were offered.
  EXPECT_EQ(Both("HELO c\r\nMAIL FROM:<a@b.c> SMTPUTF8\r\n"),
            "250 mx.example.org\r\n"
            "555 5.5.4 Unsupported option: SMTPUTF8\r\n");
}

TEST(Session, Smtputf8) {
  FakeHost host;
  const std::string out =
      Both("EHLO c\r\nMAIL FROM:<j\xC3\xB6rg@b.c>\r\n"
           "MAIL FROM:<j\xC3\xB6rg@b.c> SMTPUTF8\r\n"
           "RCPT TO:<\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B.\xE4\xB8\xAD\xE5\x9B\xBD>\r\n"
           "RCPT TO:<bad\xC3@x.org>\r\nDATA\r\nx\r\n.\r\n",
           &host);
  EXPECT_EQ(out, std::string(kEhloReply) +
                     "553 5.6.7 Error: SMTPUTF8 is required for a non-ASCII "
                     "address\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
                     "501 5.1.3 Bad recipient address syntax\r\n"
                     "354 End data with <CR><LF>.<CR><LF>\r\n"
                     "250 2.0.0 Ok: queued as ABC00001\r\n");
  EXPECT_TRUE(host.smtputf8);
  EXPECT_NE(host.received.find("with UTF8SMTP"), std::string::npos);
}

TEST(Session, TooManyRecipients) {
  SessionConfig config = TestConfig();
  config.limits.max_recipients = 2;
  EXPECT_EQ(Both("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.y>\r\n"
                 "RCPT TO:<b@x.y>\r\nRCPT TO:<c@x.y>\r\n",
                 nullptr, config),
            std::string(kEhloReply) +
                "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
                "452 4.5.3 Error: too many recipients\r\n");
}

TEST(Session, TooManyErrorsCloses) {
  SessionConfig config = TestConfig();
  config.limits.max_errors = 2;
  bool closed = false;
  EXPECT_EQ(Both("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", nullptr, config, &closed),
            "502 5.5.2 Error: command not recognized\r\n"
            "502 5.5.2 Error: command not recognized\r\n"
            "502 5.5.2 Error: command not recognized\r\n"
            "421 4.7.0 mx.example.org Error: too many errors\r\n");
  EXPECT_TRUE(closed);
}

TEST(Session, OversizeMessageIsReadToEndThenRejected) {
  SessionConfig config = TestConfig();
  config.limits.max_message_size = 10;
  FakeHost host;
  EXPECT_EQ(Both(kEnvelope + "DATA\r\n0123456789abc\r\nmore\r\n.\r\nNOOP\r\n",
                 &host, config),
            WithSize(kEnvelopeReplies, "10") +
                "354 End data with <CR><LF>.<CR><LF>\r\n"
                "552 5.3.4 Error: message file too big\r\n250 2.0.0 Ok\r\n");
  EXPECT_TRUE(host.messages.empty());
  EXPECT_EQ(host.aborted, 1);
}

TEST(Session, SmugglingAttemptStaysInsideTheBodyAndIsRejected) {
  FakeHost host;
  // "\n.\n" must not end the message, so the smuggled MAIL is body text.
  EXPECT_EQ(Both(kEnvelope +
                     "DATA\r\nx\n.\nMAIL FROM:<evil@x.y>\r\nRCPT TO:<v@x.y>\r\n"
                     "DATA\r\nsmuggled\r\n.\r\nNOOP\r\n",
                 &host),
            kEnvelopeReplies +
                "354 End data with <CR><LF>.<CR><LF>\r\n"
                "554 5.6.0 Error: bare <LF> received\r\n250 2.0.0 Ok\r\n");
  EXPECT_TRUE(host.messages.empty());
  EXPECT_EQ(host.aborted, 1);
}

TEST(Session, NulAndLongLinesRejected) {
  EXPECT_EQ(Both(kEnvelope + std::string("DATA\r\na\0b\r\n.\r\n", 14)),
            kEnvelopeReplies + "354 End data with <CR><LF>.<CR><LF>\r\n"
                "554 5.6.0 Error: message content contains NUL characters\r\n");
  EXPECT_EQ(Both(kEnvelope + "DATA\r\n" + std::string(999, 'x') + "\r\n.\r\n"),
            kEnvelopeReplies + "354 End data with <CR><LF>.<CR><LF>\r\n"
                "554 5.6.0 Error: line too long\r\n");
}

TEST(Session, BdatChunks) {
  FakeHost host;
  // The CR ending chunk 1 pairs with the LF starting chunk 2.
  const std::string out =
      Both(kEnvelope + "BDAT 6\r\nab\r\n.\rBDAT 3\r\n\nc\rBDAT 2 LAST\r\n\nd"
                       "QUIT\r\n",
           &host);
  EXPECT_EQ(out, kEnvelopeReplies +
                     "250 2.0.0 6 bytes received\r\n"
                     "250 2.0.0 3 bytes received\r\n"
                     "250 2.0.0 Ok: queued as ABC00001\r\n221 2.0.0 Bye\r\n");
  ASSERT_EQ(host.messages.size(), 1u);
  EXPECT_EQ(host.messages[0], "ab\n.\nc\nd");
  EXPECT_EQ(host.sizes[0], 11u);
}

TEST(Session, BdatZeroLastAndBareCrAtEnd) {
  FakeHost host;
  EXPECT_EQ(Both(kEnvelope + "BDAT 3\r\nab\rBDAT 0 LAST\r\n", &host),
            kEnvelopeReplies + "250 2.0.0 3 bytes received\r\n"
                               "554 5.6.0 Error: bare <CR> received\r\n");
  EXPECT_EQ(host.aborted, 1);
}

TEST(Session, RefusedBdatChunkIsSkippedNotExecuted) {
  EXPECT_EQ(Both("EHLO c\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n"),
            std::string(kEhloReply) +
                "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Both("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.c>\r\n"
                 "BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"),
            "250 mx.example.org\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
            "502 5.5.1 Error: command not implemented\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Both("EHLO c\r\nMAIL FROM:<>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"),
            std::string(kEhloReply) + "250 2.1.0 Ok\r\n"
                "554 5.5.1 Error: no valid recipients\r\n250 2.0.0 Ok\r\n");
  bool closed = false;
  EXPECT_EQ(Both("EHLO c\r\nBDAT x\r\nNOOP\r\n", nullptr, TestConfig(), &closed),
            std::string(kEhloReply) +
                "501 5.5.4 Syntax: BDAT count [LAST]\r\n"
                "421 4.7.0 mx.example.org Error: cannot resynchronise after "
                "bad BDAT\r\n");
  EXPECT_TRUE(closed);
}

TEST(Session, DataAfterBdatAndRsetAbort) {
  FakeHost host;
  EXPECT_EQ(Both(kEnvelope + "BDAT 1\r\nxDATA\r\nRSET\r\n", &host),
            kEnvelopeReplies + "250 2.0.0 1 bytes received\r\n"
                               "503 5.5.1 Error: DATA after BDAT\r\n"
                               "250 2.0.0 Ok\r\n");
  EXPECT_EQ(host.aborted, 1);
  EXPECT_FALSE(host.in_message);
}

TEST(Session, BdatOversize) {
  SessionConfig config = TestConfig();
  config.limits.max_message_size = 4;
  FakeHost host;
  EXPECT_EQ(Both(kEnvelope + "BDAT 6 LAST\r\n123456NOOP\r\n", &host, config),
            WithSize(kEnvelopeReplies, "4") +
                "552 5.3.4 Error: message file too big\r\n"
                               "250 2.0.0 Ok\r\n");
  EXPECT_EQ(host.aborted, 1);
}

TEST(Session, BeginMessageFailure) {
  FakeHost host;
  host.fail_begin = true;
  EXPECT_EQ(Both(kEnvelope + "DATA\r\nNOOP\r\n", &host),
            kEnvelopeReplies + "451 4.3.0 Error: queue file write error\r\n"
                               "250 2.0.0 Ok\r\n");
}

TEST(Session, MiscCommands) {
  bool closed = false;
  EXPECT_EQ(Both("NOOP\r\nHELP\r\nVRFY joe\r\nRSET\r\nrset x\r\nQUIT\r\nNOOP\r\n",
                 nullptr, TestConfig(), &closed),
            "250 2.0.0 Ok\r\n"
            "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT "
            "HELP VRFY\r\n"
            "252 2.5.2 Cannot VRFY user, but will accept message and attempt "
            "delivery\r\n250 2.0.0 Ok\r\n501 5.5.4 Syntax: RSET\r\n"
            "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(closed);
}


TEST(Session, ConsumeStopsWhileWaitingForMessageDone) {
  FakeHost host;
  Session s(TestConfig(), &host, "192.0.2.1", 1,
            [] { return absl::UnixEpoch(); });
  std::string out;
  s.Start(&out);
  const std::string in = kEnvelope + "DATA\r\nhi\r\n.\r\nNOOP\r\n";
  const size_t n = s.Consume(in, &out);
  EXPECT_EQ(in.substr(n), "NOOP\r\n");
  EXPECT_TRUE(s.waiting());
  EXPECT_EQ(s.Consume("NOOP\r\n", &out), 0u);
  s.OnShutdown(&out);
  EXPECT_FALSE(s.closed());
  out.clear();
  s.MessageDone(false, &out);
  EXPECT_EQ(out, "451 4.3.0 Error: queue file write error\r\n"
                 "421 4.3.2 mx.example.org Service shutting down\r\n");
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(s.Consume("NOOP\r\n", &out), 0u);
}

TEST(Session, IdleTimeoutAbortsMessageInProgress) {
  FakeHost host;
  Session s(TestConfig(), &host, "192.0.2.1", 1,
            [] { return absl::UnixEpoch(); });
  std::string out;
  s.Consume(kEnvelope + "DATA\r\npartial", &out);
  EXPECT_TRUE(s.in_data());
  out.clear();
  s.OnIdleTimeout(&out);
  EXPECT_EQ(out, "421 4.4.2 mx.example.org Error: timeout exceeded\r\n");
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(host.aborted, 1);
}

}  // namespace
}  // namespace ringmail::smtp
