// Streamed RETR / TOP: the host feeds the stored message in chunks
// (RetrieveStarted, RetrieveData..., RetrieveEnd), as the server does.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocols/pop3/message_encoder.h"
#include "protocols/pop3/session.h"
#include "protocols/pop3/session_test_util.h"

namespace ringmail::pop3 {
namespace {

using testing_util::FakeHost;
using testing_util::RunTranscript;

constexpr size_t kInputSteps[] = {1, 1 << 20};
constexpr size_t kChunks[] = {1, 2, 3, 7, 64, 1 << 20};

const char kLogin[] = "USER alice\r\nPASS secret pass\r\n";

// A message whose dots, bare LFs and CRLFs fall on every chunk boundary
// for the chunk sizes above.
std::string TrickyMessage() {
  std::string m = "Subject: tricky\r\nX: y\n\n";
  for (int i = 0; i < 40; ++i) {
    m += ".";
    m += std::string(i % 5, '.');
    m += std::string(i % 7, 'x');
    m += (i % 3 == 0) ? "\r\n" : "\n";
    if (i % 4 == 0) m += "\n";
  }
  m += "..last line without LF";
  return m;
}

// Runs `in` with every input step and chunk size; all must give the same
// output, which is returned.
std::string RunAll(std::string_view in, FakeHost base, FakeHost* last = nullptr) {
  std::string first;
  bool have = false;
  for (size_t step : kInputSteps) {
    for (size_t chunk : kChunks) {
      FakeHost h = base;
      h.chunk = chunk;
      testing_util::RunResult r = RunTranscript(in, step, &h);
      if (!have) {
        first = r.out;
        have = true;
      } else {
        EXPECT_EQ(r.out, first) << "step " << step << " chunk " << chunk;
      }
      if (last != nullptr) *last = h;
    }
  }
  return first;
}

TEST(SessionStream, RetrMatchesWholeEncoding) {
  FakeHost h;
  h.messages = {TrickyMessage()};
  const std::string out = RunAll(std::string(kLogin) + "RETR 1\r\nQUIT\r\n", h);
  const std::string body = EncodeMessageReference(TrickyMessage(), false, 0);
  EXPECT_EQ(out, "+OK ringmail ready.\r\n+OK\r\n+OK Logged in.\r\n+OK " +
                     std::to_string(FakeHost::CrlfSize(TrickyMessage())) +
                     " octets\r\n" + body + "+OK Logging out.\r\n");
}

TEST(SessionStream, TopAcrossChunksStopsReading) {
  FakeHost h;
  h.messages = {TrickyMessage()};
  FakeHost last;
  const std::string out =
      RunAll(std::string(kLogin) + "TOP 1 3\r\nTOP 1 0\r\n", h, &last);
  EXPECT_EQ(out, "+OK ringmail ready.\r\n+OK\r\n+OK Logged in.\r\n+OK\r\n" +
                     EncodeMessageReference(TrickyMessage(), true, 3) + "+OK\r\n" +
                     EncodeMessageReference(TrickyMessage(), true, 0));
  // The last run fed whole chunks (1 MiB): all of it. A 1-octet run stops
  // right after the last line TOP needs.
  FakeHost one = h;
  one.chunk = 1;
  RunTranscript(std::string(kLogin) + "TOP 1 0\r\n", 1 << 20, &one);
  ASSERT_EQ(one.fed.size(), 1u);
  EXPECT_EQ(one.fed[0], TrickyMessage().find("\n\n") + 2);
  EXPECT_TRUE(one.seen.empty());
}

TEST(SessionStream, PipelinedCommandsWaitForTheWholeResponse) {
  // A host that answers later, chunk by chunk, under the test's control.
  class ManualHost : public SessionHost {
   public:
    void Login(std::string_view, std::string) override {}
    void Retrieve(size_t index, bool retr) override {
      requested = static_cast<int>(index);
      retr_ = retr;
    }
    void Update(std::vector<size_t>) override {}
    int requested = -1;
    bool retr_ = false;
  };
  ManualHost host;
  Session s(SessionLimits(), &host);
  std::string out;
  s.ResumeLogin(SessionCarry{});
  s.LoginDone(LoginResult::kOk, {{12, "u1"}, {5, "u2"}}, &out);
  out.clear();
  std::string in = "RETR 1\r\nLIST\r\nRETR 2\r\n";
  in.erase(0, s.Consume(in, &out));
  EXPECT_EQ(in, "LIST\r\nRETR 2\r\n");
  EXPECT_EQ(host.requested, 0);
  EXPECT_TRUE(host.retr_);
  s.RetrieveStarted(RetrieveStatus::kOk, &out);
  EXPECT_TRUE(s.streaming());
  EXPECT_EQ(out, "+OK 12 octets\r\n");
  EXPECT_TRUE(s.RetrieveData(".a\nb", &out));
  EXPECT_EQ(s.Consume(in, &out), 0u);  // mid-response: nothing parsed
  EXPECT_TRUE(s.RetrieveData("\n.", &out));
  s.OnShutdown(&out);  // deferred until the response is complete
  EXPECT_TRUE(s.RetrieveData(".\n", &out));
  EXPECT_EQ(s.Consume(in, &out), 0u);
  s.RetrieveEnd(&out);
  EXPECT_FALSE(s.streaming());
  EXPECT_EQ(out,
            "+OK 12 octets\r\n..a\r\nb\r\n...\r\n.\r\n"
            "-ERR [SYS/TEMP] Server shutting down.\r\n");
  EXPECT_TRUE(s.closed());
}

TEST(SessionStream, PipelinedCommandsRunAfterTheResponse) {
  FakeHost h;
  h.messages = {TrickyMessage(), "a\n.\n"};
  const std::string out =
      RunAll(std::string(kLogin) + "RETR 2\r\nLIST 2\r\nTOP 2 0\r\nRETR 1\r\nNOOP\r\n", h);
  EXPECT_EQ(out, "+OK ringmail ready.\r\n+OK\r\n+OK Logged in.\r\n"
                 "+OK 6 octets\r\na\r\n..\r\n.\r\n"
                 "+OK 2 6\r\n"
                 "+OK\r\na\r\n..\r\n.\r\n"
                 "+OK " + std::to_string(FakeHost::CrlfSize(TrickyMessage())) +
                     " octets\r\n" + EncodeMessageReference(TrickyMessage(), false, 0) +
                     "+OK\r\n");
}

// A host that never answers by itself: the test feeds the session.
class SilentHost : public SessionHost {
 public:
  void Login(std::string_view, std::string) override {}
  void Retrieve(size_t, bool) override {}
  void Update(std::vector<size_t>) override {}
};

// A logged-in session with one 3-octet message; `out` is left empty.
void LogIn(Session* s, std::string* out) {
  s->ResumeLogin(SessionCarry{});
  s->LoginDone(LoginResult::kOk, {{3, "u1"}}, out);
  out->clear();
}

TEST(SessionStream, FailureAfterTheStatusLineClosesSilently) {
  SilentHost host;
  Session s(SessionLimits(), &host);
  std::string out;
  LogIn(&s, &out);
  EXPECT_EQ(s.Consume("RETR 1\r\nNOOP\r\n", &out), 8u);
  s.RetrieveStarted(RetrieveStatus::kOk, &out);
  s.RetrieveData("a", &out);
  s.RetrieveAborted();
  EXPECT_TRUE(s.closed());
  EXPECT_EQ(out, "+OK 3 octets\r\na");
  // Idle timeout while streaming: no -ERR inside the response either.
  Session t(SessionLimits(), &host);
  std::string out2;
  LogIn(&t, &out2);
  t.Consume("TOP 1 1\r\n", &out2);
  t.RetrieveStarted(RetrieveStatus::kOk, &out2);
  t.OnIdleTimeout(&out2);
  EXPECT_TRUE(t.closed());
  EXPECT_EQ(out2, "+OK\r\n");
}

TEST(SessionStream, VanishedAndFailedOpen) {
  SilentHost host;
  Session u(SessionLimits(), &host);
  std::string out;
  LogIn(&u, &out);
  u.Consume("RETR 1\r\n", &out);
  u.RetrieveStarted(RetrieveStatus::kVanished, &out);
  EXPECT_FALSE(u.waiting());
  EXPECT_FALSE(u.RetrieveData("x", &out));  // ignored: not streaming
  u.RetrieveEnd(&out);                      // ignored
  u.Consume("TOP 1 0\r\n", &out);
  u.RetrieveStarted(RetrieveStatus::kFailed, &out);
  EXPECT_FALSE(u.waiting());
  EXPECT_EQ(out,
            "-ERR Message was deleted by another session.\r\n"
            "-ERR [SYS/TEMP] Couldn't read the message.\r\n");
}

}  // namespace
}  // namespace ringmail::pop3
