// idle mode: open sessions and hold them until the run ends, IMAP (LOGIN,
// SELECT, IDLE: RFC 2177) or SMTP (after EHLO). Source addresses are spread
// over 127.0.0.0/8 so one target can take more than one address's
// ephemeral ports. IMAP sessions read what the server sends while they
// IDLE and time each "* n EXISTS" against the deliverer's log
// (deliverer.cc).
#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "bench/ringbench/context.h"

namespace ringmail::ringbench {
namespace {

// Client i binds to 127.x.y.z, 250 clients per address; none is 127.0.0.0.
std::optional<engine::SocketAddress> SourceFor(const Options& o, int index) {
  if (!o.spread_sources || o.target.storage.ss_family != AF_INET ||
      !IsLoopback(o.target)) {
    return std::nullopt;
  }
  int host = index / 250;
  auto a = engine::SocketAddress::Parse(
      absl::StrCat("127.", 1 + (host / 250) % 250, ".", host % 250, ".", 1 + index % 250, ":0"));
  if (!a.ok()) return std::nullopt;
  return *a;
}

// Reads until a line starting with `prefix` (skipping others); false on error.
Task<absl::StatusOr<std::string>> Expect(Client& c, std::string prefix, int max_lines = 100) {
  for (int i = 0; i < max_lines; ++i) {
    auto l = co_await c.ReadLine();
    if (!l.ok()) co_return l.status();
    if (l->rfind(prefix, 0) == 0) co_return l;
    if (l->size() >= 4 && (l->compare(3, 1, " ") == 0 || l->rfind("-ERR", 0) == 0) &&
        prefix.size() == 4 && isdigit(prefix[0])) {
      co_return absl::FailedPreconditionError(absl::StrCat("smtp_", l->substr(0, 3)));
    }
    if (l->find(" NO ") != std::string::npos || l->find(" BAD ") != std::string::npos) {
      co_return absl::FailedPreconditionError("imap_no");
    }
  }
  co_return absl::InvalidArgumentError("protocol");
}

// How long a session polls the stop condition while it waits in IDLE.
constexpr absl::Duration kIdlePoll = absl::Milliseconds(100);
// At the end of the run, how long a session waits for the EXISTS of
// messages already delivered to its user before counting them missing.
constexpr int64_t kExistsGraceNs = 2'000'000'000;

// What an IDLE session knows of its mailbox: EXISTS after SELECT (`base`)
// and the highest EXISTS seen since.
struct ExistsTracker {
  size_t user = 0;
  uint32_t base = 0;
  uint32_t seen = 0;
};

// Records the latency of every message the EXISTS `n` announces that the
// deliverer logged for this session's user.
void OnExists(ThreadContext& ctx, ExistsTracker& t, uint32_t n) {
  if (n <= t.seen) return;
  int64_t now = NowNanos();
  if (ctx.deliveries != nullptr) {
    for (const DeliveryLog::Times& d : ctx.deliveries->Get(t.user, t.seen - t.base, n - t.base)) {
      ctx.Done("exists_latency", d.data_end_ns);
      // The EXISTS may beat the 250 to the client: that counts as 0.
      ctx.Done("exists_after_250", d.accepted_ns != 0 ? std::min(d.accepted_ns, now) : now);
    }
  }
  t.seen = n;
}

// Messages logged for the user that this session has not seen yet.
size_t Missing(const ThreadContext& ctx, const ExistsTracker& t) {
  if (ctx.deliveries == nullptr) return 0;
  size_t logged = ctx.deliveries->count(t.user);
  size_t seen = t.seen - t.base;
  return logged > seen ? logged - seen : 0;
}

// Reads the lines the server sends until `until` (monotonic ns) or the run
// stops (`until` < 0: only the stop condition), feeding EXISTS to `t`.
// With `until_caught_up`, also returns once nothing is missing.
Task<absl::Status> ReadWhileIdle(ThreadContext& ctx, Client& c, ExistsTracker& t, int64_t until,
                                 bool until_caught_up) {
  while (c.connected()) {
    if (until < 0 ? ctx.stopping() : NowNanos() >= until) break;
    if (until_caught_up && Missing(ctx, t) == 0) break;
    if (!c.HasLine()) {
      co_await c.WaitInput(kIdlePoll);
      continue;
    }
    absl::StatusOr<std::string> l = co_await c.ReadLine();
    if (!l.ok()) co_return l.status();
    if (auto n = ParseExists(*l)) OnExists(ctx, t, *n);
  }
  co_return absl::OkStatus();
}

std::string Kind(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kFailedPrecondition ||
      s.code() == absl::StatusCode::kInvalidArgument) {
    return std::string(s.message());
  }
  return ErrorKind(s);
}

}  // namespace

Task<absl::Status> RunIdleClient(ThreadContext& ctx, int index) {
  const Options& o = ctx.opts();
  const bool imap = o.idle_protocol == "imap";
  const size_t user_index = static_cast<size_t>(index) % o.users.size();
  const User& user = o.users[user_index];
  auto settle = [&] {
    if (ctx.settled != nullptr) ctx.settled->fetch_add(1, std::memory_order_relaxed);
  };
  int64_t t = co_await ctx.Pace();
  if (t < 0) {
    settle();
    co_return absl::OkStatus();
  }
  ScopedClient c(ctx);
  if (absl::Status st = co_await c->Connect(o.target, SourceFor(o, index)); !st.ok()) {
    ctx.Fail(ErrorKind(st));
    settle();
    co_return absl::OkStatus();
  }
  ExistsTracker exists;
  exists.user = user_index;
  absl::StatusOr<std::string> r;
  if (imap) {
    r = co_await Expect(*c, "* OK");
    if (r.ok()) {
      c->Write(absl::StrCat("a LOGIN \"", user.name, "\" \"", user.password, "\"\r\n"));
      c->Flush();
      r = co_await Expect(*c, "a OK");
    }
    if (r.ok()) {
      c->Write(absl::StrCat("b SELECT ", o.mailbox, "\r\nc IDLE\r\n"));
      c->Flush();
      // SELECT's EXISTS is the base the deliverer's ordinals count from.
      for (int lines = 0; r.ok() && lines < 1000000; ++lines) {
        r = co_await c->ReadLine();
        if (!r.ok() || r->rfind("b ", 0) == 0) break;
        if (auto n = ParseExists(*r)) exists.base = exists.seen = *n;
      }
      if (r.ok() && r->rfind("b OK", 0) != 0) r = absl::FailedPreconditionError("imap_no");
    }
    if (r.ok()) r = co_await Expect(*c, "+", 1000000);
  } else {
    r = co_await Expect(*c, "220 ");
    if (r.ok()) {
      c->Write(absl::StrCat("EHLO ", o.helo, "\r\n"));
      c->Flush();
      r = co_await Expect(*c, "250 ");
    }
  }
  if (!r.ok()) {
    ctx.Fail(Kind(r.status()));
    settle();
    co_await c->Close();
    co_return absl::OkStatus();
  }
  ctx.Done("open", t);
  ctx.sessions->fetch_add(1, std::memory_order_relaxed);
  settle();
  absl::Status idle_status;
  if (imap) {
    idle_status = co_await ReadWhileIdle(ctx, *c, exists, -1, false);
    // Mail delivered near the end: give its EXISTS a moment to arrive.
    if (idle_status.ok() && Missing(ctx, exists) > 0) {
      idle_status = co_await ReadWhileIdle(ctx, *c, exists, NowNanos() + kExistsGraceNs, true);
    }
  } else {
    while (!ctx.stopping() && c->connected()) {
      co_await Sleep{ctx.loop(), absl::Milliseconds(250)};
    }
  }
  ctx.sessions->fetch_sub(1, std::memory_order_relaxed);
  for (size_t m = Missing(ctx, exists); m > 0; --m) ctx.Fail("exists_missing");
  t = NowNanos();
  if (!idle_status.ok() || !c->connected()) {
    ctx.Fail(idle_status.ok() ? "dropped" : Kind(idle_status));
    co_await c->Close();
    co_return absl::OkStatus();
  }
  if (imap) {
    c->Write("DONE\r\nd LOGOUT\r\n");
    c->Flush();
    r = co_await Expect(*c, "c OK", 1000000);
    if (r.ok()) r = co_await Expect(*c, "d OK", 1000);
  } else {
    c->Write("QUIT\r\n");
    c->Flush();
    r = co_await Expect(*c, "221 ");
  }
  if (r.ok()) ctx.Done("close", t); else ctx.Fail(Kind(r.status()));
  co_await c->Close();
  co_return absl::OkStatus();
}

}  // namespace ringmail::ringbench
