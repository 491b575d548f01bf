#include "server/relay/scheduler.h"

#include "gtest/gtest.h"

namespace ringmail::server::relay {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

QueueEnvelope Env(std::string sender, std::vector<std::string> rcpts,
                  std::string notify = "") {
  QueueEnvelope e;
  e.id = "Q" + std::to_string(rcpts.size());
  e.arrival = kT0;
  e.sender = std::move(sender);
  for (auto& r : rcpts) e.recipients.push_back({r, notify, ""});
  return e;
}

RecipientResult R(RecipientResult::Kind k, std::string reply) {
  RecipientResult r;
  r.kind = k;
  r.reply = std::move(reply);
  r.status = r.reply.substr(4, 5);
  return r;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() {
    config_.retry_schedule = {absl::Minutes(5), absl::Minutes(30)};
    config_.queue_lifetime = absl::Hours(2);
    config_.delay_warning = absl::ZeroDuration();
    config_.backoff_after_deferrals = 3;
    config_.backoff = absl::Minutes(5);
  }
  uint64_t Add(QueueEnvelope env, std::string file = "f1") {
    return sched().Add(file, std::move(env), 10, 100, 0, {}, false, false, kT0);
  }
  Scheduler& sched() {
    if (!sched_) sched_ = std::make_unique<Scheduler>(&config_);
    return *sched_;
  }
  RelayConfig config_;
  std::unique_ptr<Scheduler> sched_;
};

TEST_F(SchedulerTest, SplitsRecipientsByDomain) {
  Add(Env("s@x.test", {"a@one.test", "b@two.test", "c@one.test"}));
  auto domains = sched().DomainsToStart(kT0);
  std::sort(domains.begin(), domains.end());
  EXPECT_EQ(domains, (std::vector<std::string>{"one.test", "two.test"}));
  auto job = sched().TakeJob("one.test", kT0);
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->rcpts, (std::vector<uint32_t>{0, 2}));
  // In flight: nothing more for one.test.
  EXPECT_FALSE(sched().TakeJob("one.test", kT0).has_value());
}

TEST_F(SchedulerTest, DeferralFollowsRetrySchedule) {
  uint64_t seq = Add(Env("s@x.test", {"a@one.test"}));
  auto job = sched().TakeJob("one.test", kT0);
  Outcome o = sched().Complete(*job, {R(RecipientResult::Kind::kDeferred, "451 4.3.0 later")}, kT0);
  ASSERT_EQ(o.records.size(), 1u);
  EXPECT_EQ(o.records[0].status.state, RecipientState::kDeferred);
  EXPECT_EQ(o.records[0].status.next_attempt, kT0 + absl::Minutes(5));
  EXPECT_TRUE(o.finished.empty());
  EXPECT_EQ(sched().NextWake(), kT0 + absl::Minutes(5));
  sched().Tick(kT0 + absl::Minutes(4));
  EXPECT_FALSE(sched().TakeJob("one.test", kT0 + absl::Minutes(4)).has_value());
  sched().Tick(kT0 + absl::Minutes(5));
  job = sched().TakeJob("one.test", kT0 + absl::Minutes(5));
  ASSERT_TRUE(job.has_value());
  o = sched().Complete(*job, {R(RecipientResult::Kind::kDeferred, "451 4.3.0 later")},
                       kT0 + absl::Minutes(5));
  // Second delay is the schedule's last step, which repeats.
  EXPECT_EQ(sched().Find(seq)->rcpts[0].next_attempt, kT0 + absl::Minutes(35));
}

TEST_F(SchedulerTest, ExpiryBouncesWithFailedDsn) {
  uint64_t seq = Add(Env("s@x.test", {"a@one.test"}));
  absl::Time t = kT0 + absl::Minutes(119);
  auto job = sched().TakeJob("one.test", kT0);
  Outcome o = sched().Complete(*job, {R(RecipientResult::Kind::kDeferred, "451 4.3.0 x")}, t);
  // The retry is clamped to the expiry time.
  EXPECT_EQ(sched().Find(seq)->rcpts[0].next_attempt, kT0 + absl::Hours(2));
  sched().Tick(kT0 + absl::Hours(2));
  job = sched().TakeJob("one.test", kT0 + absl::Hours(2));
  ASSERT_TRUE(job.has_value());
  o = sched().Complete(*job, {R(RecipientResult::Kind::kDeferred, "451 4.3.0 x")},
                       kT0 + absl::Hours(2));
  ASSERT_EQ(o.dsns.size(), 1u);
  EXPECT_EQ(o.dsns[0].kind, DsnRequest::Kind::kFailed);
  EXPECT_NE(o.dsns[0].results[0].reply.find("expired"), std::string::npos);
  EXPECT_EQ(o.finished, std::vector<uint64_t>{seq});
}

TEST_F(SchedulerTest, NullSenderNeverGetsBounce) {
  Add(Env("", {"a@one.test"}));
  auto job = sched().TakeJob("one.test", kT0);
  Outcome o = sched().Complete(*job, {R(RecipientResult::Kind::kFailed, "550 5.1.1 no")}, kT0);
  EXPECT_TRUE(o.dsns.empty());
  EXPECT_EQ(o.finished.size(), 1u);
}

TEST_F(SchedulerTest, NotifyNeverAndSuccess) {
  Add(Env("s@x.test", {"a@one.test"}, "NEVER"), "f1");
  auto job = sched().TakeJob("one.test", kT0);
  EXPECT_TRUE(sched().Complete(*job, {R(RecipientResult::Kind::kFailed, "550 5.1.1 no")}, kT0)
                  .dsns.empty());
  Add(Env("s@x.test", {"b@one.test"}, "SUCCESS,FAILURE"), "f2");
  job = sched().TakeJob("one.test", kT0);
  ASSERT_TRUE(job.has_value());
  Outcome o = sched().Complete(*job, {R(RecipientResult::Kind::kDelivered, "250 2.0.0 ok")}, kT0);
  ASSERT_EQ(o.dsns.size(), 1u);
  EXPECT_EQ(o.dsns[0].kind, DsnRequest::Kind::kRelayed);
}

TEST_F(SchedulerTest, ConcurrencyLimitPerDestination) {
  config_.default_policy.max_connections = 2;
  for (int i = 0; i < 5; ++i) Add(Env("s@x.test", {"a@one.test"}), "f" + std::to_string(i));
  int opened = 0;
  for (int round = 0; round < 5; ++round) {
    for (const std::string& d : sched().DomainsToStart(kT0)) {
      sched().OpenSession(d);
      ++opened;
    }
  }
  EXPECT_EQ(opened, 2);
  sched().CloseSession("one.test");
  EXPECT_EQ(sched().DomainsToStart(kT0).size(), 1u);
}

TEST_F(SchedulerTest, RateLimitSpacesMessages) {
  config_.default_policy.max_messages_per_minute = 60;
  Add(Env("s@x.test", {"a@one.test"}), "f1");
  Add(Env("s@x.test", {"b@one.test"}), "f2");
  ASSERT_TRUE(sched().TakeJob("one.test", kT0).has_value());
  EXPECT_FALSE(sched().MayTakeJob("one.test", 1, kT0));
  EXPECT_TRUE(sched().MayTakeJob("one.test", 1, kT0 + absl::Seconds(1)));
  EXPECT_EQ(sched().NextDomainWake(kT0), kT0 + absl::Seconds(1));
}

TEST_F(SchedulerTest, MessagesPerConnection) {
  config_.default_policy.max_messages_per_connection = 2;
  Add(Env("s@x.test", {"a@one.test"}), "f1");
  EXPECT_TRUE(sched().MayTakeJob("one.test", 1, kT0));
  EXPECT_FALSE(sched().MayTakeJob("one.test", 2, kT0));
}

TEST_F(SchedulerTest, DeferralsInARowBackOffOnlyThatDestination) {
  for (int i = 0; i < 4; ++i) Add(Env("s@x.test", {"a@slow.test"}), "s" + std::to_string(i));
  Add(Env("s@x.test", {"a@fast.test"}), "fast");
  for (int i = 0; i < 3; ++i) {
    auto job = sched().TakeJob("slow.test", kT0);
    ASSERT_TRUE(job.has_value());
    sched().Complete(*job, {R(RecipientResult::Kind::kDeferred, "451 4.7.1 slow down")}, kT0);
  }
  auto domains = sched().DomainsToStart(kT0);
  EXPECT_EQ(domains, std::vector<std::string>{"fast.test"});
  EXPECT_EQ(sched().NextDomainWake(kT0), kT0 + absl::Minutes(5));
}

TEST_F(SchedulerTest, FailDomainPermanentBouncesAll) {
  Add(Env("s@x.test", {"a@gone.test", "b@gone.test", "c@ok.test"}));
  Outcome o = sched().FailDomain(
      "gone.test", R(RecipientResult::Kind::kFailed, "550 5.1.2 not found"), kT0);
  ASSERT_EQ(o.dsns.size(), 1u);
  EXPECT_EQ(o.dsns[0].rcpts, (std::vector<uint32_t>{0, 1}));
  EXPECT_TRUE(o.finished.empty());  // c@ok.test still waits
}

TEST_F(SchedulerTest, HoldReleaseDeleteAndPaging) {
  uint64_t a = Add(Env("s@x.test", {"a@one.test"}), "a");
  Add(Env("s@x.test", {"b@one.test"}), "b");
  Outcome o = sched().SetHeld(a, true, kT0);
  ASSERT_EQ(o.records.size(), 1u);
  EXPECT_EQ(o.records[0].kind, StateRecord::Kind::kHold);
  auto job = sched().TakeJob("one.test", kT0);
  ASSERT_TRUE(job.has_value());
  EXPECT_NE(job->seq, a);
  sched().SetHeld(a, false, kT0);
  EXPECT_EQ(sched().TakeJob("one.test", kT0)->seq, a);
  EXPECT_EQ(sched().Delete(a).finished, std::vector<uint64_t>{a});
  sched().Forget(a);
  auto page = sched().Page("", 10);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0]->file, "b");
  EXPECT_TRUE(sched().Page("b", 10).empty());
}

}  // namespace
}  // namespace ringmail::server::relay
