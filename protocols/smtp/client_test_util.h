// Test harness for ClientSession: a host that records every callback as a
// line of text and drives the session like a relay connection would, and a
// dialogue runner that feeds scripted server replies in every chunking
// (whole, byte by byte, random, split in two at every position) and checks
// the client's bytes after each step.
#ifndef RINGMAIL_PROTOCOLS_SMTP_CLIENT_TEST_UTIL_H_
#define RINGMAIL_PROTOCOLS_SMTP_CLIENT_TEST_UTIL_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/client_session.h"

namespace ringmail::smtp::client_testing {

inline constexpr char kGreeting[] = "220 mx.example.org ESMTP\r\n";
inline constexpr char kEhlo[] = "EHLO relay.example.net\r\n";
// Everything but STARTTLS.
inline constexpr char kEhloFull[] =
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n";
inline constexpr char kEhloPlain[] = "250-mx.example.org\r\n250 HELP\r\n";

inline std::string Describe(const RecipientResult& r) {
  const char* o = r.outcome == RecipientOutcome::kDelivered ? "D"
                  : r.outcome == RecipientOutcome::kDeferred ? "T"
                                                              : "F";
  return std::string(o) + (r.reply.synthetic ? " local " : " ") +
         r.reply.ToString();
}

// Records every callback as a line of text and acts like a relay
// connection: sends the queued envelopes on OnReady, streams `body` on
// OnWantBody, quits when told to once idle.
class TestHost : public ClientHost {
 public:
  void OnReady() override {
    events.push_back("ready");
    // A local refusal leaves the session ready without another OnReady.
    while (!queue.empty() && session->ready()) {
      OutboundEnvelope env = queue.front();
      queue.pop_front();
      session->SendMessage(env, out);
    }
    if (queue.empty() && quit_when_idle && session->ready()) {
      session->Quit(out);
    }
  }
  void OnStartTls() override { events.push_back("starttls"); }
  void OnWantBody() override {
    events.push_back("body");
    if (!stream_body) return;
    for (size_t at = 0; at < body.size(); at += body_piece) {
      session->BodyChunk(std::string_view(body).substr(at, body_piece), out);
    }
    session->EndBody(out);
  }
  void OnMessageDone(absl::Span<const RecipientResult> results) override {
    std::string line = "done:";
    for (const RecipientResult& r : results) line += " [" + Describe(r) + "]";
    events.push_back(line);
    if (on_done) on_done();
  }
  void OnSessionFailed(const ServerReply& why, bool is_421) override {
    events.push_back(std::string(is_421 ? "failed421: " : "failed: ") +
                     (why.synthetic ? "local " : "") + why.ToString());
  }

  ClientSession* session = nullptr;
  std::string* out = nullptr;
  std::deque<OutboundEnvelope> queue;
  bool quit_when_idle = false;
  bool stream_body = true;
  std::string body = "Subject: test\n\nhello\n.dot\n";
  size_t body_piece = 5;
  std::function<void()> on_done;
  std::vector<std::string> events;
};

// One step of a dialogue: server bytes to feed (or an action by the host)
// and the client bytes expected in reply.
struct Step {
  std::string server;
  std::string client;
  std::function<void(ClientSession&, std::string*)> action = nullptr;
};

inline Step Act(std::function<void(ClientSession&, std::string*)> action,
         std::string client = "") {
  return Step{"", std::move(client), std::move(action)};
}

struct Scenario {
  ClientConfig config{"relay.example.net", TlsPolicy::kOpportunistic, true};
  std::vector<OutboundEnvelope> envelopes;
  bool quit_when_idle = false;
  std::string body = "Subject: test\n\nhello\n.dot\n";
};

struct Outcome {
  std::vector<std::string> events;
  bool closed = false;
};

// Runs the steps; `chunk(step, bytes)` gives the split of each step's
// server bytes as a list of lengths.
inline Outcome RunWith(const Scenario& setup, const std::vector<Step>& steps,
                const std::function<std::vector<size_t>(size_t, size_t)>&
                    chunk) {
  TestHost host;
  ClientSession session(setup.config, &host);
  std::string out;
  host.session = &session;
  host.out = &out;
  host.queue.assign(setup.envelopes.begin(), setup.envelopes.end());
  host.quit_when_idle = setup.quit_when_idle;
  host.body = setup.body;
  for (size_t s = 0; s < steps.size(); ++s) {
    out.clear();
    if (steps[s].action) {
      steps[s].action(session, &out);
    } else {
      size_t at = 0;
      for (size_t len : chunk(s, steps[s].server.size())) {
        session.Consume(std::string_view(steps[s].server).substr(at, len),
                        &out);
        at += len;
      }
      EXPECT_EQ(at, steps[s].server.size());
    }
    EXPECT_EQ(out, steps[s].client) << "step " << s;
  }
  return Outcome{host.events, session.closed()};
}

// Runs the dialogue whole, one byte at a time, in random pieces, and with
// each step split in two at every position; all must agree.
inline Outcome Dialogue(const Scenario& setup, const std::vector<Step>& steps) {
  const Outcome whole = RunWith(setup, steps, [](size_t, size_t n) {
    return std::vector<size_t>{n};
  });
  auto same = [&](const Outcome& o, const std::string& how) {
    EXPECT_EQ(o.events, whole.events) << how;
    EXPECT_EQ(o.closed, whole.closed) << how;
  };
  same(RunWith(setup, steps,
               [](size_t, size_t n) { return std::vector<size_t>(n, 1); }),
       "bytewise");
  std::mt19937 rng(1);
  same(RunWith(setup, steps,
               [&](size_t, size_t n) {
                 std::vector<size_t> v;
                 while (n > 0) {
                   const size_t len = std::min<size_t>(1 + rng() % 9, n);
                   v.push_back(len);
                   n -= len;
                 }
                 return v;
               }),
       "random");
  for (size_t s = 0; s < steps.size(); ++s) {
    for (size_t cut = 1; cut < steps[s].server.size(); ++cut) {
      same(RunWith(setup, steps,
                   [&](size_t step, size_t n) {
                     if (step != s) return std::vector<size_t>{n};
                     return std::vector<size_t>{cut, n - cut};
                   }),
           "step " + std::to_string(s) + " cut " + std::to_string(cut));
    }
  }
  return whole;
}

inline OutboundEnvelope Env(std::vector<std::string> rcpts, uint64_t size = 100) {
  OutboundEnvelope env;
  env.mail_from = "a@example.net";
  for (std::string& r : rcpts) env.recipients.push_back({r, "", ""});
  env.size = size;
  return env;
}

inline constexpr char kBodyWire[] = "Subject: test\r\n\r\nhello\r\n..dot\r\n.\r\n";

// A session with its host wired up, for tests that drive it by hand.
struct Live {
  explicit Live(const Scenario& setup = Scenario())
      : session(setup.config, &host) {
    host.session = &session;
    host.out = &out;
    host.queue.assign(setup.envelopes.begin(), setup.envelopes.end());
    host.quit_when_idle = setup.quit_when_idle;
    host.body = setup.body;
  }
  TestHost host;
  ClientSession session;
  std::string out;
};

}  // namespace ringmail::smtp::client_testing

#endif  // RINGMAIL_PROTOCOLS_SMTP_CLIENT_TEST_UTIL_H_
