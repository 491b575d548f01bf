// ClientSession: greeting, EHLO/HELO, STARTTLS, 421, lost connections,
// QUIT and protocol errors. Message flows: client_transaction_test.cc.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/client_session.h"
#include "protocols/smtp/client_test_util.h"

namespace ringmail::smtp::client_testing {
namespace {

TEST(ClientSession, EhloRefusedFallsBackToHelo) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  setup.envelopes[0].recipients[0].notify = "NEVER";
  const Outcome o =
      Dialogue(setup, {{kGreeting, kEhlo},
                  {"502 5.5.2 Command not recognized\r\n",
                   "HELO relay.example.net\r\n"},
                  {"250 mx.example.org\r\n", "MAIL FROM:<a@example.net>\r\n"},
                  {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
                  {"250 ok\r\n", "DATA\r\n"},
                  {"354 go\r\n", kBodyWire},
                  {"554 5.7.1 rejected\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"ready", "body",
                                      // No ENHANCEDSTATUSCODES: kept text.
                                      "done: [F 554 5.7.1 rejected]",
                                      "ready"}));
}

TEST(ClientSession, HeloRefusedFailsTheSession) {
  const Outcome o =
      Dialogue(Scenario(), {{kGreeting, kEhlo},
                    {"500 what\r\n", "HELO relay.example.net\r\n"},
                    {"550 go away\r\n", "QUIT\r\n"}});
  EXPECT_EQ(o.events, std::vector<std::string>{"failed: 550 go away"});
  EXPECT_TRUE(o.closed);
}

TEST(ClientSession, EhloTempFailure) {
  const Outcome o = Dialogue(Scenario(), {{kGreeting, kEhlo},
                                  {"450 slow down\r\n", "QUIT\r\n"}});
  EXPECT_EQ(o.events, std::vector<std::string>{"failed: 450 slow down"});
}

TEST(ClientSession, GreetingRefusal) {
  Outcome o = Dialogue(Scenario(), {{"554-mx.example.org\r\n554 no service\r\n",
                             "QUIT\r\n"},
                            {"221 bye\r\n", ""}});
  EXPECT_EQ(o.events,
            std::vector<std::string>{"failed: 554 mx.example.org no service"});
  EXPECT_TRUE(o.closed);
  o = Dialogue(Scenario(), {{"421 4.3.2 busy\r\n", ""}});
  EXPECT_EQ(o.events, std::vector<std::string>{"failed421: 421 4.3.2 busy"});
  o = Dialogue(Scenario(), {{"354 what\r\n", ""}});
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0],
            "failed: local 451 4.5.0 Remote protocol error: unexpected reply "
            "\"354 what\" while receiving the initial server greeting");
}

TEST(ClientSession, StartTlsOpportunistic) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"}, 5000)};
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {"250-mx\r\n250-SIZE 1000\r\n250 STARTTLS\r\n", "STARTTLS\r\n"},
       {"220 2.0.0 Ready to start TLS\r\n", ""},
       Act([](ClientSession& s, std::string* out) {
             EXPECT_FALSE(s.tls_active());
             s.TlsStarted(out);
             EXPECT_TRUE(s.tls_active());
             // RFC 3207 §4.2: the plaintext capabilities are gone.
             EXPECT_FALSE(s.capabilities().starttls);
             EXPECT_EQ(s.capabilities().size_limit, 0u);
           },
           kEhlo),
       // Under TLS the limit is bigger and STARTTLS is not repeated.
       {"250-mx\r\n250-SIZE 10000\r\n250-STARTTLS\r\n250 PIPELINING\r\n",
        "MAIL FROM:<a@example.net> SIZE=5000\r\nRCPT TO:<b@example.org>\r\n"
        "DATA\r\n"}});
  EXPECT_EQ(o.events, (std::vector<std::string>{"starttls", "ready"}));
}

TEST(ClientSession, StartTlsNotUsed) {
  // kNone, or the host cannot do TLS: STARTTLS is never sent.
  Scenario setup;
  setup.config.tls = TlsPolicy::kNone;
  Outcome o = Dialogue(setup, {{kGreeting, kEhlo},
                          {"250-mx\r\n250 STARTTLS\r\n", ""}});
  EXPECT_EQ(o.events, std::vector<std::string>{"ready"});
  setup.config.tls = TlsPolicy::kOpportunistic;
  setup.config.tls_available = false;
  o = Dialogue(setup, {{kGreeting, kEhlo}, {"250-mx\r\n250 STARTTLS\r\n", ""}});
  EXPECT_EQ(o.events, std::vector<std::string>{"ready"});
  // Opportunistic and not offered: plaintext.
  setup.config.tls_available = true;
  o = Dialogue(setup, {{kGreeting, kEhlo}, {kEhloFull, ""}});
  EXPECT_EQ(o.events, std::vector<std::string>{"ready"});
}

TEST(ClientSession, StartTlsRequired) {
  Scenario setup;
  setup.config.tls = TlsPolicy::kRequired;
  Outcome o = Dialogue(setup, {{kGreeting, kEhlo}, {kEhloFull, "QUIT\r\n"}});
  EXPECT_EQ(o.events,
            std::vector<std::string>{
                "failed: local 530 5.7.10 TLS is required, but was not "
                "offered by the remote server"});
  EXPECT_TRUE(o.closed);
  // After a HELO fallback there is no STARTTLS either.
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {"502 no\r\n", "HELO relay.example.net\r\n"},
                  {"250 mx\r\n", "QUIT\r\n"}});
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_NE(o.events[0].find("530 5.7.10"), std::string::npos);
  setup.config.tls_available = false;
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {"250-mx\r\n250 STARTTLS\r\n", "QUIT\r\n"}});
  EXPECT_EQ(o.events,
            std::vector<std::string>{"failed: local 530 5.7.10 TLS is "
                                     "required, but not available locally"});
}

TEST(ClientSession, StartTls454) {
  Scenario setup;
  Outcome o = Dialogue(setup, {{kGreeting, kEhlo},
                          {"250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n"},
                          {"454 4.7.0 TLS not available\r\n", ""}});
  EXPECT_EQ(o.events, std::vector<std::string>{"ready"});  // plaintext
  setup.config.tls = TlsPolicy::kRequired;
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {"250-mx\r\n250 STARTTLS\r\n", "STARTTLS\r\n"},
                  {"454 4.7.0 TLS not available\r\n", "QUIT\r\n"}});
  EXPECT_EQ(o.events,
            std::vector<std::string>{"failed: 454 4.7.0 TLS not available"});
}

TEST(ClientSession, StartTlsResponseInjection) {
  Live live;
  auto& [host, session, out] = live;
  session.Consume(kGreeting, &out);
  session.Consume("250-mx\r\n250 STARTTLS\r\n", &out);
  session.Consume("220 go\r\n250-mx\r\n250 PIPELINING\r\n", &out);
  EXPECT_EQ(host.events,
            std::vector<std::string>{
                "failed: local 451 4.5.0 Remote protocol error: data after "
                "the 220 reply to STARTTLS while sending STARTTLS"});
  EXPECT_TRUE(session.closed());

  // Plaintext arriving while the host does the handshake.
  Live live2;
  live2.session.Consume(kGreeting, &out);
  live2.session.Consume("250-mx\r\n250 STARTTLS\r\n", &out);
  live2.session.Consume("220 go\r\n", &out);
  live2.session.Consume("2", &out);
  EXPECT_EQ(live2.host.events,
            (std::vector<std::string>{
                "starttls",
                "failed: local 451 4.5.0 Remote protocol error: data from the "
                "server before the TLS handshake while performing the TLS "
                "handshake"}));
}

TEST(ClientSession, Reply421MidTransaction) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org", "d@example.org"})};
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "RCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\nDATA\r\n"},
       {"250 ok\r\n250 ok\r\n550 5.1.1 no\r\n421 4.3.2 shutting down\r\n",
        ""},
       {"250 ignored\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready",
                "done: [T 421 4.3.2 shutting down] [F 550 5.1.1 no] "
                "[T 421 4.3.2 shutting down]",
                "failed421: 421 4.3.2 shutting down"}));
  EXPECT_TRUE(o.closed);
}

TEST(ClientSession, Reply421WhileIdleOrAfterBody) {
  Outcome o = Dialogue(Scenario(), {{kGreeting, kEhlo},
                            {kEhloFull, ""},
                            {"421 4.4.2 idle timeout\r\n", ""}});
  EXPECT_EQ(o.events, (std::vector<std::string>{
                          "ready", "failed421: 421 4.4.2 idle timeout"}));
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  o = Dialogue(setup,
          {{kGreeting, kEhlo},
           {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
           {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
           {"250 ok\r\n", "DATA\r\n"},
           {"354 go\r\n", kBodyWire},
           {"421 4.3.0 crashed\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"ready", "body",
                                      "done: [T 421 4.3.0 crashed]",
                                      "failed421: 421 4.3.0 crashed"}));
}

TEST(ClientSession, DisconnectAndTimeout) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"})};
  auto disconnect = Act([](ClientSession& s, std::string*) {
    s.OnDisconnect();
    EXPECT_TRUE(s.closed());
  });
  Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
       {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
       {"550 no\r\n", "RCPT TO:<c@example.org>\r\n"},
       {"250 ok\r\n", "DATA\r\n"},
       {"354 go\r\n", kBodyWire},
       disconnect,
       Act([](ClientSession& s, std::string* out) {
         s.OnDisconnect();  // again: nothing happens
         s.Consume("250 late\r\n", out);
       })});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "body",
                "done: [F 550 no] [T local 451 4.4.2 Connection lost while "
                "sending end of data -- message may be sent more than once]",
                "failed: local 451 4.4.2 Connection lost while sending end of "
                "data -- message may be sent more than once"}));

  o = Dialogue(Scenario(), {{kGreeting, kEhlo}, Act([](ClientSession& s,
                                               std::string*) {
                      s.OnTimeout();
                    })});
  EXPECT_EQ(o.events,
            std::vector<std::string>{"failed: local 451 4.4.2 Timed out "
                                     "while performing the EHLO handshake"});
  o = Dialogue(Scenario(), {{kGreeting, kEhlo}, {kEhloFull, ""}, disconnect});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "failed: local 451 4.4.2 Connection lost while "
                         "waiting for the next message"}));
}

TEST(ClientSession, DisconnectWhileStreamingBody) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  Live live(setup);
  auto& [host, session, out] = live;
  host.stream_body = false;
  session.Consume(kGreeting, &out);
  session.Consume(kEhloFull, &out);
  session.Consume("250 ok\r\n250 ok\r\n354 go\r\n", &out);
  EXPECT_TRUE(session.want_body());
  session.BodyChunk("partial", &out);
  session.OnDisconnect();
  out.clear();
  session.BodyChunk("more", &out);  // ignored once closed
  session.EndBody(&out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(host.events,
            (std::vector<std::string>{
                "ready", "body",
                "done: [T local 451 4.4.2 Connection lost while sending "
                "message body]",
                "failed: local 451 4.4.2 Connection lost while sending "
                "message body"}));
}

TEST(ClientSession, QuitAndAbandon) {
  Scenario setup;
  setup.quit_when_idle = true;
  Outcome o = Dialogue(setup, {{kGreeting, kEhlo},
                          {kEhloFull, "QUIT\r\n"},
                          Act([](ClientSession& s, std::string*) {
                            EXPECT_FALSE(s.closed());
                            s.OnDisconnect();  // server hung up: fine
                            EXPECT_TRUE(s.closed());
                          })});
  EXPECT_EQ(o.events, std::vector<std::string>{"ready"});

  setup.quit_when_idle = false;
  setup.envelopes = {Env({"b@example.org"})};
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  Act([](ClientSession& s, std::string* out) {
                    s.Quit(out);  // shutting down mid-transaction
                    EXPECT_TRUE(s.closed());
                  })});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "done: [T local 451 4.3.2 Delivery abandoned: the "
                         "client is shutting down]"}));
}

TEST(ClientSession, ProtocolErrors) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  // A reply when none is due.
  Outcome o = Dialogue(Scenario(), {{kGreeting, kEhlo},
                            {kEhloFull, ""},
                            {"250 surprise\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready",
                "failed: local 451 4.5.0 Remote protocol error: unexpected "
                "reply \"250 surprise\" while waiting for the next message"}));
  // Wrong class for the command.
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  {"354 what\r\n", ""}});
  EXPECT_EQ(o.events.back(),
            "failed: local 451 4.5.0 Remote protocol error: unexpected reply "
            "\"354 what\" while sending MAIL FROM");
  EXPECT_EQ(o.events[1],
            "done: [T local 451 4.5.0 Remote protocol error: unexpected reply "
            "\"354 what\" while sending MAIL FROM]");
  // A reply line over the limit, mid-transaction.
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  {"250 " + std::string(kMaxReplyLine, 'x') + "\r\n", ""}});
  EXPECT_EQ(o.events.back(),
            "failed: local 451 4.5.0 Remote protocol error: reply line longer "
            "than 2048 octets while sending MAIL FROM");
  // Malformed reply.
  o = Dialogue(Scenario(), {{"hello\r\n", ""}});
  EXPECT_EQ(o.events,
            std::vector<std::string>{
                "failed: local 451 4.5.0 Remote protocol error: malformed "
                "reply line while receiving the initial server greeting"});
}

TEST(ClientSession, ReplyAheadOfCommandInLockstep) {
  // Without PIPELINING the RCPT reply cannot arrive with the MAIL reply.
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  Live live(setup);
  auto& [host, session, out] = live;
  session.Consume(kGreeting, &out);
  session.Consume(kEhloPlain, &out);
  session.Consume("250 ok\r\n250 ok\r\n", &out);
  EXPECT_EQ(host.events.back(),
            "failed: local 451 4.5.0 Remote protocol error: reply received "
            "before the command it answers while sending RCPT TO");
  // The same holds for the greeting and EHLO reply arriving together.
  Live live2(setup);
  live2.session.Consume(std::string(kGreeting) + kEhloFull, &live2.out);
  EXPECT_TRUE(live2.session.closed());
  EXPECT_EQ(live2.host.events,
            std::vector<std::string>{
                "failed: local 451 4.5.0 Remote protocol error: reply received "
                "before the command it answers while performing the EHLO "
                "handshake"});
}

TEST(ClientSession, CapabilitiesAndCounters) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  Live live(setup);
  auto& [host, session, out] = live;
  EXPECT_FALSE(session.ready());
  session.Consume(kGreeting, &out);
  EXPECT_EQ(session.messages_sent(), 0u);
  session.Consume(kEhloFull, &out);
  const ServerCapabilities& c = session.capabilities();
  EXPECT_TRUE(c.esmtp && c.pipelining && c.size && c.eight_bit_mime &&
              c.smtputf8 && c.dsn && c.enhanced_status_codes && c.chunking);
  EXPECT_FALSE(c.starttls);
  EXPECT_EQ(c.size_limit, 1000u);
  EXPECT_EQ(session.messages_sent(), 1u);
  EXPECT_FALSE(session.ready());
  EXPECT_FALSE(session.tls_active());
}

}  // namespace
}  // namespace ringmail::smtp::client_testing
