// smtp and lmtp modes: message transactions over SMTP (RFC 5321) or LMTP
// (RFC 2033), with or without PIPELINING (RFC 2920).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/ringbench/context.h"
#include "bench/ringbench/message.h"

namespace ringmail::ringbench {
namespace {

// A reply: its code and whether its lines advertised PIPELINING and SIZE.
struct Reply {
  int code = 0;
  bool pipelining = false;
  bool size = false;
};

// Reads one (possibly multi-line, "250-...") reply; a malformed line is a
// protocol error.
Task<absl::StatusOr<Reply>> ReadReply(Client& c) {
  Reply r;
  for (int lines = 0; lines < 1000; ++lines) {
    absl::StatusOr<std::string> line = co_await c.ReadLine();
    if (!line.ok()) co_return line.status();
    const std::string& l = *line;
    if (l.size() < 3 || !isdigit(l[0]) || !isdigit(l[1]) || !isdigit(l[2]) ||
        (l.size() > 3 && l[3] != ' ' && l[3] != '-')) {
      co_return absl::InvalidArgumentError(absl::StrCat("bad reply line '", l.substr(0, 80), "'"));
    }
    r.code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (l.size() >= 14 && l.compare(4, 10, "PIPELINING") == 0) r.pipelining = true;
    if (l.size() >= 8 && l.compare(4, 4, "SIZE") == 0 && (l.size() == 8 || l[8] == ' ')) {
      r.size = true;
    }
    if (l.size() == 3 || l[3] == ' ') co_return r;
  }
  co_return absl::InvalidArgumentError("reply with too many lines");
}

std::string ReplyKind(int code) { return absl::StrCat("smtp_", code); }

}  // namespace

Task<absl::StatusOr<int>> ReadSmtpReplyCode(Client& c) {
  absl::StatusOr<Reply> r = co_await ReadReply(c);
  if (!r.ok()) co_return r.status();
  co_return r->code;
}

Task<absl::Status> RunSmtpClient(ThreadContext& ctx, int index) {
  const Options& o = ctx.opts();
  const bool lmtp = o.mode == "lmtp";
  size_t next_rcpt = static_cast<size_t>(index) * o.recipients;
  while (!ctx.stopping()) {
    ScopedClient c(ctx);
    int64_t t0 = NowNanos();
    if (absl::Status s = co_await c->Connect(o.target, std::nullopt); !s.ok()) {
      ctx.Fail(ErrorKind(s));
      continue;
    }
    bool ok = true;
    bool pipelining = false;
    bool size_ext = false;
    auto fail = [&](const absl::Status& s) {
      ctx.Fail(s.code() == absl::StatusCode::kInvalidArgument ? "protocol" : ErrorKind(s));
      ok = false;
    };
    absl::StatusOr<Reply> r = co_await ReadReply(*c);
    if (!r.ok()) {
      fail(r.status());
    } else if (r->code != 220) {
      ctx.Fail(ReplyKind(r->code));
      ok = false;
    }
    if (ok) {
      c->Write(absl::StrCat(lmtp ? "LHLO " : "EHLO ", o.helo, "\r\n"));
      c->Flush();
      r = co_await ReadReply(*c);
      if (!r.ok()) {
        fail(r.status());
      } else if (r->code != 250) {
        ctx.Fail(ReplyKind(r->code));
        ok = false;
      } else {
        pipelining = o.pipelining && r->pipelining;
        size_ext = r->size;
        ctx.Done("connect", t0);
      }
    }
    int per_conn = o.new_connection_per_message ? 1 : o.messages_per_connection;
    for (int m = 0; ok && m < per_conn && !ctx.stopping(); ++m) {
      int64_t start = co_await ctx.Pace();
      if (start < 0) break;
      std::vector<std::string> rcpts;
      for (int k = 0; k < o.recipients; ++k) {
        rcpts.push_back(o.users[next_rcpt++ % o.users.size()].name);
      }
      std::string body = MakeMessage(o.size, ctx.rng(), o.mail_from, rcpts.front());
      // Command phase: with PIPELINING every command goes in one write and
      // the replies are read afterwards (RFC 2920 §3.1: DATA ends a group).
      std::vector<std::string> cmds;
      // SIZE= only where advertised (RFC 1870 §6; Dovecot's LMTP has no
      // SIZE and answers 555 to the parameter).
      cmds.push_back(size_ext ? absl::StrCat("MAIL FROM:<", o.mail_from, "> SIZE=", body.size(),
                                             "\r\n")
                              : absl::StrCat("MAIL FROM:<", o.mail_from, ">\r\n"));
      for (const std::string& rc : rcpts) cmds.push_back(absl::StrCat("RCPT TO:<", rc, ">\r\n"));
      cmds.push_back("DATA\r\n");
      int accepted = 0;
      for (size_t i = 0; ok && i < cmds.size(); ++i) {
        if (pipelining && i == 0) {
          for (const std::string& cmd : cmds) c->Write(cmd);
          c->Flush();
        } else if (!pipelining) {
          c->Write(cmds[i]);
          c->Flush();
        }
        r = co_await ReadReply(*c);
        if (!r.ok()) {
          fail(r.status());
          break;
        }
        int want = i + 1 == cmds.size() ? 354 : 250;
        if (r->code == want || (want == 250 && r->code == 251)) {
          if (i > 0 && i + 1 < cmds.size()) ++accepted;
          continue;
        }
        ctx.Fail(ReplyKind(r->code));
        if (i + 1 == cmds.size() || i == 0) ok = false;  // no DATA / no MAIL
      }
      if (!ok) break;
      c->Write(body);
      c->Write(".\r\n");
      c->Flush();
      // LMTP: one reply per accepted recipient (RFC 2033 §4.2).
      int replies = lmtp ? accepted : 1;
      bool delivered = true;
      for (int i = 0; i < replies; ++i) {
        r = co_await ReadReply(*c);
        if (!r.ok()) {
          fail(r.status());
          break;
        }
        if (r->code != 250) {
          ctx.Fail(ReplyKind(r->code));
          delivered = false;
        }
      }
      if (!ok) break;
      if (delivered && accepted == o.recipients) ctx.Done("message", start, body.size());
    }
    if (ok) {
      int64_t q = NowNanos();
      c->Write("QUIT\r\n");
      c->Flush();
      r = co_await ReadReply(*c);
      if (r.ok() && r->code == 221) {
        ctx.Done("quit", q);
      } else if (!r.ok()) {
        fail(r.status());
      } else {
        ctx.Fail(ReplyKind(r->code));
      }
    }
    co_await c->Close();
  }
  co_return absl::OkStatus();
}

}  // namespace ringmail::ringbench
