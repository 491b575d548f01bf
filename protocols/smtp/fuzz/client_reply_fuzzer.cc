// libFuzzer: ReplyParser on what a remote SMTP server sends (untrusted: the
// relay talks to any MX on the Internet), and ParseEhloCapabilities on the
// text of every reply. The first input octet chooses the piece size and
// whether ENHANCEDSTATUSCODES is on; the rest is the server's byte stream.
//
// Invariants: the stream parsed whole and in pieces gives the same replies
// and the same error; kNeedMore consumes everything, kReply ends right after
// an LF and never over-consumes; once failed, the parser stays failed; a
// reply's code is a RFC 5321 reply code, its enhanced code "c.s.d" of the
// reply's class (and only when enabled), its text at most kMaxReplyLines
// lines of less than kMaxReplyLine octets; ToString() has no control octet;
// the octets a parser buffers stay below kMaxReplyLine.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/smtp/client_reply.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::smtp::kMaxReplyLine;
using ringmail::smtp::kMaxReplyLines;
using ringmail::smtp::ParseEhloCapabilities;
using ringmail::smtp::ReplyParser;
using ringmail::smtp::ServerCapabilities;
using ringmail::smtp::ServerReply;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "c.s.d": class digit, then 1-3 digits, '.', 1-3 digits.
bool IsEnhancedCode(std::string_view s, int reply_class) {
  if (s.size() < 5 || s[0] != static_cast<char>('0' + reply_class) || s[1] != '.') {
    return false;
  }
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const size_t start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == start || i - start > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

void CheckReply(const ServerReply& r, bool enhanced_on) {
  FUZZ_CHECK(r.code >= 200 && r.code <= 559 && (r.code / 10) % 10 <= 5);
  FUZZ_CHECK(!r.synthetic);
  if (!r.enhanced.empty()) {
    FUZZ_CHECK(enhanced_on);
    FUZZ_CHECK(IsEnhancedCode(r.enhanced, r.code / 100));
  }
  size_t lines = 1, line_len = 0;
  for (char c : r.text) {
    if (c == '\n') {
      ++lines;
      line_len = 0;
    } else {
      FUZZ_CHECK(++line_len < kMaxReplyLine);
    }
  }
  FUZZ_CHECK(lines <= kMaxReplyLines);
  const std::string s = r.ToString();
  FUZZ_CHECK(s.substr(0, 3) == std::to_string(r.code));
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    FUZZ_CHECK(u >= 0x20 && u != 0x7f);
  }
  const ServerCapabilities caps = ParseEhloCapabilities(r.text);
  FUZZ_CHECK(caps.esmtp);
  if (!caps.size) FUZZ_CHECK(caps.size_limit == 0);
}

struct Outcome {
  std::vector<ServerReply> replies;
  std::string error;  // "" unless the parser failed
  bool mid_reply = false;
};

// Feeds `in` in pieces of `piece` octets, as the session does with what one
// read returned.
Outcome Parse(std::string_view in, size_t piece, bool enhanced) {
  ReplyParser p;
  p.set_enhanced_codes(enhanced);
  Outcome out;
  size_t buffered = 0;  // octets of the current line the parser holds
  for (size_t at = 0; at < in.size(); at += piece) {
    std::string_view chunk = in.substr(at, piece);
    while (!chunk.empty()) {
      size_t used = 12345;
      ServerReply reply;
      std::string error;
      const ReplyParser::Status st = p.Next(chunk, &used, &reply, &error);
      if (st == ReplyParser::Status::kError) {
        FUZZ_CHECK(!error.empty());
        // Dead for good.
        std::string again;
        FUZZ_CHECK(p.Next("250 ok\r\n", &used, &reply, &again) ==
                  ReplyParser::Status::kError &&
              used == 0 && !again.empty());
        out.error = error;
        return out;
      }
      FUZZ_CHECK(used <= chunk.size());
      if (st == ReplyParser::Status::kNeedMore) {
        FUZZ_CHECK(used == chunk.size());
        const size_t lf = chunk.rfind('\n');
        buffered = lf == std::string_view::npos ? buffered + chunk.size()
                                                : chunk.size() - lf - 1;
        FUZZ_CHECK(buffered < kMaxReplyLine);
        FUZZ_CHECK(p.mid_reply() || buffered == 0);
      } else {
        FUZZ_CHECK(used > 0 && chunk[used - 1] == '\n');
        CheckReply(reply, enhanced);
        out.replies.push_back(std::move(reply));
        buffered = 0;
      }
      chunk.remove_prefix(used);
    }
  }
  out.mid_reply = p.mid_reply();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool enhanced = data[0] & 1;
  const size_t piece = 1 + (data[0] >> 1);  // 1..128
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  const Outcome whole = Parse(in, in.size() + 1, enhanced);
  const Outcome split = Parse(in, piece, enhanced);
  FUZZ_CHECK(whole.error == split.error);
  FUZZ_CHECK(whole.mid_reply == split.mid_reply);
  FUZZ_CHECK(whole.replies.size() == split.replies.size());
  for (size_t i = 0; i < whole.replies.size(); ++i) {
    const ServerReply& a = whole.replies[i];
    const ServerReply& b = split.replies[i];
    FUZZ_CHECK(a.code == b.code && a.enhanced == b.enhanced && a.text == b.text);
  }
  return 0;
}
