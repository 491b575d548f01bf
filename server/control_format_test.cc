#include "server/control_format.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ringmail::server::control {
namespace {

using storage::queue::RecipientState;
using ::testing::HasSubstr;

QueueEntry Entry(absl::Time arrival) {
  QueueEntry e;
  e.core = 1;
  e.file = "1700000000.M1P2Q3.host";
  e.env.id = "Q1ABC";
  e.env.arrival = arrival;
  e.env.sender = "alice@example.test";
  e.env.recipients = {{"bob@Two.test", "", ""}, {"carol@three.test", "", ""}};
  e.rcpts.resize(2);
  e.rcpts[0].state = RecipientState::kDeferred;
  e.rcpts[0].attempts = 2;
  e.rcpts[0].last_reply = "451 4.7.1 Try again\r\nlater";
  e.rcpts[0].next_attempt = arrival + absl::Minutes(20);
  e.rcpts[1].state = RecipientState::kDelivered;
  e.size = 1234;
  return e;
}

TEST(ParseControlRequest, List) {
  auto r = ParseControlRequest("queue list domain=Two.TEST state=deferred min_age=600 held");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->verb, Verb::kList);
  EXPECT_EQ(r->filter.domain, "two.test");
  EXPECT_EQ(r->filter.state, RecipientState::kDeferred);
  EXPECT_EQ(r->filter.min_age, absl::Seconds(600));
  EXPECT_TRUE(r->filter.held_only);
  EXPECT_TRUE(ParseControlRequest("queue list\r").ok());
}

TEST(ParseControlRequest, Selectors) {
  auto d = ParseControlRequest("queue delete --domain X.test");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->verb, Verb::kDelete);
  EXPECT_EQ(d->target.domain, "x.test");
  auto h = ParseControlRequest("queue hold --all");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->target.all);
  auto rel = ParseControlRequest("queue release Q1");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->verb, Verb::kRelease);
  EXPECT_EQ(rel->target.id, "Q1");
  auto f = ParseControlRequest("queue flush");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->verb, Verb::kFlush);
  EXPECT_TRUE(f->target.domain.empty());
}

TEST(ParseControlRequest, Errors) {
  EXPECT_FALSE(ParseControlRequest("").ok());
  EXPECT_FALSE(ParseControlRequest("mail list").ok());
  EXPECT_FALSE(ParseControlRequest("queue frobnicate").ok());
  EXPECT_FALSE(ParseControlRequest("queue delete --all").ok());  // too broad
  EXPECT_FALSE(ParseControlRequest("queue delete").ok());
  EXPECT_FALSE(ParseControlRequest("queue show ..").ok());
  EXPECT_FALSE(ParseControlRequest("queue show a/b").ok());
  EXPECT_FALSE(ParseControlRequest("queue list state=delivered").ok());
  EXPECT_FALSE(ParseControlRequest("queue list min_age=-1").ok());
  EXPECT_FALSE(ParseControlRequest("queue stats extra").ok());
  EXPECT_FALSE(ParseControlRequest(std::string(kMaxControlLineBytes + 1, 'q')).ok());
}

TEST(Matches, Filters) {
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  QueueEntry e = Entry(t0);
  ListFilter f;
  EXPECT_TRUE(Matches(f, e, t0));
  f.domain = "two.test";
  EXPECT_TRUE(Matches(f, e, t0));
  f.domain = "three.test";  // delivered there: nothing to try
  EXPECT_FALSE(Matches(f, e, t0));
  f = {};
  f.min_age = absl::Seconds(600);
  EXPECT_FALSE(Matches(f, e, t0 + absl::Seconds(10)));
  EXPECT_TRUE(Matches(f, e, t0 + absl::Seconds(601)));
  f = {};
  f.state = RecipientState::kPending;
  EXPECT_FALSE(Matches(f, e, t0));
  f = {};
  f.held_only = true;
  EXPECT_FALSE(Matches(f, e, t0));
  e.held = true;
  EXPECT_TRUE(Matches(f, e, t0));
}

TEST(Format, ListEntryIsLineSafe) {
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  std::string s = FormatListEntry(Entry(t0), t0 + absl::Seconds(90));
  EXPECT_EQ(s,
            "Q1ABC core=1 age=90s size=1234 from=<alice@example.test>\n"
            "  bob@Two.test deferred attempts=2 next=in 1110s "
            "reply=451 4.7.1 Try again??later\n"
            "  carol@three.test delivered attempts=0 next=-\n");
}

TEST(Format, Show) {
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  std::string s = FormatShow(Entry(t0), t0);
  EXPECT_THAT(s, HasSubstr("id: Q1ABC\n"));
  EXPECT_THAT(s, HasSubstr("file: c1/new/1700000000.M1P2Q3.host\n"));
  EXPECT_THAT(s, HasSubstr("rcpt 0: <bob@Two.test> deferred attempts=2"));
  EXPECT_THAT(s, HasSubstr("  reply: 451 4.7.1 Try again??later\n"));
}

TEST(Format, StatsMergeAndOffline) {
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  std::vector<QueueEntry> entries = {Entry(t0), Entry(t0 + absl::Seconds(5))};
  std::vector<relay::DestinationStats> stats = StatsFromEntries(entries);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].domain, "two.test");
  EXPECT_EQ(stats[0].queued_recipients, 2u);
  EXPECT_EQ(stats[0].oldest, t0);

  relay::DestinationStats other;
  other.domain = "a.test";
  other.queued_recipients = 1;
  other.active_sessions = 1;
  other.oldest = t0;
  other.backoff_until = t0 + absl::Seconds(300);
  MergeStats({other}, &stats);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].domain, "a.test");  // kept sorted
  std::string s = FormatStats(stats, t0 + absl::Seconds(100));
  EXPECT_EQ(s,
            "domain a.test queued=1 sessions=1 oldest=100s backoff=200s\n"
            "domain two.test queued=2 sessions=0 oldest=100s "
            "last_error=451 4.7.1 Try again??later\n"
            "total domains=2 queued=3 sessions=1\n");
}

}  // namespace
}  // namespace ringmail::server::control
