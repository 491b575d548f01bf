// idle mode's deliverer: once every idle session is open, sends messages by
// SMTP (RFC 5321, one transaction at a time over one connection) to the
// users that hold sessions, round robin at --deliver-rate, and logs when
// each DATA ended and when its 250 arrived (DeliveryLog) for the sessions
// to time their "* n EXISTS" against.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bench/ringbench/context.h"
#include "bench/ringbench/message.h"

namespace ringmail::ringbench {
namespace {

// While sessions are still opening, how often the deliverer looks.
constexpr absl::Duration kSettlePoll = absl::Milliseconds(50);
// Deliveries stop this long before the run ends (at most a quarter of the
// run), so the last EXISTS reach the sessions before they leave IDLE.
constexpr int64_t kTailNs = 1'000'000'000;
// After a failed connection, wait before trying again.
constexpr absl::Duration kReconnectDelay = absl::Milliseconds(100);

// Sends one command and checks the reply code; false (and an error
// recorded) otherwise.
Task<bool> Command(ThreadContext& ctx, Client& c, const std::string& line, int want) {
  if (!line.empty()) {
    c.Write(line);
    c.Flush();
  }
  absl::StatusOr<int> code = co_await ReadSmtpReplyCode(c);
  if (!code.ok()) {
    ctx.Fail(code.status().code() == absl::StatusCode::kInvalidArgument ? "protocol"
                                                                        : ErrorKind(code.status()));
    co_return false;
  }
  if (*code != want) {
    ctx.Fail(absl::StrCat("smtp_", *code));
    co_return false;
  }
  co_return true;
}

}  // namespace

Task<absl::Status> RunDeliverer(ThreadContext& ctx) {
  const Options& o = ctx.opts();
  DeliveryLog& log = *ctx.deliveries;
  while (!ctx.stopping() && ctx.settled->load(std::memory_order_relaxed) < o.connections) {
    co_await Sleep{ctx.loop(), kSettlePoll};
  }
  if (o.deliver_delay_s > 0 && !ctx.stopping()) {
    co_await Sleep{ctx.loop(), absl::Seconds(o.deliver_delay_s)};
  }
  const int64_t start = NowNanos();
  const int64_t stop_ns = ctx.end_ns() - std::min(kTailNs, (ctx.end_ns() - start) / 4);
  const size_t targets = std::min(o.users.size(), static_cast<size_t>(o.connections));
  const int64_t interval_ns = static_cast<int64_t>(1e9 / o.deliver_rate);
  int64_t due = start;
  size_t next = 0;
  int64_t delivered = 0;
  auto more = [&] {
    return !ctx.stopping() && NowNanos() < stop_ns &&
           (o.deliver_count == 0 || delivered < o.deliver_count);
  };
  while (more()) {
    ScopedClient c(ctx);
    if (absl::Status s = co_await c->Connect(o.smtp_target, std::nullopt); !s.ok()) {
      ctx.Fail(ErrorKind(s));
      co_await Sleep{ctx.loop(), kReconnectDelay};
      continue;
    }
    bool ok = co_await Command(ctx, *c, "", 220);
    if (ok) ok = co_await Command(ctx, *c, absl::StrCat("EHLO ", o.helo, "\r\n"), 250);
    while (ok && more()) {
      // Open loop: a slow server makes deliveries late, not fewer; after a
      // stall of over a second the schedule restarts from now (no burst).
      int64_t now = NowNanos();
      if (due > now) co_await Sleep{ctx.loop(), absl::Nanoseconds(due - now)};
      due = std::max(due + interval_ns, NowNanos() - 1'000'000'000);
      if (!more()) break;
      size_t user = next++ % targets;
      if (log.count(user) >= DeliveryLog::kMaxPerUser) break;
      const std::string& rcpt = o.users[user].name;
      ok = co_await Command(ctx, *c, absl::StrCat("MAIL FROM:<", o.mail_from, ">\r\n"), 250);
      if (ok) ok = co_await Command(ctx, *c, absl::StrCat("RCPT TO:<", rcpt, ">\r\n"), 250);
      if (ok) ok = co_await Command(ctx, *c, "DATA\r\n", 354);
      if (!ok) break;
      std::string body = MakeMessage(o.size, ctx.rng(), o.mail_from, rcpt);
      c->Write(body);
      c->Write(".\r\n");
      const int64_t data_end = NowNanos();
      std::optional<size_t> ordinal = log.Sent(user, data_end);
      c->Flush();  // after logging: the EXISTS cannot precede its entry
      ok = co_await Command(ctx, *c, "", 250);
      if (!ordinal) continue;
      if (ok) {
        log.Accepted(user, *ordinal, NowNanos());
        ctx.Done("deliver", data_end, body.size());
        ++delivered;
      } else {
        log.Withdraw(user, *ordinal);
      }
    }
    if (ok) ok = co_await Command(ctx, *c, "QUIT\r\n", 221);
    co_await c->Close();
  }
  // The sessions still wait (bounded) for the EXISTS of what was delivered.
  if (o.deliver_count > 0 && delivered >= o.deliver_count) {
    ctx.end_early->store(true, std::memory_order_relaxed);
  }
  co_return absl::OkStatus();
}

}  // namespace ringmail::ringbench
