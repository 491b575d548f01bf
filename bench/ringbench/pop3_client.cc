// pop3 mode (RFC 1939): USER/PASS, STAT, LIST, UIDL, RETR of every message
// (its size checked against LIST), optional DELE, QUIT; one session per
// iteration.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/ringbench/context.h"

namespace ringmail::ringbench {
namespace {

constexpr size_t kMaxMessagesPerSession = 100000;

// "+OK ..." -> OK; "-ERR [IN-USE] ..." -> FailedPrecondition with the
// kind in the message.
Task<absl::StatusOr<std::string>> Status(Client& c) {
  absl::StatusOr<std::string> line = co_await c.ReadLine();
  if (!line.ok()) co_return line.status();
  if (line->rfind("+OK", 0) == 0) co_return line;
  if (line->rfind("-ERR", 0) == 0) {
    co_return absl::FailedPreconditionError(
        line->find("[IN-USE]") != std::string::npos ? "pop3_in_use"
        : line->find("[AUTH]") != std::string::npos ? "pop3_auth" : "pop3_err");
  }
  co_return absl::InvalidArgumentError("protocol");
}

std::string Kind(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kFailedPrecondition ||
      s.code() == absl::StatusCode::kInvalidArgument) {
    return std::string(s.message());
  }
  return ErrorKind(s);
}

}  // namespace

Task<absl::Status> RunPop3Client(ThreadContext& ctx, int index) {
  const Options& o = ctx.opts();
  const User& user = o.users[static_cast<size_t>(index) % o.users.size()];
  while (!ctx.stopping()) {
    int64_t session_start = co_await ctx.Pace();
    if (session_start < 0) break;
    ScopedClient c(ctx);
    if (absl::Status s = co_await c->Connect(o.target, std::nullopt); !s.ok()) {
      ctx.Fail(ErrorKind(s));
      continue;
    }
    absl::Status err;
    // One command: write, read the status line, time it under `op`.
    auto command = [&](const std::string& op, std::string cmd) -> Task<absl::StatusOr<std::string>> {
      int64_t t = NowNanos();
      c->Write(cmd);
      c->Flush();
      absl::StatusOr<std::string> r = co_await Status(*c);
      if (r.ok() && !op.empty()) ctx.Done(op, t);
      co_return r;
    };
    absl::StatusOr<std::string> r = co_await Status(*c);  // greeting
    int64_t t = NowNanos();
    if (r.ok()) r = co_await command("", absl::StrCat("USER ", user.name, "\r\n"));
    if (r.ok()) r = co_await command("", absl::StrCat("PASS ", user.password, "\r\n"));
    if (r.ok()) ctx.Done("login", t);
    size_t count = 0;
    if (r.ok()) r = co_await command("stat", "STAT\r\n");
    if (r.ok()) {
      std::vector<absl::string_view> f = absl::StrSplit(*r, ' ');
      if (f.size() < 3 || !absl::SimpleAtoi(f[1], &count) || count > kMaxMessagesPerSession) {
        r = absl::InvalidArgumentError("protocol");
      }
    }
    std::vector<size_t> sizes;
    if (r.ok()) {
      t = NowNanos();
      r = co_await command("", "LIST\r\n");
      if (r.ok()) r = co_await c->ReadDotBlock();
      if (r.ok()) {
        for (absl::string_view l : absl::StrSplit(*r, "\r\n", absl::SkipEmpty())) {
          std::vector<absl::string_view> f = absl::StrSplit(l, ' ');
          size_t n, sz;
          if (f.size() != 2 || !absl::SimpleAtoi(f[0], &n) || !absl::SimpleAtoi(f[1], &sz) ||
              n != sizes.size() + 1) {
            r = absl::InvalidArgumentError("check_list");
            break;
          }
          sizes.push_back(sz);
        }
        if (r.ok() && sizes.size() != count) r = absl::InvalidArgumentError("check_list");
        if (r.ok()) ctx.Done("list", t);
      }
    }
    if (r.ok()) {
      t = NowNanos();
      r = co_await command("", "UIDL\r\n");
      if (r.ok()) r = co_await c->ReadDotBlock();
      if (r.ok()) {
        size_t lines = 0;
        for (absl::string_view l : absl::StrSplit(*r, "\r\n", absl::SkipEmpty())) {
          (void)l;
          ++lines;
        }
        if (lines != count) {
          r = absl::InvalidArgumentError("check_uidl");
        } else {
          ctx.Done("uidl", t);
        }
      }
    }
    for (size_t i = 1; r.ok() && i <= count && !ctx.stopping(); ++i) {
      t = NowNanos();
      r = co_await command("", absl::StrCat("RETR ", i, "\r\n"));
      if (r.ok()) r = co_await c->ReadDotBlock();
      if (r.ok()) {
        // RFC 1939 §11: LIST gives the exact octet count of the message as
        // RETR sends it, before byte-stuffing.
        if (r->size() != sizes[i - 1]) {
          r = absl::InvalidArgumentError("check_retr_size");
        } else {
          ctx.Done("retr", t, r->size());
        }
      }
      if (r.ok() && o.dele) r = co_await command("dele", absl::StrCat("DELE ", i, "\r\n"));
    }
    if (r.ok()) r = co_await command("quit", "QUIT\r\n");
    if (r.ok()) {
      ctx.Done("session", session_start);
    } else {
      ctx.Fail(Kind(r.status()));
    }
    co_await c->Close();
  }
  co_return absl::OkStatus();
}

}  // namespace ringmail::ringbench
