#include "protocols/pop3/session.h"

#include <gtest/gtest.h>

#include "protocols/pop3/session_test_util.h"

namespace ringmail::pop3 {
namespace {

using testing_util::FakeHost;
using testing_util::RunTranscript;

constexpr size_t kSteps[] = {1, 2, 5, 1 << 20};

FakeHost HostWithMail() {
  FakeHost h;
  h.messages = {"Subject: one\n\nhello\n.dot line\n", "Subject: two\n\nbody\nmore\n"};
  return h;
}

// Every transcript is run whole and one byte at a time, and must give the
// same responses.
std::string RunBoth(std::string_view in, FakeHost* host, bool* closed = nullptr) {
  std::string first;
  for (size_t step : kSteps) {
    FakeHost h = *host;
    testing_util::RunResult r = RunTranscript(in, step, &h);
    if (step == kSteps[0]) {
      first = r.out;
      if (closed != nullptr) *closed = r.closed;
      *host = h;
    } else {
      EXPECT_EQ(r.out, first) << "step " << step;
    }
  }
  return first;
}

TEST(Session, UserPassStatListRetrQuit) {
  FakeHost h = HostWithMail();
  bool closed = false;
  std::string out = RunBoth(
      "USER alice\r\nPASS secret pass\r\nSTAT\r\nLIST\r\nLIST 2\r\nRETR 1\r\n"
      "UIDL\r\nUIDL 1\r\nNOOP\r\nQUIT\r\n",
      &h, &closed);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n"
            "+OK\r\n"
            "+OK Logged in.\r\n"
            "+OK 2 62\r\n"
            "+OK 2 messages:\r\n1 34\r\n2 28\r\n.\r\n"
            "+OK 2 28\r\n"
            "+OK 34 octets\r\nSubject: one\r\n\r\nhello\r\n..dot line\r\n.\r\n"
            "+OK\r\n1 uid1\r\n2 uid2\r\n.\r\n"
            "+OK 1 uid1\r\n"
            "+OK\r\n"
            "+OK Logging out.\r\n");
  EXPECT_TRUE(closed);
  EXPECT_EQ(h.logins, std::vector<std::string>{"alice:secret pass"});
  EXPECT_EQ(h.seen, std::vector<size_t>{0});
  EXPECT_TRUE(h.updated.empty());
}

TEST(Session, TopDoesNotMarkSeen) {
  FakeHost h = HostWithMail();
  std::string out = RunBoth("USER alice\r\nPASS secret pass\r\nTOP 2 0\r\nTOP 2 1\r\n", &h);
  EXPECT_NE(out.find("+OK\r\nSubject: two\r\n\r\n.\r\n+OK\r\nSubject: two\r\n\r\nbody\r\n.\r\n"),
            std::string::npos)
      << out;
  EXPECT_TRUE(h.seen.empty());
}

TEST(Session, DeleRsetAndUpdate) {
  FakeHost h = HostWithMail();
  std::string out = RunBoth(
      "USER alice\r\nPASS secret pass\r\nDELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\n"
      "LIST\r\nRSET\r\nSTAT\r\nDELE 2\r\nQUIT\r\n",
      &h);
  EXPECT_NE(out.find("+OK Marked to be deleted.\r\n-ERR Message is deleted.\r\n"
                     "-ERR Message is deleted.\r\n+OK 1 28\r\n"
                     "+OK 1 messages:\r\n2 28\r\n.\r\n+OK\r\n+OK 2 62\r\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(h.updated, std::vector<size_t>{1});
  EXPECT_NE(out.find("+OK Logging out, messages deleted.\r\n"), std::string::npos);
}

TEST(Session, DroppedConnectionDeletesNothing) {
  FakeHost h = HostWithMail();
  bool closed = true;
  RunBoth("USER alice\r\nPASS secret pass\r\nDELE 1\r\n", &h, &closed);
  EXPECT_FALSE(closed);
  EXPECT_TRUE(h.updated.empty());
}

TEST(Session, StateAndArgumentErrors) {
  FakeHost h = HostWithMail();
  std::string out = RunBoth(
      "STAT\r\nPASS x\r\nXYZZY\r\nSTLS\r\nUSER\r\nUSER alice\r\nPASS secret pass\r\n"
      "USER bob\r\nRETR\r\nRETR 0\r\nRETR 3\r\nRETR x\r\n",
      &h);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n"
            "-ERR Not logged in.\r\n"
            "-ERR No username given.\r\n"
            "-ERR Unknown command: XYZZY\r\n"
            "-ERR TLS is not available.\r\n"
            "-ERR Missing argument. Syntax: USER name\r\n"
            "+OK\r\n+OK Logged in.\r\n"
            "-ERR Already logged in.\r\n"
            "-ERR Missing argument. Syntax: RETR msg\r\n"
            "-ERR There's no message 0.\r\n"
            "-ERR There's no message 3.\r\n"
            "-ERR Invalid message number: x\r\n");
  out = RunBoth("USER alice\r\nPASS secret pass\r\nLIST 1 2\r\nTOP 1 -1\r\n", &h);
  EXPECT_EQ(out.substr(out.find("+OK Logged in.\r\n") + 16),
            "-ERR Too many arguments. Syntax: LIST [msg]\r\n"
            "-ERR Invalid number of lines: -1\r\n");
}

TEST(Session, LongLineIsAnErrorAndResyncs) {
  FakeHost h;
  std::string out = RunBoth("USER " + std::string(300, 'a') + "\r\nCAPA\r\n", &h);
  EXPECT_EQ(out.substr(0, out.find("+OK Capability")),
            "+OK ringmail ready.\r\n-ERR Command line too long.\r\n");
}

// RFC 2449 §4: 255 octets including CRLF (a bare LF counts as CRLF); a SASL
// response may be longer (RFC 5034 §4), up to kMaxAuthLine.
TEST(Session, CommandLineLimitIsExactAndAuthResponsesMayBeLonger) {
  FakeHost h;
  const std::string ok = "NOOP " + std::string(248, 'x');  // + CRLF = 255
  const std::string bad = ok + "x";
  const std::string too_long = "-ERR Command line too long.\r\n";
  for (const char* eol : {"\r\n", "\n"}) {
    const std::string out = RunBoth(ok + eol + bad + eol, &h);
    EXPECT_EQ(out.find(too_long), out.size() - too_long.size()) << out;
    EXPECT_EQ(out.find(too_long), out.rfind(too_long));
  }
  const std::string b64(1000, 'A');
  std::string out = RunBoth("AUTH PLAIN\r\n" + b64 + "\r\n", &h);
  EXPECT_EQ(out.find("too long"), std::string::npos) << out;
  out = RunBoth("AUTH PLAIN\r\n" + std::string(kMaxAuthLine, 'A') + "\r\n", &h);
  EXPECT_NE(out.find("-ERR Authentication response too long.\r\n"), std::string::npos)
      << out;
}

TEST(Session, TooManyErrorsClose) {
  FakeHost h;
  bool closed = false;
  std::string in;
  for (int i = 0; i < 20; ++i) in += "BAD\r\n";
  std::string out = RunBoth(in, &h, &closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(out.find("-ERR Too many bad commands.\r\n"), std::string::npos);
}

TEST(Session, CapaPerState) {
  FakeHost h;
  std::string out = RunBoth("CAPA\r\n", &h);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n+OK Capability list follows\r\n"
            "TOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
            "PIPELINING\r\nEXPIRE NEVER\r\nIMPLEMENTATION ringmail\r\n.\r\n");
  out = RunBoth("USER alice\r\nPASS secret pass\r\nCAPA\r\n", &h);
  EXPECT_EQ(out.find("SASL"), std::string::npos);
  EXPECT_NE(out.find("IMPLEMENTATION ringmail"), std::string::npos);
}

TEST(Session, AuthPlain) {
  FakeHost h;
  // "\0alice\0secret pass"
  const std::string cred = "AGFsaWNlAHNlY3JldCBwYXNz";
  std::string out = RunBoth("AUTH\r\nAUTH PLAIN " + cred + "\r\nSTAT\r\n", &h);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n+OK\r\nPLAIN\r\n.\r\n+OK Logged in.\r\n+OK 0 0\r\n");
  out = RunBoth("AUTH PLAIN\r\n" + cred + "\r\n", &h);
  EXPECT_EQ(out, "+OK ringmail ready.\r\n+ \r\n+OK Logged in.\r\n");
  out = RunBoth("AUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!!\r\n", &h);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n+ \r\n-ERR Authentication canceled.\r\n"
            "-ERR Unsupported authentication mechanism.\r\n"
            "-ERR Invalid base64 data or SASL PLAIN message.\r\n");
}

TEST(Session, ThreeAuthFailuresClose) {
  FakeHost h;
  bool closed = false;
  std::string out = RunBoth(
      "USER alice\r\nPASS no\r\nUSER alice\r\nPASS no\r\nUSER alice\r\nPASS no\r\n"
      "USER alice\r\n",
      &h, &closed);
  EXPECT_TRUE(closed);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n"
            "+OK\r\n-ERR [AUTH] Authentication failed.\r\n");
}

TEST(Session, InUse) {
  FakeHost h;
  h.in_use = true;
  std::string out = RunBoth("USER alice\r\nPASS secret pass\r\nSTAT\r\n", &h);
  EXPECT_EQ(out,
            "+OK ringmail ready.\r\n+OK\r\n"
            "-ERR [IN-USE] Mailbox is locked by another POP3 session\r\n"
            "-ERR Not logged in.\r\n");
}

// A host that answers later: input after the waiting command stays
// unconsumed until the answer.
class LateHost : public SessionHost {
 public:
  void Login(std::string_view, std::string) override { ++logins; }
  void Retrieve(size_t, bool) override {}
  void Update(std::vector<size_t>) override {}
  int logins = 0;
};

TEST(Session, WaitsForTheHostAndKeepsPipelinedInput) {
  LateHost host;
  Session s(SessionLimits(), &host);
  std::string out;
  const std::string in = "USER a\r\nPASS b\r\nSTAT\r\n";
  size_t used = s.Consume(in, &out);
  EXPECT_EQ(in.substr(used), "STAT\r\n");
  EXPECT_TRUE(s.waiting());
  EXPECT_EQ(s.Consume("STAT\r\n", &out), 0u);
  s.OnShutdown(&out);  // deferred until the answer
  s.LoginDone(LoginResult::kOk, {}, &out);
  EXPECT_EQ(out, "+OK\r\n+OK Logged in.\r\n-ERR [SYS/TEMP] Server shutting down.\r\n");
  EXPECT_TRUE(s.closed());
}

TEST(Session, ResumedLoginAfterHandOver) {
  LateHost host;
  Session s(SessionLimits(), &host);
  s.ResumeLogin(SessionCarry{2, 2});
  EXPECT_TRUE(s.waiting());
  std::string out;
  s.LoginDone(LoginResult::kBadCredentials, {}, &out);
  EXPECT_TRUE(s.closed());  // the third failure
  EXPECT_EQ(out, "-ERR [AUTH] Authentication failed.\r\n");
}

TEST(Session, IdleTimeoutDeletesNothing) {
  LateHost host;
  Session s(SessionLimits(), &host);
  std::string out;
  s.ResumeLogin(SessionCarry{});
  MaildropEntry e{10, "u"};
  s.LoginDone(LoginResult::kOk, {e}, &out);
  s.Consume("DELE 1\r\n", &out);
  s.OnIdleTimeout(&out);
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(out,
            "+OK Logged in.\r\n+OK Marked to be deleted.\r\n"
            "-ERR Disconnected for inactivity.\r\n");
}

}  // namespace
}  // namespace ringmail::pop3
