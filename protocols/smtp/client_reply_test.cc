#include "protocols/smtp/client_reply.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringmail::smtp {
namespace {

struct Parsed {
  std::vector<ServerReply> replies;
  std::string error;  // "" unless the parser failed
};

// Feeds `in` in pieces of `piece` octets, collecting every reply; checks
// that kNeedMore consumes everything and kReply stops right after a reply.
Parsed Parse(std::string_view in, size_t piece, bool enhanced = false) {
  ReplyParser p;
  p.set_enhanced_codes(enhanced);
  Parsed r;
  for (size_t at = 0; at < in.size(); at += piece) {
    std::string_view chunk = in.substr(at, piece);
    while (!chunk.empty()) {
      size_t used = 0;
      ServerReply reply;
      std::string error;
      const auto st = p.Next(chunk, &used, &reply, &error);
      if (st == ReplyParser::Status::kError) {
        r.error = error;
        return r;
      }
      EXPECT_LE(used, chunk.size());
      if (st == ReplyParser::Status::kNeedMore) {
        EXPECT_EQ(used, chunk.size());
      } else {
        EXPECT_GT(used, 0u);
        EXPECT_EQ(chunk[used - 1], '\n');
        r.replies.push_back(reply);
      }
      chunk.remove_prefix(used);
    }
  }
  return r;
}

// Whole, byte by byte and split in two at every position: same result.
Parsed ParseAll(std::string_view in, bool enhanced = false) {
  const Parsed whole = Parse(in, in.size() + 1, enhanced);
  const Parsed bytes = Parse(in, 1, enhanced);
  auto same = [&](const Parsed& a, const Parsed& b) {
    EXPECT_EQ(a.error, b.error);
    ASSERT_EQ(a.replies.size(), b.replies.size());
    for (size_t i = 0; i < a.replies.size(); ++i) {
      EXPECT_EQ(a.replies[i].ToString(), b.replies[i].ToString());
      EXPECT_EQ(a.replies[i].text, b.replies[i].text);
    }
  };
  same(whole, bytes);
  for (size_t cut = 1; cut < in.size(); ++cut) {
    ReplyParser p;
    p.set_enhanced_codes(enhanced);
    Parsed split;
    for (std::string_view chunk : {in.substr(0, cut), in.substr(cut)}) {
      while (!chunk.empty() && split.error.empty()) {
        size_t used = 0;
        ServerReply reply;
        std::string error;
        const auto st = p.Next(chunk, &used, &reply, &error);
        if (st == ReplyParser::Status::kError) split.error = error;
        if (st == ReplyParser::Status::kReply) split.replies.push_back(reply);
        chunk.remove_prefix(used);
      }
    }
    same(whole, split);
  }
  return whole;
}

TEST(ReplyParser, SingleAndMultiLine) {
  const Parsed r = ParseAll(
      "220 mx.example.org ESMTP\r\n"
      "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.replies.size(), 2u);
  EXPECT_EQ(r.replies[0].code, 220);
  EXPECT_EQ(r.replies[0].text, "mx.example.org ESMTP");
  EXPECT_FALSE(r.replies[0].synthetic);
  EXPECT_EQ(r.replies[1].code, 250);
  EXPECT_EQ(r.replies[1].text, "mx.example.org\nPIPELINING\n8BITMIME");
  EXPECT_EQ(r.replies[1].ToString(), "250 mx.example.org PIPELINING 8BITMIME");
}

TEST(ReplyParser, CodeOnlyEmptyTextAndBareLf) {
  const Parsed r = ParseAll("250\r\n354 \r\n250-\n250 ok\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.replies.size(), 3u);
  EXPECT_EQ(r.replies[0].ToString(), "250");
  EXPECT_EQ(r.replies[1].code, 354);
  EXPECT_EQ(r.replies[1].text, "");
  EXPECT_EQ(r.replies[2].text, "\nok");
}

TEST(ReplyParser, EnhancedCodes) {
  const std::string in =
      "550-5.1.1 <x@y>: no such user\r\n550 5.1.1 try again later\r\n"
      "250 2.0.0\r\n"
      "451 5.0.0 class differs, kept in text\r\n"
      "250 2.1.0x not a code\r\n"
      "452 4.123.999 long parts\r\n"
      "452 4.1234.1 too long\r\n";
  const Parsed off = ParseAll(in, false);
  ASSERT_EQ(off.replies.size(), 6u);
  EXPECT_EQ(off.replies[0].enhanced, "");
  EXPECT_EQ(off.replies[0].text,
            "5.1.1 <x@y>: no such user\n5.1.1 try again later");

  const Parsed on = ParseAll(in, true);
  ASSERT_EQ(on.error, "");
  ASSERT_EQ(on.replies.size(), 6u);
  EXPECT_EQ(on.replies[0].enhanced, "5.1.1");
  EXPECT_EQ(on.replies[0].text, "<x@y>: no such user\ntry again later");
  EXPECT_EQ(on.replies[0].ToString(),
            "550 5.1.1 <x@y>: no such user try again later");
  EXPECT_EQ(on.replies[1].enhanced, "2.0.0");
  EXPECT_EQ(on.replies[1].text, "");
  EXPECT_EQ(on.replies[1].ToString(), "250 2.0.0");
  EXPECT_EQ(on.replies[2].enhanced, "");
  EXPECT_EQ(on.replies[2].text, "5.0.0 class differs, kept in text");
  EXPECT_EQ(on.replies[3].enhanced, "");
  EXPECT_EQ(on.replies[4].enhanced, "4.123.999");
  EXPECT_EQ(on.replies[4].text, "long parts");
  EXPECT_EQ(on.replies[5].enhanced, "");
}

TEST(ReplyParser, SyntaxErrors) {
  for (const char* bad :
       {"25\r\n", "2x0 hi\r\n", "600 hi\r\n", "160 hi\r\n", "260 hi\r\n",
        "250x hi\r\n", "2500\r\n", "\r\n", " 250 hi\r\n",
        "250-a\r\n251 b\r\n"}) {
    SCOPED_TRACE(bad);
    const Parsed r = ParseAll(bad);
    EXPECT_NE(r.error, "");
    EXPECT_TRUE(r.replies.empty());
  }
}

TEST(ReplyParser, ErrorIsSticky) {
  ReplyParser p;
  size_t used;
  ServerReply reply;
  std::string error;
  EXPECT_EQ(p.Next("bad\r\n", &used, &reply, &error),
            ReplyParser::Status::kError);
  EXPECT_EQ(p.Next("250 ok\r\n", &used, &reply, &error),
            ReplyParser::Status::kError);
}

TEST(ReplyParser, LineLengthLimit) {
  // kMaxReplyLine counts the CRLF.
  const std::string fits = "250 " + std::string(kMaxReplyLine - 6, 'a');
  Parsed r = ParseAll(fits + "\r\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.replies.size(), 1u);
  EXPECT_EQ(r.replies[0].text.size(), kMaxReplyLine - 6);
  r = Parse(fits + "a\r\n", 1);
  EXPECT_NE(r.error.find("longer than 2048"), std::string::npos) << r.error;
  r = Parse(fits + "a\r\n", 5000);
  EXPECT_NE(r.error, "");
  // Bare LF: the line may have one more octet.
  EXPECT_EQ(Parse(fits + "a\n", 1).error, "");
  // Without any LF the parser gives up once the limit is reached, holding
  // no more than kMaxReplyLine octets.
  r = Parse(std::string(kMaxReplyLine, 'a'), 7);
  EXPECT_NE(r.error, "");
  r = Parse(std::string(kMaxReplyLine - 1, 'a'), 7);
  EXPECT_EQ(r.error, "");
}

TEST(ReplyParser, LineCountLimit) {
  std::string ok;
  for (size_t i = 1; i < kMaxReplyLines; ++i) ok += "250-x\r\n";
  Parsed r = Parse(ok + "250 end\r\n", 64);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.replies.size(), 1u);
  r = Parse(ok + "250-x\r\n250 end\r\n", 64);
  EXPECT_NE(r.error.find("more than 200 lines"), std::string::npos);
}

TEST(ReplyParser, MidReply) {
  ReplyParser p;
  size_t used;
  ServerReply reply;
  std::string error;
  EXPECT_FALSE(p.mid_reply());
  EXPECT_EQ(p.Next("250-a\r\n25", &used, &reply, &error),
            ReplyParser::Status::kNeedMore);
  EXPECT_TRUE(p.mid_reply());
  EXPECT_EQ(p.Next("0 b\r\n250 next\r\n", &used, &reply, &error),
            ReplyParser::Status::kReply);
  EXPECT_EQ(used, 5u);
  EXPECT_FALSE(p.mid_reply());
  EXPECT_EQ(reply.text, "a\nb");
}

TEST(ServerReply, ToStringSanitizes) {
  ServerReply r;
  r.code = 550;
  r.text = "bad\r\x01line\nnext\xc3\xa9";
  EXPECT_EQ(r.ToString(), "550 bad  line next\xc3\xa9");
  const ServerReply l = LocalReply(451, "4.4.2", "Connection lost");
  EXPECT_TRUE(l.synthetic);
  EXPECT_EQ(l.ToString(), "451 4.4.2 Connection lost");
}

TEST(EhloCapabilities, AllKeywords) {
  const ServerCapabilities c = ParseEhloCapabilities(
      "mx.example.org PIPELINING STARTTLS\npipelining\nSIZE 52428800\n"
      "8bitmime\nSMTPUTF8\nStartTLS\nDSN\nENHANCEDSTATUSCODES\nCHUNKING\n"
      "AUTH PLAIN LOGIN\nAUTH=PLAIN\nX-UNKNOWN 1 2 3");
  EXPECT_TRUE(c.esmtp);
  EXPECT_TRUE(c.pipelining);
  EXPECT_TRUE(c.size);
  EXPECT_EQ(c.size_limit, 52428800u);
  EXPECT_TRUE(c.eight_bit_mime);
  EXPECT_TRUE(c.smtputf8);
  EXPECT_TRUE(c.starttls);
  EXPECT_TRUE(c.dsn);
  EXPECT_TRUE(c.enhanced_status_codes);
  EXPECT_TRUE(c.chunking);
}

TEST(EhloCapabilities, GreetingLineIsNotAKeyword) {
  const ServerCapabilities c = ParseEhloCapabilities("PIPELINING STARTTLS");
  EXPECT_TRUE(c.esmtp);
  EXPECT_FALSE(c.pipelining);
  EXPECT_FALSE(c.starttls);
  EXPECT_FALSE(c.size);
}

TEST(EhloCapabilities, SizeValues) {
  auto size = [](const char* line, bool* advertised) {
    const ServerCapabilities c =
        ParseEhloCapabilities(std::string("mx\n") + line);
    *advertised = c.size;
    return c.size_limit;
  };
  bool adv = false;
  EXPECT_EQ(size("SIZE", &adv), 0u);
  EXPECT_TRUE(adv);
  EXPECT_EQ(size("SIZE 0", &adv), 0u);
  EXPECT_EQ(size("SIZE  1000  ", &adv), 1000u);
  EXPECT_EQ(size("SIZE 10k", &adv), 0u);
  EXPECT_TRUE(adv);
  EXPECT_EQ(size("SIZE 18446744073709551615", &adv), UINT64_MAX);
  EXPECT_EQ(size("SIZE 18446744073709551616", &adv), 0u);
  EXPECT_EQ(size("SIZE 99999999999999999999999", &adv), 0u);
  EXPECT_EQ(size("SIZES 100", &adv), 0u);
  EXPECT_FALSE(adv);
}

}  // namespace
}  // namespace ringmail::smtp
