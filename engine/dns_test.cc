// DnsResolver on a real Loop against an in-test DNS server on 127.0.0.1.
#include "engine/dns.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "engine/loop.h"
#include "engine/testing/fake_dns_server.h"

namespace ringmail::engine {
namespace {

using testing::AaaaData;
using testing::AData;
using testing::CnameData;
using testing::DnsResponse;
using testing::FakeDnsServer;
using testing::kTypeA;
using testing::kTypeAaaa;
using testing::kTypeCname;
using testing::kTypeMx;
using testing::kTypeSoa;
using testing::MxData;
using testing::SoaData;

// The zone the fake server serves (thread-safe: pure function of the query).
DnsResponse Zone(const std::string& name, uint16_t type) {
  DnsResponse r;
  auto soa = [&](uint32_t minimum) {
    r.authority = {{"test", kTypeSoa, 3600, SoaData("ns.test", "admin.test", minimum)}};
  };
  if (name == "two.test" && type == kTypeMx) {
    r.answers = {{name, kTypeMx, 60, MxData(20, "mx2.two.test")},
                 {name, kTypeMx, 60, MxData(10, "MX1.two.test")}};
  } else if (name == "cname.test" && type == kTypeMx) {
    r.answers = {{name, kTypeCname, 90, CnameData("two.test")},
                 {"two.test", kTypeMx, 60, MxData(10, "mx1.two.test")}};
  } else if (name == "short.test" && type == kTypeMx) {
    r.answers = {{name, kTypeMx, 1, MxData(10, "mx.short.test")}};
  } else if (name == "zero.test" && type == kTypeMx) {
    r.answers = {{name, kTypeMx, 0, MxData(10, "mx.zero.test")}};
  } else if (name == "null.test" && type == kTypeMx) {
    r.answers = {{name, kTypeMx, 300, MxData(0, ".")}};
  } else if (name == "nodata.test") {
    // Exists, no records of any type asked, no SOA: negative_ttl applies.
  } else if (name == "fail.test") {
    r.rcode = 2;  // SERVFAIL
  } else if (name == "refused.test") {
    r.rcode = 5;
  } else if (name == "silent.test") {
    r.drop = true;
  } else if (name == "big.test" && type == kTypeMx) {
    r.truncate = true;  // answered in full only over TCP
    r.answers = {{name, kTypeMx, 300, MxData(10, "mx.big.test")}};
  } else if (name == "host.test" && type == kTypeA) {
    r.answers = {{name, kTypeA, 120, AData("192.0.2.1")}, {name, kTypeA, 60, AData("192.0.2.2")}};
  } else if (name == "host.test" && type == kTypeAaaa) {
    r.answers = {{name, kTypeAaaa, 300, AaaaData("2001:db8::1")}};
  } else if (name == "v4only.test" && type == kTypeA) {
    r.answers = {{name, kTypeA, 300, AData("192.0.2.9")}};
  } else if (name == "v4only.test") {
    soa(120);  // NODATA for AAAA
  } else if (name == "v6fail.test" && type == kTypeA) {
    r.answers = {{name, kTypeA, 300, AData("192.0.2.5")}};
  } else if (name == "v6fail.test") {
    r.rcode = 2;
  } else if (absl::StartsWith(name, "mx-") && type == kTypeMx) {
    r.answers = {{name, kTypeMx, 3600, MxData(10, "mail." + name)}};
  } else {
    r.rcode = 3;  // NXDOMAIN
    soa(30);
  }
  return r;
}

LoopOptions SmallLoop() {
  LoopOptions o;
  o.ring.entries = 64;
  o.buffers.count = 8;
  o.buffers.buffer_size = 4096;
  return o;
}

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeDnsServer::Start(&Zone);
    ASSERT_NE(server_, nullptr);
    auto loop = Loop::Create(0, &mesh_, SmallLoop());
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
  }

  DnsOptions Options() {
    DnsOptions o;
    o.servers = server_->address();
    o.tries = 1;
    return o;
  }

  std::unique_ptr<DnsResolver> Resolver(const DnsOptions& o) {
    auto r = DnsResolver::Create(loop_.get(), o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // Runs the loop until `done()` holds (checked every few milliseconds) or
  // a 30 s guard; false on the guard. A Loop runs only once.
  bool RunUntil(std::function<bool()> done) {
    bool timed_out = false;
    std::function<void()> check = [&] {
      if (done()) {
        loop_->Stop();
        return;
      }
      loop_->AddTimer(absl::Milliseconds(2), [&] { check(); });
    };
    loop_->Defer([&] { check(); });
    loop_->AddTimer(absl::Seconds(30), [&] {
      timed_out = true;
      loop_->Stop();
    });
    loop_->Run();
    return !timed_out;
  }

  Mesh mesh_{1, 0};
  std::unique_ptr<FakeDnsServer> server_;
  std::unique_ptr<Loop> loop_;
};

TEST_F(DnsTest, MxAnswerWithTtlThenServedFromCache) {
  auto r = Resolver(Options());
  absl::Time before = absl::Now();
  std::vector<MxAnswer> got;
  bool returned = false;
  bool inner_returned = false;
  r->ResolveMx("two.test", [&](const MxAnswer& a) {
    EXPECT_TRUE(returned);
    got.push_back(a);
    // Second lookup from inside the callback: answered from the cache.
    r->ResolveMx("Two.Test.", [&](const MxAnswer& b) {
      EXPECT_TRUE(inner_returned);
      got.push_back(b);
    });
    inner_returned = true;
  });
  returned = true;
  ASSERT_TRUE(RunUntil([&] { return got.size() == 2; }));
  absl::Time after = absl::Now();
  ASSERT_TRUE(got[0].status.ok()) << got[0].status;
  ASSERT_EQ(got[0].records.size(), 2u);
  EXPECT_EQ(got[0].records[0], (MxRecord{20, "mx2.two.test"}));
  EXPECT_EQ(got[0].records[1], (MxRecord{10, "mx1.two.test"}));  // lower-cased
  EXPECT_GE(got[0].expires, before + absl::Seconds(60));
  EXPECT_LE(got[0].expires, after + absl::Seconds(60));
  EXPECT_TRUE(got[1].status.ok());
  EXPECT_EQ(got[1].records, got[0].records);
  EXPECT_EQ(got[1].expires, got[0].expires);
  EXPECT_EQ(server_->queries("two.test", kTypeMx), 1);
  EXPECT_EQ(r->cache_size(), 1u);
}

TEST_F(DnsTest, IdenticalQueriesCoalesce) {
  auto r = Resolver(Options());
  int answers = 0;
  for (const char* name : {"two.test", "TWO.test", "two.test."}) {
    r->ResolveMx(name, [&](const MxAnswer& a) {
      EXPECT_TRUE(a.status.ok());
      EXPECT_EQ(a.records.size(), 2u);
      ++answers;
    });
  }
  ASSERT_TRUE(RunUntil([&] { return answers == 3; }));
  EXPECT_EQ(server_->queries("two.test", kTypeMx), 1);
}

TEST_F(DnsTest, CnameNullMxAndNodata) {
  auto r = Resolver(Options());
  std::vector<MxAnswer> got(3);
  int n = 0;
  absl::Time before = absl::Now();
  r->ResolveMx("cname.test", [&](const MxAnswer& a) { got[0] = a; ++n; });
  r->ResolveMx("null.test", [&](const MxAnswer& a) { got[1] = a; ++n; });
  r->ResolveMx("nodata.test", [&](const MxAnswer& a) { got[2] = a; ++n; });
  ASSERT_TRUE(RunUntil([&] { return n == 3; }));
  absl::Time after = absl::Now();
  ASSERT_TRUE(got[0].status.ok()) << got[0].status;
  EXPECT_EQ(got[0].records, (std::vector<MxRecord>{{10, "mx1.two.test"}}));
  EXPECT_LE(got[0].expires, after + absl::Seconds(60));  // min(CNAME 90, MX 60)
  ASSERT_TRUE(got[1].status.ok());
  EXPECT_EQ(got[1].records, (std::vector<MxRecord>{{0, "."}}));
  ASSERT_TRUE(got[2].status.ok()) << got[2].status;
  EXPECT_TRUE(got[2].records.empty());
  EXPECT_GE(got[2].expires, before + absl::Minutes(5));  // DnsOptions::negative_ttl
  EXPECT_LE(got[2].expires, after + absl::Minutes(5));
}

TEST_F(DnsTest, NxdomainIsNotFoundAndCachedForSoaMinimum) {
  auto r = Resolver(Options());
  std::vector<MxAnswer> got;
  absl::Time before = absl::Now();
  r->ResolveMx("nx.test", [&](const MxAnswer& a) {
    got.push_back(a);
    r->ResolveMx("nx.test", [&](const MxAnswer& b) { got.push_back(b); });
  });
  ASSERT_TRUE(RunUntil([&] { return got.size() == 2; }));
  absl::Time after = absl::Now();
  EXPECT_TRUE(absl::IsNotFound(got[0].status)) << got[0].status;
  EXPECT_TRUE(absl::IsNotFound(got[1].status)) << got[1].status;
  EXPECT_GE(got[0].expires, before + absl::Seconds(30));
  EXPECT_LE(got[0].expires, after + absl::Seconds(30));
  EXPECT_EQ(server_->queries("nx.test", kTypeMx), 1);
}

TEST_F(DnsTest, ServfailAndRefusedAreUnavailableAndNotCached) {
  auto r = Resolver(Options());
  std::vector<MxAnswer> got;
  r->ResolveMx("fail.test", [&](const MxAnswer& a) {
    got.push_back(a);
    r->ResolveMx("fail.test", [&](const MxAnswer& b) { got.push_back(b); });
  });
  r->ResolveMx("refused.test", [&](const MxAnswer& a) { got.push_back(a); });
  ASSERT_TRUE(RunUntil([&] { return got.size() == 3; }));
  for (const MxAnswer& a : got) EXPECT_TRUE(absl::IsUnavailable(a.status)) << a.status;
  EXPECT_EQ(server_->queries("fail.test", kTypeMx), 2);  // tries = 1, not cached
  EXPECT_EQ(r->cache_size(), 0u);
}

TEST_F(DnsTest, NoReplyTimesOutAsUnavailable) {
  DnsOptions o = Options();
  o.timeout = absl::Milliseconds(50);
  o.tries = 2;
  auto r = Resolver(o);
  std::optional<MxAnswer> got;
  r->ResolveMx("silent.test", [&](const MxAnswer& a) { got = a; });
  ASSERT_TRUE(RunUntil([&] { return got.has_value(); }));
  EXPECT_TRUE(absl::IsUnavailable(got->status)) << got->status;
  EXPECT_EQ(server_->queries("silent.test", kTypeMx), 2);
}

TEST_F(DnsTest, TruncatedReplyRetriesOverTcp) {
  auto r = Resolver(Options());
  std::optional<MxAnswer> got;
  r->ResolveMx("big.test", [&](const MxAnswer& a) { got = a; });
  ASSERT_TRUE(RunUntil([&] { return got.has_value(); }));
  ASSERT_TRUE(got->status.ok()) << got->status;
  EXPECT_EQ(got->records, (std::vector<MxRecord>{{10, "mx.big.test"}}));
  EXPECT_GE(server_->tcp_queries(), 1);
}

TEST_F(DnsTest, TtlAndMaxTtlExpireEntries) {
  DnsOptions o = Options();
  o.max_ttl = absl::Seconds(1);  // clamps two.test's 60 s
  auto r = Resolver(o);
  int first = 0, second = 0;
  for (const char* name : {"short.test", "two.test", "zero.test"}) {
    r->ResolveMx(name, [&](const MxAnswer& a) {
      EXPECT_TRUE(a.status.ok()) << a.status;
      if (++first < 3) return;
      // Well past the 1 s TTL / clamp: every name is asked again.
      loop_->AddTimer(absl::Milliseconds(1500), [&] {
        for (const char* again : {"short.test", "two.test", "zero.test"}) {
          r->ResolveMx(again, [&](const MxAnswer&) { ++second; });
        }
      });
    });
  }
  ASSERT_TRUE(RunUntil([&] { return first == 3 && second == 3; }));
  EXPECT_EQ(server_->queries("short.test", kTypeMx), 2);
  EXPECT_EQ(server_->queries("two.test", kTypeMx), 2);
  EXPECT_EQ(server_->queries("zero.test", kTypeMx), 2);
}

TEST_F(DnsTest, CacheEvictsOldestBeyondItsBound) {
  DnsOptions o = Options();
  o.max_cache_entries = 2;
  auto r = Resolver(o);
  bool done = false;
  // Sequential, so the order entries are stored in is known.
  r->ResolveMx("mx-1.test", [&](const MxAnswer&) {
    r->ResolveMx("mx-2.test", [&](const MxAnswer&) {
      r->ResolveMx("mx-3.test", [&](const MxAnswer&) {
        EXPECT_EQ(r->cache_size(), 2u);
        r->ResolveMx("mx-3.test", [&](const MxAnswer&) {
          r->ResolveMx("mx-1.test", [&](const MxAnswer&) { done = true; });
        });
      });
    });
  });
  ASSERT_TRUE(RunUntil([&] { return done; }));
  EXPECT_EQ(server_->queries("mx-3.test", kTypeMx), 1);
  EXPECT_EQ(server_->queries("mx-1.test", kTypeMx), 2);  // evicted first
  EXPECT_EQ(r->cache_size(), 2u);
}

TEST_F(DnsTest, PendingQueryBoundFailsLaterWithUnavailable) {
  DnsOptions o = Options();
  o.max_pending_queries = 1;
  auto r = Resolver(o);
  std::vector<MxAnswer> got(3);
  int n = 0;
  bool returned = false;
  r->ResolveMx("mx-a.test", [&](const MxAnswer& a) { got[0] = a; ++n; });
  r->ResolveMx("mx-a.test", [&](const MxAnswer& a) { got[1] = a; ++n; });  // joins
  r->ResolveMx("mx-b.test", [&](const MxAnswer& a) {
    EXPECT_TRUE(returned);
    got[2] = a;
    ++n;
  });
  returned = true;
  ASSERT_TRUE(RunUntil([&] { return n == 3; }));
  EXPECT_TRUE(got[0].status.ok()) << got[0].status;
  EXPECT_TRUE(got[1].status.ok()) << got[1].status;
  EXPECT_TRUE(absl::IsUnavailable(got[2].status)) << got[2].status;
  EXPECT_EQ(server_->queries("mx-b.test", kTypeMx), 0);
}

TEST_F(DnsTest, WaitersPerQueryAreBounded) {
  auto r = Resolver(Options());
  size_t ok = 0, unavailable = 0;
  for (size_t i = 0; i < kMaxDnsWaitersPerQuery + 3; ++i) {
    r->ResolveMx("two.test", [&](const MxAnswer& a) {
      if (a.status.ok()) ++ok;
      if (absl::IsUnavailable(a.status)) ++unavailable;
    });
  }
  ASSERT_TRUE(RunUntil([&] { return ok + unavailable == kMaxDnsWaitersPerQuery + 3; }));
  EXPECT_EQ(ok, kMaxDnsWaitersPerQuery);
  EXPECT_EQ(unavailable, 3u);
  EXPECT_EQ(server_->queries("two.test", kTypeMx), 1);
}

TEST_F(DnsTest, AddressesIpv4FirstWithMinimumTtl) {
  auto r = Resolver(Options());
  std::vector<AddressAnswer> got(5);
  int n = 0;
  absl::Time before = absl::Now();
  r->ResolveAddresses("host.test", [&](const AddressAnswer& a) { got[0] = a; ++n; });
  r->ResolveAddresses("v4only.test", [&](const AddressAnswer& a) { got[1] = a; ++n; });
  r->ResolveAddresses("v6fail.test", [&](const AddressAnswer& a) { got[2] = a; ++n; });
  r->ResolveAddresses("nx.test", [&](const AddressAnswer& a) { got[3] = a; ++n; });
  r->ResolveAddresses("fail.test", [&](const AddressAnswer& a) { got[4] = a; ++n; });
  ASSERT_TRUE(RunUntil([&] { return n == 5; }));
  absl::Time after = absl::Now();
  ASSERT_TRUE(got[0].status.ok()) << got[0].status;
  std::vector<std::string> ips;
  for (const SocketAddress& a : got[0].addresses) {
    ips.push_back(a.IpString());
    EXPECT_EQ(a.port(), 0);
  }
  EXPECT_EQ(ips, (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::1"}));
  EXPECT_GE(got[0].expires, before + absl::Seconds(60));
  EXPECT_LE(got[0].expires, after + absl::Seconds(60));
  ASSERT_TRUE(got[1].status.ok()) << got[1].status;
  ASSERT_EQ(got[1].addresses.size(), 1u);
  EXPECT_EQ(got[1].addresses[0].IpString(), "192.0.2.9");
  // The A answer stands even though AAAA failed.
  ASSERT_TRUE(got[2].status.ok()) << got[2].status;
  ASSERT_EQ(got[2].addresses.size(), 1u);
  EXPECT_TRUE(absl::IsNotFound(got[3].status)) << got[3].status;
  EXPECT_TRUE(absl::IsUnavailable(got[4].status)) << got[4].status;
  EXPECT_EQ(server_->queries("host.test", kTypeA), 1);
  EXPECT_EQ(server_->queries("host.test", kTypeAaaa), 1);
}

TEST_F(DnsTest, LiteralsAndInvalidNamesNeedNoQuery) {
  auto r = Resolver(Options());
  std::vector<AddressAnswer> got(4);
  std::optional<MxAnswer> mx;
  int n = 0;
  bool returned = false;
  auto keep = [&](int i) {
    return [&, i](const AddressAnswer& a) {
      EXPECT_TRUE(returned);
      got[i] = a;
      ++n;
    };
  };
  r->ResolveAddresses("192.0.2.77", keep(0));
  r->ResolveAddresses("[IPv6:2001:db8::7]", keep(1));
  r->ResolveAddresses("[192.0.2.78]", keep(2));
  r->ResolveAddresses("bad name.test", keep(3));
  r->ResolveMx("a..test", [&](const MxAnswer& a) {
    EXPECT_TRUE(returned);
    mx = a;
    ++n;
  });
  returned = true;
  ASSERT_TRUE(RunUntil([&] { return n == 5; }));
  ASSERT_EQ(got[0].addresses.size(), 1u);
  EXPECT_EQ(got[0].addresses[0].IpString(), "192.0.2.77");
  ASSERT_EQ(got[1].addresses.size(), 1u);
  EXPECT_EQ(got[1].addresses[0].IpString(), "2001:db8::7");
  ASSERT_EQ(got[2].addresses.size(), 1u);
  EXPECT_EQ(got[2].addresses[0].IpString(), "192.0.2.78");
  EXPECT_TRUE(absl::IsNotFound(got[3].status));
  EXPECT_TRUE(absl::IsNotFound(mx->status));
}

TEST_F(DnsTest, DestroyedWithQueriesInFlightNeverCallsBack) {
  auto r = Resolver(Options());
  bool called = false;
  bool finished = false;
  r->ResolveMx("silent.test", [&](const MxAnswer&) { called = true; });
  r->ResolveAddresses("silent.test", [&](const AddressAnswer&) { called = true; });
  // Once the queries are on the wire (their polls armed in the kernel).
  std::function<void()> when_sent = [&] {
    if (server_->queries("silent.test", kTypeAaaa) < 1) {
      loop_->AddTimer(absl::Milliseconds(2), [&] { when_sent(); });
      return;
    }
    r.reset();
    // Let the cancelled polls complete into their orphaned operations.
    loop_->AddTimer(absl::Milliseconds(50), [&] { finished = true; });
  };
  loop_->Defer([&] { when_sent(); });
  ASSERT_TRUE(RunUntil([&] { return finished; }));
  EXPECT_FALSE(called);
}

TEST_F(DnsTest, DestroyedBeforeTheLoopRunsAndWithAnswerQueued) {
  auto r = Resolver(Options());
  bool called = false;
  r->ResolveMx("two.test", [&](const MxAnswer&) { called = true; });
  r.reset();  // poll SQEs not even submitted yet

  auto r2 = Resolver(Options());
  int calls = 0;
  // Both waiters share one queued delivery; the first destroys the resolver.
  r2->ResolveMx("two.test", [&](const MxAnswer&) {
    ++calls;
    r2.reset();
  });
  r2->ResolveMx("two.test", [&](const MxAnswer&) { ++calls; });
  ASSERT_TRUE(RunUntil([&] { return r2 == nullptr; }));
  EXPECT_FALSE(called);
  EXPECT_EQ(calls, 1);
}

TEST_F(DnsTest, DestroyedWithLoopStillHoldingOperations) {
  auto r = Resolver(Options());
  r->ResolveMx("silent.test", [](const MxAnswer&) {});
  bool finished = false;
  loop_->AddTimer(absl::Milliseconds(30), [&] {
    r.reset();
    finished = true;
    loop_->Stop();  // at once: the orphaned polls are freed by ring teardown
  });
  ASSERT_TRUE(RunUntil([&] { return finished; }));
  loop_.reset();
}

TEST(DnsOptionsTest, BadOptionsAreRejected) {
  Mesh mesh(1, 0);
  auto loop = Loop::Create(0, &mesh, SmallLoop());
  ASSERT_TRUE(loop.ok());
  auto create = [&](std::string servers, int tries = 3) {
    DnsOptions o;
    o.servers = std::move(servers);
    o.tries = tries;
    return DnsResolver::Create(loop->get(), o).status();
  };
  EXPECT_TRUE(create("127.0.0.1").ok());
  EXPECT_TRUE(create("127.0.0.1:5353, [::1]:53, ::1").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(create("dns.example")));
  EXPECT_TRUE(absl::IsInvalidArgument(create("127.0.0.1:0")));
  EXPECT_TRUE(absl::IsInvalidArgument(create("127.0.0.1:70000")));
  EXPECT_TRUE(absl::IsInvalidArgument(create("127.0.0.1,,127.0.0.2")));
  EXPECT_TRUE(absl::IsInvalidArgument(create("[::1")));
  EXPECT_TRUE(absl::IsInvalidArgument(create("127.0.0.1", 0)));
  EXPECT_TRUE(absl::IsInvalidArgument(
      create("1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9")));
}

}  // namespace
}  // namespace ringmail::engine
