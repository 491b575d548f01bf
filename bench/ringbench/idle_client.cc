// idle mode: open sessions and hold them until the run ends, IMAP (LOGIN,
// SELECT, IDLE: RFC 2177) or SMTP (after EHLO). Source addresses are spread
// over 127.0.0.0/8 so one target can take more than one address's
// ephemeral ports.
#include <arpa/inet.h>

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
  const User& user = o.users[static_cast<size_t>(index) % o.users.size()];
  int64_t t = co_await ctx.Pace();
  if (t < 0) co_return absl::OkStatus();
  ScopedClient c(ctx);
  if (absl::Status st = co_await c->Connect(o.target, SourceFor(o, index)); !st.ok()) {
    ctx.Fail(ErrorKind(st));
    co_return absl::OkStatus();
  }
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
      r = co_await Expect(*c, "b OK", 1000000);
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
    co_await c->Close();
    co_return absl::OkStatus();
  }
  ctx.Done("open", t);
  ctx.sessions->fetch_add(1, std::memory_order_relaxed);
  while (!ctx.stopping() && c->connected()) {
    co_await Sleep{ctx.loop(), absl::Milliseconds(250)};
  }
  ctx.sessions->fetch_sub(1, std::memory_order_relaxed);
  t = NowNanos();
  if (!c->connected()) {
    ctx.Fail("dropped");
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
