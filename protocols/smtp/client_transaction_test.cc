// ClientSession: mail transactions (MAIL, RCPT, DATA, body, RSET).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/smtp/client_session.h"
#include "protocols/smtp/client_test_util.h"

namespace ringmail::smtp::client_testing {
namespace {

TEST(ClientTransaction, PipelinedMessageWithMixedRecipients) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org", "d@example.org"})};
  setup.envelopes[0].eight_bit = true;
  setup.quit_when_idle = true;
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100 BODY=8BITMIME\r\n"
        "RCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n"
        "RCPT TO:<d@example.org>\r\nDATA\r\n"},
       {"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 No such\r\n"
        "550 5.1.1 user\r\n452 4.2.2 Mailbox full\r\n354 Go ahead\r\n",
        kBodyWire},
       {"250 2.0.0 Ok: queued as X\r\n", "QUIT\r\n"},
       {"221 2.0.0 Bye\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "body",
                "done: [D 250 2.0.0 Ok: queued as X] [F 550 5.1.1 No such "
                "user] [T 452 4.2.2 Mailbox full]",
                "ready"}));
  EXPECT_TRUE(o.closed);
}

TEST(ClientTransaction, LockstepWithoutPipelining) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"})};
  setup.envelopes[0].eight_bit = true;  // sent anyway, without BODY=
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
       {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
       {"550 no\r\n", "RCPT TO:<c@example.org>\r\n"},
       {"250 ok\r\n", "DATA\r\n"},
       {"354 go\r\n", kBodyWire},
       {"250 queued\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"ready", "body",
                                      "done: [F 550 no] [D 250 queued]",
                                      "ready"}));
  EXPECT_FALSE(o.closed);
}

TEST(ClientTransaction, TwoMessagesOnOneConnection) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"}), Env({"c@example.org"}, 2000)};
  setup.envelopes[1].mail_from = "";
  setup.envelopes[1].size = 900;
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "DATA\r\n"},
       {"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n", kBodyWire},
       // No RSET between completed transactions (RFC 5321 §4.1.4).
       {"250 2.0.0 one\r\n",
        "MAIL FROM:<> SIZE=900\r\nRCPT TO:<c@example.org>\r\nDATA\r\n"},
       {"250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n", kBodyWire},
       {"451 4.3.0 try later\r\n", ""}});
  EXPECT_EQ(o.events, (std::vector<std::string>{
                          "ready", "body", "done: [D 250 2.0.0 one]",
                          "ready", "body", "done: [T 451 4.3.0 try later]",
                          "ready"}));
}

TEST(ClientTransaction, AllRecipientsRefusedPipelined) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"}),
                     Env({"d@example.org"})};
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "RCPT TO:<c@example.org>\r\nDATA\r\n"},
       // The refused DATA is ignored; the open envelope is reset.
       {"250 2.1.0 ok\r\n550 5.1.1 no\r\n450 4.2.1 later\r\n"
        "554 5.5.1 no valid recipients\r\n",
        "RSET\r\n"},
       {"250 2.0.0 ok\r\n",
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<d@example.org>\r\n"
        "DATA\r\n"}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "done: [F 550 5.1.1 no] [T 450 4.2.1 later]",
                "ready"}));
}

TEST(ClientTransaction, AllRecipientsRefusedLockstepSendsRset) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  const Outcome o =
      Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
                  {"550 no\r\n", "RSET\r\n"},
                  {"250 ok\r\n", ""}});
  EXPECT_EQ(o.events, (std::vector<std::string>{"ready", "done: [F 550 no]",
                                                "ready"}));
}

TEST(ClientTransaction, PipelinedDataAcceptedWithoutRecipients) {
  // A server that says 354 anyway gets an empty message, its reply ignored.
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "DATA\r\n"},
       {"250 ok\r\n550 no\r\n354 go\r\n", ".\r\n"},
       {"554 no recipients\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"ready", "done: [F 550 no]", "ready"}));
}

TEST(ClientTransaction, MailRefused) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"}),
                     Env({"d@example.org"})};
  // Pipelined: the 503s that follow are ignored; no RSET is needed.
  Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "RCPT TO:<c@example.org>\r\nDATA\r\n"},
       {"553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n"
        "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n",
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<d@example.org>\r\n"
        "DATA\r\n"}});
  EXPECT_EQ(o.events, (std::vector<std::string>{
                          "ready",
                          "done: [F 553 5.7.1 sender rejected] [F 553 5.7.1 "
                          "sender rejected]",
                          "ready"}));
  // Lockstep, temporary.
  setup.envelopes.resize(1);
  o = Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  {"451 later\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "done: [T 451 later] [T 451 later]", "ready"}));
}

TEST(ClientTransaction, DataCommandRefused) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"})};
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
        "RCPT TO:<c@example.org>\r\nDATA\r\n"},
       {"250 ok\r\n250 ok\r\n550 5.1.1 no\r\n451 4.3.0 not now\r\n",
        "RSET\r\n"},
       {"250 ok\r\n", ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready", "done: [T 451 4.3.0 not now] [F 550 5.1.1 no]",
                "ready"}));
}

TEST(ClientTransaction, RsetRefusedEndsSession) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  const Outcome o =
      Dialogue(setup, {{kGreeting, kEhlo},
                  {kEhloPlain, "MAIL FROM:<a@example.net>\r\n"},
                  {"250 ok\r\n", "RCPT TO:<b@example.org>\r\n"},
                  {"550 no\r\n", "RSET\r\n"},
                  {"500 huh\r\n", "QUIT\r\n"}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{"ready", "done: [F 550 no]",
                                      "failed: 500 huh"}));
}

TEST(ClientTransaction, SizeAndSmtputf8Prechecks) {
  Scenario setup;
  setup.envelopes = {Env({"b@example.org", "c@example.org"}, 1001)};
  setup.envelopes[0].smtputf8 = true;
  OutboundEnvelope utf8 = Env({"d@example.org"}, 1000);  // at the limit: ok
  utf8.smtputf8 = true;
  setup.envelopes.push_back(utf8);
  Outcome o = Dialogue(
      setup, {{kGreeting, kEhlo},
              {kEhloFull,
               "MAIL FROM:<a@example.net> SIZE=1000 SMTPUTF8\r\n"
               "RCPT TO:<d@example.org>\r\nDATA\r\n"}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready",
                "done: [F local 552 5.3.4 Message size exceeds fixed limit "
                "of the remote server] [F local 552 5.3.4 Message size "
                "exceeds fixed limit of the remote server]"}));

  setup.envelopes = {utf8};
  o = Dialogue(setup, {{kGreeting, kEhlo}, {kEhloPlain, ""}});
  EXPECT_EQ(o.events,
            (std::vector<std::string>{
                "ready",
                "done: [F local 553 5.6.7 SMTPUTF8 is required, but was not "
                "offered by the remote server]"}));
}

TEST(ClientTransaction, DsnParametersOnlyWhenAdvertised) {
  Scenario setup;
  OutboundEnvelope env = Env({"b@example.org", "c@example.org"});
  env.ret = "FULL";
  env.envid = "id+2B1";
  env.recipients[0].notify = "SUCCESS,FAILURE";
  env.recipients[0].orcpt = "rfc822;b@example.org";
  env.recipients[1].notify = "NEVER";
  setup.envelopes = {env};
  Dialogue(setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100 RET=FULL ENVID=id+2B1\r\n"
        "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE "
        "ORCPT=rfc822;b@example.org\r\n"
        "RCPT TO:<c@example.org> NOTIFY=NEVER\r\nDATA\r\n"}});
  Dialogue(setup, {{kGreeting, kEhlo},
              {"250-mx\r\n250 PIPELINING\r\n",
               "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
               "RCPT TO:<c@example.org>\r\nDATA\r\n"}});
}

TEST(ClientTransaction, LocallyRefusedAddresses) {
  Scenario setup;
  setup.envelopes = {Env({"bad\r\nRSET@example.org", "c@example.org"}),
                     Env({"x\n@y"}), Env({"d@example.org"})};
  setup.envelopes[2].mail_from = "a@b\rc";
  const Outcome o = Dialogue(
      setup,
      {{kGreeting, kEhlo},
       {kEhloFull,
        "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<c@example.org>\r\n"
        "DATA\r\n"},
       {"250 ok\r\n250 ok\r\n354 go\r\n", kBodyWire},
       {"250 2.0.0 ok\r\n", ""}});
  EXPECT_EQ(
      o.events,
      (std::vector<std::string>{
          "ready", "body",
          "done: [F local 501 5.1.3 Bad recipient address syntax] "
          "[D 250 2.0.0 ok]",
          "ready",
          // Every recipient bad: refused in SendMessage, still ready.
          "done: [F local 501 5.1.3 Bad recipient address syntax]",
          "done: [F local 501 5.1.7 Bad sender address syntax]"}));
}

TEST(ClientTransaction, TooManyRecipients) {
  Scenario setup;
  std::vector<std::string> rcpts;
  for (size_t i = 0; i <= kMaxRecipientsPerMessage; ++i) {
    rcpts.push_back("r" + std::to_string(i) + "@example.org");
  }
  setup.envelopes = {Env(rcpts)};
  Live live(setup);
  auto& [host, session, out] = live;
  session.Consume(kGreeting, &out);
  session.Consume(kEhloFull, &out);
  size_t rcpt_lines = 0;
  for (size_t at = out.find("RCPT TO:"); at != std::string::npos;
       at = out.find("RCPT TO:", at + 1)) {
    ++rcpt_lines;
  }
  EXPECT_EQ(rcpt_lines, kMaxRecipientsPerMessage);
  std::string replies = "250 ok\r\n";
  for (size_t i = 0; i < kMaxRecipientsPerMessage; ++i) replies += "250 ok\r\n";
  replies += "354 go\r\n";
  session.Consume(replies, &out);
  session.Consume("250 2.0.0 ok\r\n", &out);
  ASSERT_EQ(host.events.size(), 4u);
  EXPECT_NE(host.events[2].find("[D 250 2.0.0 ok] [T local 452 4.5.3 Too "
                                "many recipients for one transaction]"),
            std::string::npos);
}

TEST(ClientTransaction, QuitRightAfterAbortedTransaction) {
  // The host may answer OnMessageDone with Quit while the RSET is out.
  Scenario setup;
  setup.envelopes = {Env({"b@example.org"})};
  Live live(setup);
  auto& [host, session, out] = live;
  host.on_done = [&] { session.Quit(&out); };
  session.Consume(kGreeting, &out);
  session.Consume(kEhloFull, &out);
  out.clear();
  session.Consume("250 ok\r\n550 no\r\n554 no rcpts\r\n", &out);
  EXPECT_EQ(out, "RSET\r\nQUIT\r\n");
  session.Consume("250 ok\r\n", &out);
  EXPECT_TRUE(session.closed());
  EXPECT_EQ(host.events,
            (std::vector<std::string>{"ready", "done: [F 550 no]"}));
}

TEST(ClientTransaction, SendMessageWhenNotReady) {
  TestHost host;
  ClientSession session(Scenario().config, &host);
  std::string out;
  EXPECT_FALSE(session.SendMessage(Env({"b@example.org"}), &out));
  EXPECT_EQ(out, "");
  EXPECT_EQ(host.events,
            std::vector<std::string>{"done: [T local 451 4.3.0 SMTP session "
                                     "not ready for a message]"});
}

TEST(ClientTransaction, SendMessageSaysWhetherItSent) {
  Live live;
  auto& [host, session, out] = live;
  session.Consume(kGreeting, &out);
  session.Consume(kEhloFull, &out);
  ASSERT_TRUE(session.ready());
  out.clear();
  EXPECT_FALSE(session.SendMessage(Env({"b@example.org"}, 1001), &out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(session.ready());
  EXPECT_EQ(session.messages_sent(), 0u);
  EXPECT_TRUE(session.SendMessage(Env({"b@example.org"}), &out));
  EXPECT_FALSE(session.ready());
  EXPECT_EQ(session.messages_sent(), 1u);
  EXPECT_EQ(out,
            "MAIL FROM:<a@example.net> SIZE=100\r\nRCPT TO:<b@example.org>\r\n"
            "DATA\r\n");
  EXPECT_EQ(host.events.size(), 2u);  // "ready", the refusal's "done"
}

}  // namespace
}  // namespace ringmail::smtp::client_testing
