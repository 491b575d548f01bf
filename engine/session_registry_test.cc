#include "engine/session_registry.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::engine {
namespace {

struct FakeSession {
  explicit FakeSession(SessionRegistry<FakeSession>* r) : membership(r, this) {}
  bool ended = false;
  SessionRegistry<FakeSession>::Membership membership;
};

TEST(SessionRegistry, TracksRegisteredSessions) {
  SessionRegistry<FakeSession> r;
  auto a = std::make_unique<FakeSession>(&r);
  auto b = std::make_unique<FakeSession>(&r);
  auto c = std::make_unique<FakeSession>(&r);
  EXPECT_EQ(r.size(), 3u);
  a.reset();  // swap-remove from the front
  std::vector<FakeSession*> live = r.Sessions();
  std::sort(live.begin(), live.end());
  std::vector<FakeSession*> want = {b.get(), c.get()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(live, want);
  c->membership.Leave();
  c->membership.Leave();  // idempotent
  EXPECT_EQ(r.Sessions(), std::vector<FakeSession*>{b.get()});
}

TEST(SessionRegistry, ShutdownWithoutSessionsRunsAtOnce) {
  SessionRegistry<FakeSession> r;
  int done = 0;
  r.Shutdown([](FakeSession*) {}, [&] { ++done; });
  EXPECT_TRUE(r.shutting_down());
  EXPECT_EQ(done, 1);
}

TEST(SessionRegistry, ShutdownEndsEachSessionThenWaitsForTheLast) {
  SessionRegistry<FakeSession> r;
  std::vector<std::unique_ptr<FakeSession>> s;
  for (int i = 0; i < 3; ++i) s.push_back(std::make_unique<FakeSession>(&r));
  int done = 0;
  r.Shutdown(
      [&](FakeSession* x) {
        x->ended = true;
        // Ending one may remove it at once, while the others are visited.
        if (x == s[1].get()) s[1].reset();
      },
      [&] { ++done; });
  EXPECT_TRUE(s[0]->ended);
  EXPECT_TRUE(s[2]->ended);
  EXPECT_EQ(done, 0);
  s[0].reset();
  // A session arriving during the shutdown delays the end too.
  auto late = std::make_unique<FakeSession>(&r);
  s[2].reset();
  EXPECT_EQ(done, 0);
  late.reset();
  EXPECT_EQ(done, 1);
}

}  // namespace
}  // namespace ringmail::engine
