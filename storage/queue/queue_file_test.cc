#include "storage/queue/queue_file.h"

#include <string>

#include "gtest/gtest.h"
#include "storage/queue/queue_text.h"

namespace ringmail::storage::queue {
namespace {

QueueEnvelope SimpleEnvelope() {
  QueueEnvelope env;
  env.id = "4Q1x2y";
  env.arrival = absl::FromUnixMicros(1'700'000'000'123'456);
  env.sender = "alice@example.com";
  env.recipients.push_back({"bob@example.org", "", ""});
  return env;
}

QueueEnvelope NastyEnvelope() {
  QueueEnvelope env;
  env.id = "id with spaces+plus";
  env.arrival = absl::FromUnixMicros(-5);  // before 1970 still round-trips
  env.sender = "";                          // null reverse path
  env.ret = "HDRS";
  env.envid = "QQ+2B314159 ~x";
  env.eight_bit = true;
  env.smtputf8 = true;
  env.client_ip = "2001:db8::1";
  env.helo = "[IPv6:2001:db8::1]\tfoo\r\nbar";
  env.auth_user = "j\xC3\xBCrgen@b\xC3\xA4r.example";
  env.is_dsn = true;
  env.recipients.push_back({"\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B.cn",
                            "SUCCESS,FAILURE", "utf-8;\xE7\x94\xA8@x"});
  env.recipients.push_back({"a b@c", "NEVER", "rfc822;a+2Bb@c"});
  env.recipients.push_back({std::string("nul\0byte@x", 10), "", ""});
  env.recipients.push_back({"\x7F+@x", "DELAY", ""});
  return env;
}

TEST(QueueTextTest, EscapeUnescape) {
  EXPECT_EQ(Escape("a b+c\n\x7F\xC3\xA9"), "a+20b+2Bc+0A+7F\xC3\xA9");
  EXPECT_EQ(Escape(""), "");
  EXPECT_EQ(*Unescape("a+20b+2bc", 100), "a b+c");  // lower-case hex too
  EXPECT_EQ(*Unescape("a+20b+2Bc", 100), "a b+c");
  EXPECT_FALSE(Unescape("a b", 100));      // raw space
  EXPECT_FALSE(Unescape("a\n", 100));      // raw LF
  EXPECT_FALSE(Unescape("+2", 100));       // short escape
  EXPECT_FALSE(Unescape("+", 100));
  EXPECT_FALSE(Unescape("+G0", 100));      // not hex
  EXPECT_FALSE(Unescape("abcd", 3));       // over the limit
  EXPECT_TRUE(Unescape("abc", 3));
}

TEST(QueueTextTest, Numbers) {
  EXPECT_EQ(*ParseDecimal("0", 10), 0u);
  EXPECT_EQ(*ParseDecimal("18446744073709551615", UINT64_MAX), UINT64_MAX);
  EXPECT_FALSE(ParseDecimal("18446744073709551616", UINT64_MAX));
  EXPECT_FALSE(ParseDecimal("01", 10));
  EXPECT_FALSE(ParseDecimal("11", 10));
  EXPECT_FALSE(ParseDecimal("", 10));
  EXPECT_FALSE(ParseDecimal("+1", 10));
  EXPECT_FALSE(ParseDecimal(" 1", 10));
  EXPECT_EQ(*ParseSignedDecimal("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*ParseSignedDecimal("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(ParseSignedDecimal("9223372036854775808"));
  EXPECT_FALSE(ParseSignedDecimal("-0"));
  EXPECT_FALSE(ParseSignedDecimal("-"));
}

TEST(QueueTextTest, TruncateUtf8) {
  EXPECT_EQ(TruncateUtf8("abc", 5), "abc");
  EXPECT_EQ(TruncateUtf8("ab\xC3\xA9", 3), "ab");  // never half of é
  EXPECT_EQ(TruncateUtf8("ab\xC3\xA9", 4), "ab\xC3\xA9");
  EXPECT_EQ(TruncateUtf8("a\xE2\x82\xAC", 3), "a");
}

TEST(QueueFileTest, RoundTripSimple) {
  QueueEnvelope env = SimpleEnvelope();
  ASSERT_TRUE(CheckQueueEnvelope(env).ok());
  std::string prefix = EncodeQueuePrefix(env);
  EXPECT_EQ(prefix.substr(0, 5), "RMQ1 ");
  EXPECT_NE(prefix.find("\nsender alice@example.com\n"), std::string::npos);
  std::string file = prefix + "Received: from x\nSubject: hi\n\nbody\n";
  absl::StatusOr<ParsedPrefix> parsed = ParseQueuePrefix(file);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->envelope, env);
  EXPECT_EQ(parsed->content_offset, prefix.size());
  EXPECT_EQ(file.substr(parsed->content_offset, 9), "Received:");
  EXPECT_EQ(*QueuePrefixSize(file), prefix.size());
}

TEST(QueueFileTest, RoundTripNastyValues) {
  QueueEnvelope env = NastyEnvelope();
  ASSERT_TRUE(CheckQueueEnvelope(env).ok());
  std::string prefix = EncodeQueuePrefix(env);
  // Lines are only ever separated by LF; nothing inside a value is raw.
  size_t lines = 0;
  for (char c : prefix) lines += c == '\n';
  EXPECT_EQ(lines, 1u + 11u + env.recipients.size());
  EXPECT_EQ(prefix.find('\0'), std::string::npos);
  EXPECT_NE(prefix.find("\nsender \n"), std::string::npos);  // empty sender
  absl::StatusOr<ParsedPrefix> parsed = ParseQueuePrefix(prefix + "X");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->envelope, env);
  EXPECT_EQ(parsed->content_offset, prefix.size());
}

TEST(QueueFileTest, EveryTruncationNeedsMore) {
  std::string prefix = EncodeQueuePrefix(NastyEnvelope());
  for (size_t n = 0; n < prefix.size(); ++n) {
    absl::StatusOr<ParsedPrefix> parsed =
        ParseQueuePrefix(std::string_view(prefix).substr(0, n));
    ASSERT_EQ(parsed.status().code(), absl::StatusCode::kOutOfRange) << n;
    if (n >= prefix.find('\n') + 1) {
      EXPECT_EQ(parsed.status().message(),
                "need " + std::to_string(prefix.size()) + " bytes");
    }
  }
  EXPECT_TRUE(ParseQueuePrefix(prefix).ok());
}

TEST(QueueFileTest, LargePrefix) {
  QueueEnvelope env = SimpleEnvelope();
  for (int i = 0; i < 1000; ++i) {
    env.recipients.push_back({"user" + std::to_string(i) + "@example.net",
                              "FAILURE", "rfc822;user@example.net"});
  }
  ASSERT_TRUE(CheckQueueEnvelope(env).ok());
  std::string prefix = EncodeQueuePrefix(env);
  ASSERT_GT(prefix.size(), kQueuePrefixReadBytes);
  EXPECT_EQ(*QueuePrefixSize(prefix.substr(0, kQueuePrefixReadBytes)),
            prefix.size());
  absl::StatusOr<ParsedPrefix> parsed = ParseQueuePrefix(prefix);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->envelope, env);
}

absl::StatusCode ParseCode(const std::string& text) {
  return ParseQueuePrefix(text).status().code();
}

// A prefix whose body is `body` (the length is computed).
std::string WithBody(const std::string& body) {
  return "RMQ1 " + std::to_string(body.size()) + "\n" + body;
}

const char kGoodBody[] =
    "id x\narrival 1\nsender \nret \nenvid \n8bit 0\nsmtputf8 0\nclient \n"
    "helo \nauth \ndsn 0\nrcpt a@b  \n";

TEST(QueueFileTest, CorruptPrefixes) {
  ASSERT_TRUE(ParseQueuePrefix(WithBody(kGoodBody)).ok());
  const auto kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(ParseCode("From: x\n"), kBad);                  // not ours
  EXPECT_EQ(ParseCode("RMQ2 10\n"), kBad);
  EXPECT_EQ(ParseCode("RMQ1 x\n"), kBad);
  EXPECT_EQ(ParseCode("RMQ1 \n"), kBad);
  EXPECT_EQ(ParseCode("RMQ1 0\n"), kBad);
  EXPECT_EQ(ParseCode("RMQ1 012\n"), kBad);                 // leading zero
  EXPECT_EQ(ParseCode("RMQ1 99999999\n"), kBad);            // > limit
  EXPECT_EQ(ParseCode("RMQ1 12345678"), kBad);              // line too long
  EXPECT_EQ(ParseCode("RMQ1 1x"), kBad);
  std::string good = kGoodBody;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return WithBody(s);
  };
  EXPECT_EQ(ParseCode(replace("id x\n", "id \n")), kBad);          // empty id
  EXPECT_EQ(ParseCode(replace("id x\n", "")), kBad);               // missing
  EXPECT_EQ(ParseCode(replace("id x\n", "id x\nid y\n")), kBad);   // twice
  EXPECT_EQ(ParseCode(replace("id x\n", "id x\nfoo 1\n")), kBad);  // unknown
  EXPECT_EQ(ParseCode(replace("id x\n", "id\n")), kBad);           // no value
  EXPECT_EQ(ParseCode(replace("8bit 0", "8bit 2")), kBad);
  EXPECT_EQ(ParseCode(replace("arrival 1", "arrival 1.5")), kBad);
  EXPECT_EQ(ParseCode(replace("sender \n", "sender a b\n")), kBad);  // raw space
  EXPECT_EQ(ParseCode(replace("sender \n", "sender a+4\n")), kBad);  // bad escape
  EXPECT_EQ(ParseCode(replace("sender \n", "sender a\rb\n")), kBad);
  EXPECT_EQ(ParseCode(replace("rcpt a@b  \n", "")), kBad);          // no rcpt
  EXPECT_EQ(ParseCode(replace("rcpt a@b  \n", "rcpt a@b \n")), kBad);
  EXPECT_EQ(ParseCode(replace("rcpt a@b  \n", "rcpt a@b   \n")), kBad);
  EXPECT_EQ(ParseCode(replace("rcpt a@b  \n", "rcpt   \n")), kBad);  // empty addr
  EXPECT_EQ(ParseCode(replace("helo \n", "helo " + std::string(kMaxQueueValueBytes + 1, 'h') + "\n")), kBad);
  // The announced length cuts the last line short.
  std::string cut = WithBody(good);
  cut.replace(5, cut.find('\n') - 5, std::to_string(good.size() - 1));
  EXPECT_EQ(ParseCode(cut), kBad);
  // Too many recipients.
  std::string many = good;
  for (size_t i = 0; i < kMaxQueueRecipients; ++i) many += "rcpt r@x  \n";
  EXPECT_EQ(ParseCode(WithBody(many)), kBad);
}

// Every single-byte change of a valid prefix either still parses (to an
// envelope that survives a round trip) or is refused cleanly.
TEST(QueueFileTest, MutatedPrefixesNeverMisbehave) {
  const std::string prefix = EncodeQueuePrefix(NastyEnvelope()) + "content";
  for (size_t i = 0; i < prefix.size(); ++i) {
    for (char c : {'\0', '\n', ' ', '+', '0', '9', 'A', '\xFF'}) {
      std::string m = prefix;
      m[i] = c;
      absl::StatusOr<ParsedPrefix> parsed = ParseQueuePrefix(m);
      if (!parsed.ok()) {
        EXPECT_TRUE(parsed.status().code() == absl::StatusCode::kInvalidArgument ||
                    parsed.status().code() == absl::StatusCode::kOutOfRange)
            << parsed.status();
        continue;
      }
      EXPECT_LE(parsed->content_offset, m.size());
      ASSERT_TRUE(CheckQueueEnvelope(parsed->envelope).ok()) << i;
      absl::StatusOr<ParsedPrefix> again =
          ParseQueuePrefix(EncodeQueuePrefix(parsed->envelope));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(again->envelope, parsed->envelope);
    }
  }
}

TEST(QueueFileTest, CheckEnvelope) {
  EXPECT_TRUE(CheckQueueEnvelope(SimpleEnvelope()).ok());
  QueueEnvelope env = SimpleEnvelope();
  env.id.clear();
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  env = SimpleEnvelope();
  env.recipients.clear();
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  env = SimpleEnvelope();
  env.recipients[0].address.clear();
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  env = SimpleEnvelope();
  env.arrival = absl::InfiniteFuture();
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  env = SimpleEnvelope();
  env.helo = std::string(kMaxQueueValueBytes + 1, 'x');
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  // Within every per-value limit, but the whole prefix is too large.
  env = SimpleEnvelope();
  for (size_t i = 0; i < 400; ++i) {
    env.recipients.push_back({std::string(1000, ' ') + "@x", "", ""});
  }
  EXPECT_FALSE(CheckQueueEnvelope(env).ok());
  env.recipients.resize(300);
  EXPECT_TRUE(CheckQueueEnvelope(env).ok());
  EXPECT_TRUE(ParseQueuePrefix(EncodeQueuePrefix(env)).ok());
}

}  // namespace
}  // namespace ringmail::storage::queue
