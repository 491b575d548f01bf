// STARTTLS and AUTH states of the session, each transcript fed whole and one
// byte at a time.
#include <string>

#include "gtest/gtest.h"
#include "protocols/smtp/sasl.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/session_test_util.h"

namespace ringmail::smtp {
namespace {

using testing_util::FakeHost;
using testing_util::RunOptions;
using testing_util::RunResult;
using testing_util::RunTranscript;
using testing_util::TestConfig;

constexpr char kGreeting[] = "220 mx.example.org ESMTP\r\n";

SessionConfig TlsAuthConfig() {
  SessionConfig c = TestConfig();
  c.starttls_available = true;
  c.auth_available = true;
  return c;
}

std::string Ehlo(bool starttls, bool auth) {
  std::string s =
      "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n";
  if (starttls) s += "250-STARTTLS\r\n";
  if (auth) s += "250-AUTH PLAIN LOGIN\r\n";
  return s +
         "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n"
         "250 CHUNKING\r\n";
}

std::string Plain(std::string_view user, std::string_view pw) {
  std::string m;
  m.push_back('\0');
  m.append(user);
  m.push_back('\0');
  m.append(pw);
  return EncodeBase64(m);
}

struct Outcome {
  std::string replies;  // after the greeting
  bool closed = false;
  FakeHost host;
};

// Runs whole and byte by byte; both must agree.
Outcome RunBoth(std::string_view in, SessionConfig config = TlsAuthConfig(),
            RunOptions options = RunOptions()) {
  FakeHost whole_host, byte_host;
  whole_host.passwords = byte_host.passwords = {{"alice@example.org", "pw1"}};
  const RunResult whole =
      RunTranscript(in, in.size() + 1, &whole_host, config, options);
  const RunResult bytes = RunTranscript(in, 1, &byte_host, config, options);
  EXPECT_EQ(whole.out, bytes.out);
  EXPECT_EQ(whole.closed, bytes.closed);
  EXPECT_EQ(whole_host.auth_requests, byte_host.auth_requests);
  EXPECT_EQ(whole_host.messages, byte_host.messages);
  EXPECT_EQ(whole_host.received, byte_host.received);
  EXPECT_EQ(whole.out.substr(0, sizeof kGreeting - 1), kGreeting);
  return {whole.out.substr(sizeof kGreeting - 1), whole.closed, whole_host};
}

RunOptions Loopback() {
  RunOptions o;
  o.transport.plaintext_auth_ok = true;
  return o;
}

TEST(SessionTls, NothingAdvertisedByDefault) {
  EXPECT_EQ(RunBoth("EHLO x\r\nSTARTTLS\r\nAUTH PLAIN\r\n", TestConfig()).replies,
            Ehlo(false, false) +
                "502 5.5.1 Error: command not implemented\r\n"
                "502 5.5.1 Error: command not implemented\r\n");
}

TEST(SessionTls, OffLoopbackOnlyStartTlsIsAdvertised) {
  Outcome o = RunBoth("EHLO x\r\nAUTH PLAIN " + Plain("alice@example.org", "pw1") +
                  "\r\n");
  EXPECT_EQ(o.replies,
            Ehlo(true, false) +
                "538 5.7.11 Encryption required for requested authentication "
                "mechanism\r\n");
  EXPECT_TRUE(o.host.auth_requests.empty());
}

TEST(SessionTls, StartTlsDiscardsPipelinedPlaintextAndResets) {
  RunOptions opts;
  opts.after_tls = "MAIL FROM:<a@example.net>\r\nEHLO y\r\n";
  // CVE-2011-0411: the RSET sent with STARTTLS must never be answered.
  Outcome o = RunBoth("EHLO x\r\nSTARTTLS\r\nRSET\r\n", TlsAuthConfig(), opts);
  EXPECT_EQ(o.replies, Ehlo(true, false) + "220 2.0.0 Ready to start TLS\r\n" +
                           // RFC 3207 §4.2: EHLO needed again.
                           "503 5.5.1 Error: send HELO/EHLO first\r\n" +
                           Ehlo(false, true));
  EXPECT_EQ(o.host.tls_discarded, std::vector<size_t>{6});
}

TEST(SessionTls, StartTlsRefusedWhenActiveOrInTransaction) {
  RunOptions opts;
  opts.transport.tls = true;
  EXPECT_EQ(RunBoth("EHLO x\r\nSTARTTLS\r\n", TlsAuthConfig(), opts).replies,
            Ehlo(false, true) + "554 5.5.1 Error: TLS already active\r\n");
  EXPECT_EQ(RunBoth("STARTTLS\r\n").replies,
            "502 5.5.1 Error: command not implemented\r\n");  // before EHLO
  EXPECT_EQ(RunBoth("EHLO x\r\nMAIL FROM:<>\r\nSTARTTLS\r\n").replies,
            Ehlo(true, false) +
                "250 2.1.0 Ok\r\n503 5.5.1 Error: bad sequence of commands\r\n");
  EXPECT_EQ(RunBoth("EHLO x\r\nSTARTTLS now\r\n").replies,
            Ehlo(true, false) + "501 5.5.4 Syntax: STARTTLS\r\n");
}

TEST(SessionAuth, PlainWithInitialResponse) {
  Outcome o = RunBoth("EHLO x\r\nAUTH PLAIN " + Plain("alice@example.org", "pw1") +
                      "\r\nAUTH PLAIN " + Plain("alice@example.org", "pw1") +
                      "\r\n",
                  TlsAuthConfig(), Loopback());
  EXPECT_EQ(o.replies, Ehlo(true, true) +
                           "235 2.7.0 Authentication successful\r\n"
                           "503 5.5.1 Error: already authenticated\r\n");
  EXPECT_EQ(o.host.auth_requests,
            std::vector<std::string>{"PLAIN alice@example.org pw1"});
}

TEST(SessionAuth, PlainWithContinuationAndFailure) {
  Outcome o = RunBoth("EHLO x\r\nauth plain\r\n" + Plain("alice@example.org", "bad") +
                      "\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN\r\n!!!!\r\n",
                  TlsAuthConfig(), Loopback());
  EXPECT_EQ(o.replies, Ehlo(true, true) +
                           "334 \r\n535 5.7.8 Error: authentication failed\r\n"
                           "334 \r\n501 5.7.0 Authentication aborted\r\n"
                           "334 \r\n501 5.5.2 Error: cannot decode response\r\n");
}

TEST(SessionAuth, LoginMechanism) {
  Outcome o = RunBoth("EHLO x\r\nAUTH LOGIN\r\n" + EncodeBase64("alice@example.org") +
                      "\r\n" + EncodeBase64("pw1") + "\r\n",
                  TlsAuthConfig(), Loopback());
  EXPECT_EQ(o.replies, Ehlo(true, true) +
                           "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
                           "235 2.7.0 Authentication successful\r\n");
  // With the user as initial response.
  o = RunBoth("EHLO x\r\nAUTH LOGIN " + EncodeBase64("alice@example.org") + "\r\n" +
              EncodeBase64("pw1") + "\r\n",
          TlsAuthConfig(), Loopback());
  EXPECT_EQ(o.replies, Ehlo(true, true) +
                           "334 UGFzc3dvcmQ6\r\n"
                           "235 2.7.0 Authentication successful\r\n");
}

TEST(SessionAuth, RefusalsAndSequencing) {
  EXPECT_EQ(RunBoth("EHLO x\r\nAUTH CRAM-MD5\r\n", TlsAuthConfig(), Loopback()).replies,
            Ehlo(true, true) + "504 5.5.4 Unrecognized authentication type\r\n");
  EXPECT_EQ(RunBoth("EHLO x\r\nMAIL FROM:<>\r\nAUTH PLAIN\r\n", TlsAuthConfig(),
                Loopback())
                .replies,
            Ehlo(true, true) + "250 2.1.0 Ok\r\n"
                               "503 5.5.1 Error: MAIL transaction in progress\r\n");
  // authzid naming someone else is not supported.
  std::string m("bob@example.org\0alice@example.org\0pw1", 37);
  EXPECT_EQ(RunBoth("EHLO x\r\nAUTH PLAIN " + EncodeBase64(m) + "\r\n",
                TlsAuthConfig(), Loopback())
                .replies,
            Ehlo(true, true) + "535 5.7.8 Error: authentication failed\r\n");
}

TEST(SessionAuth, BlockedIpGets421AndClose) {
  FakeHost host;
  host.block_auth = true;
  const RunResult r =
      RunTranscript("EHLO x\r\nAUTH PLAIN " + Plain("a@b", "c") + "\r\nNOOP\r\n",
                    1000, &host, TlsAuthConfig(), Loopback());
  EXPECT_TRUE(r.closed);
  EXPECT_NE(r.out.find("421 4.7.0 mx.example.org Error: too many failed logins"),
            std::string::npos);
  EXPECT_EQ(r.out.find("250 2.0.0 Ok"), std::string::npos);
}

TEST(SessionSubmission, MailNeedsAuthAndReceivedSaysEsmtpsa) {
  SessionConfig c = TlsAuthConfig();
  c.auth_required = true;
  EXPECT_EQ(RunBoth("EHLO x\r\nMAIL FROM:<a@example.org>\r\n", c, Loopback()).replies,
            Ehlo(true, true) + "530 5.7.0 Authentication required\r\n");
  RunOptions opts;
  opts.after_tls = "EHLO y\r\nAUTH PLAIN " + Plain("alice@example.org", "pw1") +
                   "\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<b@example.org>"
                   "\r\nDATA\r\nhi\r\n.\r\n";
  Outcome o = RunBoth("EHLO x\r\nSTARTTLS\r\n", c, opts);
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_NE(o.host.received.find("with ESMTPSA id"), std::string::npos)
      << o.host.received;
}

TEST(SessionSubmission, ReceivedProtocolNames) {
  RunOptions opts;
  opts.transport.tls = true;
  Outcome o = RunBoth("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\n"
                  "DATA\r\nhi\r\n.\r\n",
                  TlsAuthConfig(), opts);
  EXPECT_NE(o.host.received.find("with ESMTPS id"), std::string::npos)
      << o.host.received;
}

}  // namespace
}  // namespace ringmail::smtp
