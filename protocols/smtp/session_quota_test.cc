// Quota in the session: a recipient check the host answers later
// (RecipientVerdict::kPending, RecipientDone), the 452 4.2.2 refusal at
// RCPT, and per-recipient delivery outcomes after the data (SMTP: one reply,
// LMTP: one per recipient).
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "protocols/smtp/session.h"
#include "protocols/smtp/session_test_util.h"

namespace ringmail::smtp {
namespace {

using testing_util::FakeHost;
using testing_util::TestConfig;

// A host whose recipient checks all wait for the test to answer.
class PendingHost : public FakeHost {
 public:
  RecipientVerdict CheckRecipient(std::string_view local,
                                  std::string_view domain) override {
    FakeHost::CheckRecipient(local, domain);
    return RecipientVerdict::kPending;
  }
};

struct Driver {
  explicit Driver(SessionConfig config)
      : s(config, &host, "192.0.2.1", 7,
          [] { return absl::FromUnixSeconds(1700000000); }) {
    s.Start(&out);
    out.clear();
  }
  // Feeds everything that can be consumed now; keeps the rest.
  void Feed(std::string_view in = {}) {
    pending.append(in);
    pending.erase(0, s.Consume(pending, &out));
  }
  std::string Take() { return std::exchange(out, std::string()); }

  PendingHost host;
  Session s;
  std::string out;
  std::string pending;
};

SessionConfig Lmtp() {
  SessionConfig c = TestConfig();
  c.lmtp = true;
  return c;
}

TEST(SessionQuota, PendingRecipientHoldsPipelinedInput) {
  Driver d(TestConfig());
  d.Feed("EHLO c\r\nMAIL FROM:<s@example.net>\r\n");
  d.Take();
  d.Feed("RCPT TO:<full@example.org>\r\nRCPT TO:<ok@example.org>\r\nDATA\r\n");
  EXPECT_TRUE(d.s.waiting());
  EXPECT_TRUE(d.s.rcpt_pending());
  EXPECT_EQ(d.Take(), "");  // nothing answered, nothing more read
  EXPECT_EQ(d.host.checked.size(), 1u);

  d.s.RecipientDone(RecipientVerdict::kMailboxFull, &d.out);
  EXPECT_EQ(d.Take(),
            "452 4.2.2 <full@example.org>: Recipient address rejected: "
            "Mailbox full\r\n");
  EXPECT_EQ(d.s.error_count(), 0u);  // not the client's fault
  d.Feed();
  EXPECT_TRUE(d.s.rcpt_pending());
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  d.Feed();
  EXPECT_EQ(d.Take(), "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_EQ(d.host.rcpts, std::vector<std::string>{"ok@example.org"});
  // A late or repeated answer is ignored.
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  EXPECT_EQ(d.Take(), "");
}

TEST(SessionQuota, ShutdownWhileCheckingAnswersFirst) {
  Driver d(TestConfig());
  d.Feed("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n");
  d.Take();
  d.s.OnShutdown(&d.out);
  EXPECT_EQ(d.Take(), "");
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  EXPECT_EQ(d.Take(),
            "250 2.1.5 Ok\r\n421 4.3.2 mx.example.org Service shutting down\r\n");
  EXPECT_TRUE(d.s.closed());
}

TEST(SessionQuota, TimeoutWhileCheckingDropsTheAnswer) {
  Driver d(TestConfig());
  d.Feed("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n");
  d.Take();
  d.s.OnIdleTimeout(&d.out);
  EXPECT_TRUE(d.s.closed());
  d.Take();
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  EXPECT_EQ(d.Take(), "");
}

// Runs a transaction with `rcpts` accepted, then answers the data with
// `outcome_of`.
std::string Deliver(SessionConfig config, const std::vector<std::string>& rcpts,
                    const std::map<std::string, DeliveryOutcome>& outcomes) {
  Driver d(config);
  d.Feed(config.lmtp ? "LHLO c\r\nMAIL FROM:<>\r\n" : "EHLO c\r\nMAIL FROM:<>\r\n");
  for (const std::string& r : rcpts) {
    d.Feed("RCPT TO:<" + r + ">\r\n");
    d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  }
  d.Feed("DATA\r\nx\r\n.\r\n");
  d.Take();
  EXPECT_TRUE(d.s.waiting());
  d.s.MessageDone(
      [&](std::string_view rcpt) { return outcomes.at(std::string(rcpt)); },
      &d.out);
  return d.Take();
}

TEST(SessionQuota, LmtpRepliesPerRecipient) {
  EXPECT_EQ(Deliver(Lmtp(), {"a@example.org", "b@example.org", "c@example.org"},
                    {{"a@example.org", DeliveryOutcome::kDelivered},
                     {"b@example.org", DeliveryOutcome::kMailboxFull},
                     {"c@example.org", DeliveryOutcome::kQuotaExceeded}}),
            "250 2.0.0 <a@example.org> Ok\r\n"
            "452 4.2.2 <b@example.org> Mailbox full\r\n"
            "552 5.2.2 <c@example.org> Mailbox full: the message is larger "
            "than the quota\r\n");
}

TEST(SessionQuota, SmtpRepliesWithTheWorstOutcome) {
  EXPECT_EQ(Deliver(TestConfig(), {"a@example.org", "b@example.org"},
                    {{"a@example.org", DeliveryOutcome::kDelivered},
                     {"b@example.org", DeliveryOutcome::kMailboxFull}}),
            "452 4.2.2 Mailbox full\r\n");
  EXPECT_EQ(Deliver(TestConfig(), {"a@example.org", "b@example.org"},
                    {{"a@example.org", DeliveryOutcome::kQuotaExceeded},
                     {"b@example.org", DeliveryOutcome::kMailboxFull}}),
            "552 5.2.2 Mailbox full: the message is larger than the quota\r\n");
  EXPECT_EQ(Deliver(TestConfig(), {"a@example.org"},
                    {{"a@example.org", DeliveryOutcome::kDelivered}})
                .substr(0, 30),
            "250 2.0.0 Ok: queued as 700001");
}

TEST(SessionQuota, OneOutcomeForEveryRecipient) {
  Driver d(Lmtp());
  d.Feed("LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\n");
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  d.Feed("RCPT TO:<postmaster>\r\n");
  d.s.RecipientDone(RecipientVerdict::kAccept, &d.out);
  d.Feed("DATA\r\nx\r\n.\r\n");
  d.Take();
  d.s.MessageDone(DeliveryOutcome::kMailboxFull, &d.out);
  EXPECT_EQ(d.Take(),
            "452 4.2.2 <a@example.org> Mailbox full\r\n"
            "452 4.2.2 <postmaster> Mailbox full\r\n");
}

}  // namespace
}  // namespace ringmail::smtp
