#include "protocols/imap/command_reader.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocols/imap/reader_test_util.h"

namespace ringmail::imap {
namespace {

using testing_util::Events;
using V = std::vector<std::string>;

void Expect(std::string_view in, const V& want, bool authenticated = true,
            bool reject = false) {
  EXPECT_EQ(Events(in, in.size(), authenticated, reject), want) << "whole";
  EXPECT_EQ(Events(in, 1, authenticated, reject), want) << "bytewise";
  EXPECT_EQ(Events(in, 7, authenticated, reject), want) << "step 7";
}

TEST(CommandReader, SimpleCommands) {
  Expect("a1 NOOP\r\nA2 capability\nx uid fetch 1:* (FLAGS UID)\r\n",
         {"CMD a1 NOOP", "CMD A2 CAPABILITY", "CMD x UID FETCH $1:*$ (FLAGS UID)"});
}

TEST(CommandReader, TokenKinds) {
  Expect("t SEARCH nil 12 1,3:5 $ \"q \\\"x\\\\\" (a (b)) {3+}\r\nabc\r\n",
         {"CMD t SEARCH NIL #12 $1,3:5$ $$$ \"q \\\"x\\\\\" (a (b)) {abc}"});
}

TEST(CommandReader, BracketedFetchAtom) {
  Expect("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> FLAGS)\r\n",
         {"CMD a FETCH #1 (BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> FLAGS)"});
}

TEST(CommandReader, SynchronisingLiteralAsksForContinuation) {
  Expect("a LOGIN {4}\r\nuser {6}\r\npa ss\"\r\n",
         {"+", "+", "CMD a LOGIN {user} {pa ss\"}"});
}

TEST(CommandReader, QuotedAnnouncementIsNotALiteral) {
  Expect("a LOGIN \"{4}\" x\r\n", {"CMD a LOGIN \"{4}\" x"});
}

TEST(CommandReader, AppendStreamsTheMessage) {
  Expect("a APPEND INBOX (\\Seen) \"01-Jan-2020 10:00:00 +0000\" {11}\r\n"
         "Hello\r\nBody\r\nb NOOP\r\n",
         {"APPEND a INBOX (\\Seen) \"01-Jan-2020 10:00:00 +0000\" size=11 sync",
          "DATA Hello\r\nBody", "END", "CMD b NOOP"});
}

}  // namespace
}  // namespace ringmail::imap

namespace ringmail::imap {
namespace {

using testing_util::Events;
using V = std::vector<std::string>;

void Expect2(std::string_view in, const V& want, bool authenticated = true,
             bool reject = false) {
  EXPECT_EQ(Events(in, in.size(), authenticated, reject), want) << "whole";
  EXPECT_EQ(Events(in, 1, authenticated, reject), want) << "bytewise";
  EXPECT_EQ(Events(in, 5, authenticated, reject), want) << "step 5";
}

TEST(CommandReader, AppendWithLiteralMailboxAndNonSync) {
  Expect2("a APPEND {5+}\r\nINBOX {3+}\r\nxyz\r\n",
          {"APPEND a {INBOX} size=3 nonsync", "DATA xyz", "END"});
  Expect2("a APPEND {5}\r\nINBOX {3}\r\nxyz\r\n",
          {"+", "APPEND a {INBOX} size=3 sync", "DATA xyz", "END"});
}

TEST(CommandReader, AppendRejected) {
  // Synchronising: the client sends nothing more for this command.
  Expect2("a APPEND nobox {3}\r\nb NOOP\r\n",
          {"APPEND a nobox size=3 sync", "CMD b NOOP"}, true, true);
  // Non-synchronising: the literal is skipped.
  Expect2("a APPEND nobox {3+}\r\nb N\r\nc NOOP\r\n",
          {"APPEND a nobox size=3 nonsync", "CMD c NOOP"}, true, true);
}

TEST(CommandReader, AppendTrailingGarbage) {
  Expect2("a APPEND x {2+}\r\nhi junk {3+}\r\nabc\r\nb NOOP\r\n",
          {"APPEND a x size=2 nonsync", "DATA hi",
           "END-BAD a BAD Unexpected data after APPEND message\r\n",
           "CMD b NOOP"});
}

TEST(CommandReader, AppendTooBig) {
  Expect2("a APPEND x {9000}\r\nb NOOP\r\n",
          {"ERR a NO [TOOBIG] Message too big\r\n", "CMD b NOOP"}, false);
  Expect2("a APPEND x {9000+}\r\n" + std::string(9000, 'x') + "\r\nb NOOP\r\n",
          {"ERR a NO [TOOBIG] Message too big\r\n", "CMD b NOOP"}, false);
}

TEST(CommandReader, PreAuthLiteralLimit) {
  Expect2("a LOGIN {8193}\r\nb NOOP\r\n",
          {"ERR a BAD [TOOBIG] Literal too big\r\n", "CMD b NOOP"}, false);
  Expect2("a LOGIN {8192}\r\n" + std::string(8192, 'u') + " p\r\n",
          {"+", "CMD a LOGIN {" + std::string(8192, 'u') + "} p"}, false);
}

TEST(CommandReader, SyntaxErrorsResynchronise) {
  Expect2("a FOO\r\nb UID NOOP\r\nc FETCH (1\r\nd LOGIN \"x\\y\"\r\n"
          "e NOOP\r\n* NOOP\r\nf LOGIN a\"b\r\n",
          {"ERR a BAD Unknown command\r\n", "ERR b BAD Command has no UID form\r\n",
           "ERR c BAD Missing ')'\r\n",
           "ERR d BAD Invalid escape in quoted string\r\n", "CMD e NOOP",
           "ERR * BAD Invalid tag\r\n",
           "ERR f BAD Invalid characters in atom\r\n"});
}

TEST(CommandReader, LineTooLongResynchronises) {
  const std::string big(kMaxCommandLine + 10, 'x');
  Expect2("a NOOP " + big + " {3+}\r\nabc\r\nb NOOP\r\n",
          {"ERR a BAD Command line too long\r\n", "CMD b NOOP"});
}

TEST(CommandReader, NestingLimit) {
  std::string deep = "a SEARCH " + std::string(kMaxListDepth + 1, '(') + "ALL" +
                     std::string(kMaxListDepth + 1, ')') + "\r\n";
  Expect2(deep, {"ERR a BAD Too deep list nesting\r\n"});
}

TEST(CommandReader, GarbageGetsBye) {
  std::string junk;
  for (int i = 0; i < 20; ++i) junk += "garbage\r\n";
  V want;
  for (int i = 0; i < kMaxConsecutiveErrors; ++i) {
    want.push_back("ERR garbage BAD Missing command name\r\n");
  }
  want.push_back("FATAL * BYE Too many invalid commands\r\n");
  Expect2(junk, want);
  // Endless bytes without a line end.
  V got = Events(std::string(kMaxCommandLine + kMaxDiscardedLine + 10, 'z'), 4096);
  EXPECT_EQ(got, V{"FATAL * BYE Too much invalid input\r\n"});
  // A non-synchronising literal too big to skip.
  EXPECT_EQ(Events("a LOGIN {999999999999+}\r\n", 1),
            V{"FATAL * BYE Literal too big\r\n"});
}

TEST(CommandReader, RawLinesForAuthenticate) {
  Expect2("a AUTHENTICATE PLAIN\r\nAHVzZXIAcGFzcw==\r\nb NOOP\r\n",
          {"CMD a AUTHENTICATE PLAIN", "RAW AHVzZXIAcGFzcw==", "CMD b NOOP"});
}

TEST(CommandReader, ZeroCopyWhenWhole) {
  CommandReader r;
  const std::string in = "a NOOP\r\n";
  size_t used = 0;
  ASSERT_EQ(r.Next(in, &used), CommandReader::Event::kCommand);
  EXPECT_EQ(r.command().tag.data(), in.data());
}

}  // namespace
}  // namespace ringmail::imap

namespace ringmail::imap {
namespace {

// Between commands and while waiting for IDLE's DONE the reader frees its
// buffers (an idle session holds no reader heap); reading goes on as if
// nothing happened, including a DONE line split over several inputs.
TEST(CommandReader, KeepsWorkingAfterReleasingIdleMemory) {
  CommandReader r;
  r.set_authenticated(true);
  size_t used = 0;
  std::string first = "a SELECT INBOX\r\n";
  ASSERT_EQ(r.Next(first, &used), CommandReader::Event::kCommand);
  EXPECT_EQ(r.command().tag, "a");
  ASSERT_EQ(r.Next(std::string_view(first).substr(used), &used),
            CommandReader::Event::kNeedMore);  // nothing in progress: released
  std::string idle = "b IDLE\r\n";
  ASSERT_EQ(r.Next(idle, &used), CommandReader::Event::kCommand);
  r.ExpectRawLine();
  EXPECT_EQ(r.Next("", &used), CommandReader::Event::kNeedMore);
  EXPECT_EQ(r.Next("DO", &used), CommandReader::Event::kNeedMore);
  ASSERT_EQ(r.Next("NE\r\n", &used), CommandReader::Event::kRawLine);
  EXPECT_EQ(r.raw_line(), "DONE");
  std::string split1 = "c UID FETCH 1:* (FL", split2 = "AGS)\r\n";
  EXPECT_EQ(r.Next(split1, &used), CommandReader::Event::kNeedMore);
  ASSERT_EQ(r.Next(split2, &used), CommandReader::Event::kCommand);
  EXPECT_EQ(r.command().tag, "c");
  EXPECT_TRUE(r.command().uid);
  EXPECT_EQ(r.command().args.size(), 2u);
}

}  // namespace
}  // namespace ringmail::imap
