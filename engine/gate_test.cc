#include "engine/gate.h"

#include <memory>
#include <optional>
#include <utility>

#include "gtest/gtest.h"

namespace ringmail::engine {
namespace {

TEST(Gate, TokenReadsClosedOnceTheGateIsDestroyed) {
  Gate::Token t;
  EXPECT_FALSE(t);  // a default token guards nothing
  auto g = std::make_unique<Gate>();
  t = g->token();
  Gate::Token copy = t;
  EXPECT_TRUE(t);
  EXPECT_TRUE(copy);
  g.reset();
  EXPECT_FALSE(t);
  EXPECT_FALSE(copy);
}

TEST(Gate, TokenReadsClosedAfterClose) {
  Gate g;
  Gate::Token t = g.token();
  g.Close();
  EXPECT_FALSE(t);
  EXPECT_TRUE(g.closed());
}

TEST(Gate, CloseWithoutHoldersRunsAtOnce) {
  Gate g;
  int ran = 0;
  g.Close([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

TEST(Gate, CloseWaitsForTheLastHolder) {
  Gate g;
  int ran = 0;
  std::optional<Gate::Holder> a(g.Enter());
  Gate::Holder b = g.Enter();
  EXPECT_EQ(g.holders(), 2u);
  g.Close([&] { ++ran; });
  EXPECT_EQ(ran, 0);
  a.reset();
  EXPECT_EQ(ran, 0);
  // Entering after Close still delays `done`.
  Gate::Holder late = g.Enter();
  b.Release();
  EXPECT_FALSE(b.holding());
  EXPECT_EQ(ran, 0);
  late = Gate::Holder();  // move-assignment releases what it held
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(g.holders(), 0u);
  // After `done` ran, holders are only counted.
  { Gate::Holder again = g.Enter(); }
  EXPECT_EQ(ran, 1);
}

TEST(Gate, MovedHolderCountsOnce) {
  Gate g;
  int ran = 0;
  Gate::Holder a = g.Enter();
  Gate::Holder b(std::move(a));
  EXPECT_EQ(g.holders(), 1u);
  g.Close([&] { ++ran; });
  a.Release();  // moved from: holds nothing
  EXPECT_EQ(ran, 0);
  b.Release();
  EXPECT_EQ(ran, 1);
}

// The pattern it replaces: a callback that arrives after its owner died
// must not touch it.
TEST(Gate, CallbackAfterOwnerDiedDoesNothing) {
  struct Owner {
    int calls = 0;
    Gate gate;
  };
  auto owner = std::make_unique<Owner>();
  Owner* raw = owner.get();
  auto callback = [raw, alive = owner->gate.token()] {
    if (!alive) return false;
    ++raw->calls;
    return true;
  };
  EXPECT_TRUE(callback());
  EXPECT_EQ(owner->calls, 1);
  owner.reset();
  EXPECT_FALSE(callback());  // ASan would catch a touch of `raw`
}

// Holders may outlive the gate; a pending `done` is dropped with it.
TEST(Gate, HolderOutlivesGate) {
  int ran = 0;
  Gate::Holder h;
  {
    Gate g;
    h = g.Enter();
    g.Close([&] { ++ran; });
  }
  h.Release();
  EXPECT_EQ(ran, 0);
}

// `done` may destroy the gate (a service freed once its sessions are gone).
TEST(Gate, DoneMayDestroyTheGate) {
  auto g = std::make_unique<Gate>();
  Gate::Holder h = g->Enter();
  int ran = 0;
  g->Close([&] {
    ++ran;
    g.reset();
  });
  h.Release();
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(g, nullptr);
}

}  // namespace
}  // namespace ringmail::engine
