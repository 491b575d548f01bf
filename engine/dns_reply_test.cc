// Names, reply parsing and the answer cache, without sockets.
#include <gtest/gtest.h>

#include <string>

#include "engine/dns_cache.h"
#include "engine/dns_names.h"
#include "engine/dns_reply.h"
#include "engine/testing/fake_dns_server.h"

namespace ringmail::engine::dns {
namespace {

using ::ringmail::engine::testing::AaaaData;
using ::ringmail::engine::testing::AData;
using ::ringmail::engine::testing::BuildReply;
using ::ringmail::engine::testing::CnameData;
using ::ringmail::engine::testing::DnsResponse;
using ::ringmail::engine::testing::EncodeQuestion;
using ::ringmail::engine::testing::MxData;
using ::ringmail::engine::testing::SoaData;

absl::StatusOr<ParsedReply> Parse(const std::string& packet, std::string_view qname,
                                  RecordType type) {
  return ParseReply(reinterpret_cast<const unsigned char*>(packet.data()), packet.size(),
                    qname, type);
}

std::string Reply(std::string_view qname, uint16_t qtype, const DnsResponse& r) {
  return BuildReply(0x1234, EncodeQuestion(qname, qtype), r);
}

TEST(DnsNames, NormalizeLowersAndStripsOneTrailingDot) {
  EXPECT_EQ(NormalizeName("Example.COM."), "example.com");
  EXPECT_EQ(NormalizeName("example.com"), "example.com");
  EXPECT_EQ(NormalizeName("."), ".");
}

TEST(DnsNames, Queryable) {
  EXPECT_TRUE(IsQueryableName("example.com"));
  EXPECT_TRUE(IsQueryableName("_dmarc.example.com"));
  EXPECT_TRUE(IsQueryableName("localhost"));
  EXPECT_FALSE(IsQueryableName(""));
  EXPECT_FALSE(IsQueryableName("."));
  EXPECT_FALSE(IsQueryableName("a..b"));
  EXPECT_FALSE(IsQueryableName(".a"));
  EXPECT_FALSE(IsQueryableName("a b.com"));
  EXPECT_FALSE(IsQueryableName("[192.0.2.1]"));
  EXPECT_FALSE(IsQueryableName(std::string(64, 'a') + ".com"));
  EXPECT_TRUE(IsQueryableName(std::string(63, 'a') + ".com"));
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  long_name.pop_back();
  EXPECT_FALSE(IsQueryableName(long_name));
}

TEST(DnsNames, AddressLiterals) {
  auto v4 = ParseAddressLiteral("192.0.2.1");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->ToString(), "192.0.2.1:0");
  EXPECT_EQ(ParseAddressLiteral("[192.0.2.1]")->ToString(), "192.0.2.1:0");
  EXPECT_EQ(ParseAddressLiteral("[IPv6:2001:DB8::1]")->ToString(), "[2001:db8::1]:0");
  EXPECT_EQ(ParseAddressLiteral("[ipv6:2001:db8::1]")->ToString(), "[2001:db8::1]:0");
  EXPECT_EQ(ParseAddressLiteral("2001:db8::1")->ToString(), "[2001:db8::1]:0");
  EXPECT_FALSE(ParseAddressLiteral("mx.example.com").has_value());
  EXPECT_FALSE(ParseAddressLiteral("[mx.example.com]").has_value());
  EXPECT_FALSE(ParseAddressLiteral("192.0.2.1:25").has_value());
  EXPECT_FALSE(ParseAddressLiteral("").has_value());
}

TEST(DnsNames, Servers) {
  auto s = ParseServers(" 127.0.0.1 ,127.0.0.2:5353,[::1]:54,::2,[::3]");
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<std::string> got;
  for (const SocketAddress& a : *s) got.push_back(a.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{"127.0.0.1:53", "127.0.0.2:5353", "[::1]:54",
                                           "[::2]:53", "[::3]:53"}));
  for (const char* bad : {"", "a.example", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "[::1", "[::1]x", "[::1]:", "1.2.3.4,", "1.2.3"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ParseServers(bad).status())) << bad;
  }
  std::string many = "10.0.0.1";
  for (size_t i = 2; i <= kMaxServers + 1; ++i) many += ",10.0.0." + std::to_string(i);
  EXPECT_FALSE(ParseServers(many).ok());
}

TEST(DnsReply, MxRecordsAndMinimumTtl) {
  DnsResponse r;
  r.answers = {{"example.com", testing::kTypeMx, 300, MxData(10, "MX1.Example.com")},
               {"example.com", testing::kTypeMx, 60, MxData(20, "mx2.example.com")}};
  auto p = Parse(Reply("example.com", testing::kTypeMx, r), "example.com", RecordType::kMx);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rcode, 0);
  ASSERT_EQ(p->mx.size(), 2u);
  EXPECT_EQ(p->mx[0], (MxRecord{10, "mx1.example.com"}));
  EXPECT_EQ(p->mx[1], (MxRecord{20, "mx2.example.com"}));
  EXPECT_EQ(p->answer_ttl, 60u);
  EXPECT_FALSE(p->negative_ttl.has_value());
}

TEST(DnsReply, NullMxTargetIsRoot) {
  DnsResponse r;
  r.answers = {{"example.com", testing::kTypeMx, 300, MxData(0, ".")}};
  auto p = Parse(Reply("example.com", testing::kTypeMx, r), "example.com", RecordType::kMx);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->mx.size(), 1u);
  EXPECT_EQ(p->mx[0], (MxRecord{0, "."}));
}

TEST(DnsReply, FollowsCnameChainAndIgnoresUnrelatedOwners) {
  DnsResponse r;
  // Chain listed out of order; a record for an unrelated name is ignored.
  r.answers = {{"b.example", testing::kTypeA, 50, AData("192.0.2.2")},
               {"a.example", testing::kTypeCname, 40, CnameData("b.example")},
               {"www.example", testing::kTypeCname, 500, CnameData("a.example")},
               {"evil.example", testing::kTypeA, 1, AData("203.0.113.9")}};
  auto p = Parse(Reply("www.example", testing::kTypeA, r), "www.example", RecordType::kA);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->addresses.size(), 1u);
  EXPECT_EQ(p->addresses[0].IpString(), "192.0.2.2");
  EXPECT_EQ(p->answer_ttl, 40u);
}

TEST(DnsReply, CnameLoopTerminates) {
  DnsResponse r;
  r.answers = {{"a.example", testing::kTypeCname, 40, CnameData("b.example")},
               {"b.example", testing::kTypeCname, 40, CnameData("a.example")}};
  auto p = Parse(Reply("a.example", testing::kTypeA, r), "a.example", RecordType::kA);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->addresses.empty());
}

TEST(DnsReply, AaaaAndTopBitTtlIsZero) {
  DnsResponse r;
  r.answers = {{"h.example", testing::kTypeAaaa, 0x80000000u, AaaaData("2001:db8::1")}};
  auto p = Parse(Reply("h.example", testing::kTypeAaaa, r), "h.example", RecordType::kAaaa);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->addresses.size(), 1u);
  EXPECT_EQ(p->addresses[0].IpString(), "2001:db8::1");
  EXPECT_EQ(p->addresses[0].port(), 0);
  EXPECT_EQ(p->answer_ttl, 0u);
}

TEST(DnsReply, NegativeTtlFromSoa) {
  DnsResponse r;
  r.rcode = 3;
  r.authority = {{"example", testing::kTypeSoa, 900, SoaData("ns.example", "host.example", 30)}};
  auto p = Parse(Reply("nx.example", testing::kTypeMx, r), "nx.example", RecordType::kMx);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->rcode, 3);
  EXPECT_EQ(p->negative_ttl, 30u);
  r.authority[0].ttl = 10;
  p = Parse(Reply("nx.example", testing::kTypeMx, r), "nx.example", RecordType::kMx);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->negative_ttl, 10u);
}

TEST(DnsReply, MxTargetWithBinaryIsSkipped) {
  DnsResponse r;
  std::string binary("b\x01" "d.example", 11);
  r.answers = {{"example.com", testing::kTypeMx, 60, MxData(10, binary)},
               {"example.com", testing::kTypeMx, 60, MxData(20, "192.0.2.7")}};
  auto p = Parse(Reply("example.com", testing::kTypeMx, r), "example.com", RecordType::kMx);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->mx.size(), 1u);
  EXPECT_EQ(p->mx[0].host, "192.0.2.7");
}

TEST(DnsReply, RecordsBeyondTheLimitAreIgnored) {
  DnsResponse r;
  for (size_t i = 0; i < kMaxAddresses + 5; ++i) {
    r.answers.push_back({"h.example", testing::kTypeA, 60,
                         AData("192.0.2." + std::to_string(i + 1))});
  }
  auto p = Parse(Reply("h.example", testing::kTypeA, r), "h.example", RecordType::kA);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->addresses.size(), kMaxAddresses);
}

TEST(DnsReply, MalformedPacketsFail) {
  DnsResponse r;
  r.answers = {{"h.example", testing::kTypeA, 60, AData("192.0.2.1")}};
  std::string good = Reply("h.example", testing::kTypeA, r);
  ASSERT_TRUE(Parse(good, "h.example", RecordType::kA).ok());
  // Every truncation of a valid reply is refused, never read past the end.
  for (size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(Parse(good.substr(0, len), "h.example", RecordType::kA).ok()) << len;
  }
  // An A record whose data is not 4 bytes.
  r.answers[0].rdata = "abc";
  EXPECT_FALSE(Parse(Reply("h.example", testing::kTypeA, r), "h.example", RecordType::kA).ok());
  // A compression pointer that points at itself.
  std::string loop = BuildReply(1, EncodeQuestion("h.example", testing::kTypeA), {});
  loop[5] = 1;  // no change to qdcount
  loop[7] = 1;  // ancount = 1
  loop += std::string("\xc0\x1b", 2);  // pointer to offset 27 = itself
  loop += std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01", 14);
  ASSERT_EQ(static_cast<unsigned char>(loop[27]), 0xc0);
  EXPECT_FALSE(Parse(loop, "h.example", RecordType::kA).ok());
}

TEST(DnsCache, ExpiresAndEvictsOldest) {
  Cache cache(2);
  absl::Time t0 = absl::FromUnixSeconds(1000);
  Key a{"a.example", RecordType::kMx}, b{"b.example", RecordType::kMx},
      c{"c.example", RecordType::kMx}, a4{"a.example", RecordType::kA};
  cache.Store(a, Answer{absl::OkStatus(), {}, {}, t0 + absl::Seconds(10)}, t0);
  cache.Store(b, Answer{absl::OkStatus(), {}, {}, t0 + absl::Seconds(10)}, t0);
  EXPECT_NE(cache.Find(a, t0), nullptr);
  EXPECT_EQ(cache.Find(a4, t0), nullptr);  // the type is part of the key
  cache.Store(c, Answer{absl::OkStatus(), {}, {}, t0 + absl::Seconds(10)}, t0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.Find(a, t0), nullptr);  // oldest went first
  EXPECT_NE(cache.Find(b, t0), nullptr);
  EXPECT_NE(cache.Find(c, t0 + absl::Seconds(9)), nullptr);
  EXPECT_EQ(cache.Find(c, t0 + absl::Seconds(10)), nullptr);  // stale: dropped
  EXPECT_EQ(cache.size(), 1u);
  // Already expired: not stored.
  cache.Store(a, Answer{absl::OkStatus(), {}, {}, t0}, t0);
  EXPECT_EQ(cache.size(), 1u);
  Cache none(0);
  none.Store(a, Answer{absl::OkStatus(), {}, {}, t0 + absl::Seconds(10)}, t0);
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace ringmail::engine::dns
