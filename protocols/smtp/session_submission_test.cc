// Submission rules (RFC 6409): the sender must be the authenticated user's
// own address (§6.1), and Date/Message-ID are added when missing (§8.1,
// §8.2). Each transcript fed whole and one byte at a time.
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

// The test clock (1700000000) and session id (0xABC) as the session shows
// them.
constexpr char kDate[] = "Date: Tue, 14 Nov 2023 22:13:20 +0000\n";
constexpr char kMessageId[] =
    "Message-ID: <20231114221320.ABC00001@mx.example.org>\n";

SessionConfig SubmissionConfig() {
  SessionConfig c = TestConfig();
  c.auth_available = true;
  c.auth_required = true;
  c.add_missing_headers = true;
  return c;
}

std::string Login() {
  std::string m;
  m.push_back('\0');
  m.append("alice@example.org");
  m.push_back('\0');
  m.append("pw1");
  return "EHLO x\r\nAUTH PLAIN " + EncodeBase64(m) + "\r\n";
}

struct Outcome {
  std::string replies;  // after the greeting, EHLO and AUTH
  FakeHost host;
};

Outcome RunBoth(std::string_view in, SessionConfig config = SubmissionConfig()) {
  FakeHost whole_host, byte_host;
  whole_host.passwords = byte_host.passwords = {{"alice@example.org", "pw1"}};
  RunOptions options;
  options.transport.plaintext_auth_ok = true;
  const RunResult whole =
      RunTranscript(in, in.size() + 1, &whole_host, config, options);
  const RunResult bytes = RunTranscript(in, 1, &byte_host, config, options);
  EXPECT_EQ(whole.out, bytes.out);
  EXPECT_EQ(whole_host.messages, byte_host.messages);
  EXPECT_EQ(whole_host.sizes, byte_host.sizes);
  std::string replies = whole.out;
  const size_t auth = replies.find("235 2.7.0");
  if (auth != std::string::npos) {
    replies.erase(0, replies.find('\n', auth) + 1);
  }
  return {replies, whole_host};
}

// Sends one message with `body` (CRLF form, without the final dot).
std::string Send(std::string_view from, std::string_view body) {
  return Login() + "MAIL FROM:<" + std::string(from) +
         ">\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n" + std::string(body) +
         ".\r\n";
}

constexpr char kAccepted[] =
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    "250 2.0.0 Ok: queued as ABC00001\r\n";

// Wire size of a stored LF body.
uint64_t CrlfSize(const std::string& lf) {
  return lf.size() + std::count(lf.begin(), lf.end(), '\n');
}

TEST(SessionSubmission, SpoofedSenderIsRefused) {
  Outcome o = RunBoth(Login() + "MAIL FROM:<bob@example.org>\r\n"
                                "MAIL FROM:<alice@other.example>\r\n"
                                "MAIL FROM:<Alice@example.org>\r\n");
  EXPECT_EQ(o.replies,
            "553 5.7.1 Sender address rejected: not owned by user "
            "alice@example.org\r\n"
            "553 5.7.1 Sender address rejected: not owned by user "
            "alice@example.org\r\n"
            "553 5.7.1 Sender address rejected: not owned by user "
            "alice@example.org\r\n");
}

TEST(SessionSubmission, OwnAddressAndNullSenderAreAccepted) {
  EXPECT_EQ(RunBoth(Login() + "MAIL FROM:<alice@EXAMPLE.org>\r\nRSET\r\n"
                              "MAIL FROM:<>\r\n")
                .replies,
            "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
}

TEST(SessionSubmission, AllowAnySender) {
  SessionConfig c = SubmissionConfig();
  c.allow_any_sender = true;
  EXPECT_EQ(RunBoth(Login() + "MAIL FROM:<bob@example.org>\r\n", c).replies,
            "250 2.1.0 Ok\r\n");
}

TEST(SessionSubmission, PortTwentyFiveChecksOnlyAuthenticatedSenders) {
  SessionConfig c = TestConfig();
  c.auth_available = true;
  FakeHost host;
  RunOptions options;
  options.transport.plaintext_auth_ok = true;
  const RunResult anon = RunTranscript(
      "EHLO x\r\nMAIL FROM:<bob@example.org>\r\n", 100, &host, c, options);
  EXPECT_NE(anon.out.find("250 2.1.0 Ok"), std::string::npos);
  EXPECT_EQ(RunBoth(Login() + "MAIL FROM:<bob@example.org>\r\n", c).replies,
            "553 5.7.1 Sender address rejected: not owned by user "
            "alice@example.org\r\n");
}

TEST(SessionSubmission, AddsDateAndMessageIdWhenMissing) {
  Outcome o = RunBoth(Send("alice@example.org",
                           "Subject: hi\r\n\r\nbody\r\n"));
  EXPECT_EQ(o.replies, kAccepted);
  ASSERT_EQ(o.host.messages.size(), 1u);
  const std::string want =
      std::string(kDate) + kMessageId + "Subject: hi\n\nbody\n";
  EXPECT_EQ(o.host.messages[0], want);
  EXPECT_EQ(o.host.sizes[0], CrlfSize(want));
}

TEST(SessionSubmission, LeavesPresentFieldsAlone) {
  const std::string header =
      "date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-Id: <x@y>\r\n"
      "Subject: hi\r\n\r\nDate: not a header\r\n";
  Outcome o = RunBoth(Send("alice@example.org", header));
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0],
            "date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-Id: <x@y>\n"
            "Subject: hi\n\nDate: not a header\n");

  o = RunBoth(Send("alice@example.org", "Message-ID: <x@y>\r\n\r\nb\r\n"));
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0], std::string(kDate) + "Message-ID: <x@y>\n\nb\n");
}

TEST(SessionSubmission, HeaderOnlyAndBdatMessages) {
  Outcome o = RunBoth(Send("alice@example.org", "Subject: only\r\n"));
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0],
            std::string(kDate) + kMessageId + "Subject: only\n");

  o = RunBoth(Login() +
              "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
              "BDAT 4\r\nSubjBDAT 11 LAST\r\nect: b\r\n\r\nx");
  ASSERT_EQ(o.host.messages.size(), 1u);
  const std::string want =
      std::string(kDate) + kMessageId + "Subject: b\n\nx";
  EXPECT_EQ(o.host.messages[0], want);
  EXPECT_EQ(o.host.sizes[0], CrlfSize(want));
}

TEST(SessionSubmission, OverlongHeaderIsStoredUnchanged) {
  std::string body;
  while (body.size() < HeaderBlock::kMaxHeaderBlock + 4000) {  // LF form too
    body += "X-Filler: 0123456789012345678901234567890123456789\r\n";
  }
  body += "\r\nbody\r\n";
  FakeHost host;
  host.passwords = {{"alice@example.org", "pw1"}};
  RunOptions options;
  options.transport.plaintext_auth_ok = true;
  const std::string in = Send("alice@example.org", body);
  RunTranscript(in, 1000, &host, SubmissionConfig(), options);
  ASSERT_EQ(host.messages.size(), 1u);
  std::string lf = body;
  for (size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  EXPECT_EQ(host.messages[0], lf);
}

TEST(SessionSubmission, NoHeaderFixesWithoutTheOption) {
  SessionConfig c = SubmissionConfig();
  c.add_missing_headers = false;
  Outcome o = RunBoth(Send("alice@example.org", "Subject: hi\r\n\r\nb\r\n"), c);
  ASSERT_EQ(o.host.messages.size(), 1u);
  EXPECT_EQ(o.host.messages[0], "Subject: hi\n\nb\n");
}

}  // namespace
}  // namespace ringmail::smtp
