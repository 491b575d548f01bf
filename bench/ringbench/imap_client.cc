// imap mode: a weighted mix in the spirit of imaptest over one session per
// client (RFC 3501/9051), every response checked: tagged OK, FETCH replies
// only for the UIDs asked, RFC822.SIZE equal to the body literal's length,
// STORE echoing the flag change, no BAD/NO. With --check-state (the
// `keywords` mix) every session also tracks its mailbox (imap_state.h).
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/ringbench/context.h"
#include "bench/ringbench/imap_ops.h"
#include "bench/ringbench/imap_session.h"
#include "bench/ringbench/message.h"
#include "bench/ringbench/mix.h"

namespace ringmail::ringbench {
namespace {

// Runs one operation of the mix; returns an error kind or "".
Task<std::string> RunOp(Session& s, const std::string& op) {
  const Options& o = s.ctx_.opts();
  if (std::find(StateImapOps().begin(), StateImapOps().end(), op) != StateImapOps().end()) {
    co_return co_await RunStateOp(s, op);
  }
  auto kind = [](const absl::Status& st) { return CommandErrorKind(st); };
  if (op == "noop") {
    auto r = co_await s.Command("NOOP");
    co_return r.ok() ? "" : kind(r.status());
  }
  if (op == "search") {
    auto r = co_await s.Command("UID SEARCH ALL");
    if (!r.ok()) co_return kind(r.status());
    bool found = false;
    for (const Line& l : r->untagged) found |= l.text.rfind("* SEARCH", 0) == 0;
    if (!found) co_return "check_search";
    s.Learn(*r);
    co_return "";
  }
  if (op == "fetch_summary") {
    if (s.uids.empty()) co_return "skip";
    uint64_t lo = s.RandomUid();
    auto it = s.uids.find(lo);
    for (int i = 0; i < 9 && std::next(it) != s.uids.end(); ++i) ++it;
    uint64_t hi = *it;
    auto r = co_await s.Command(absl::StrCat("UID FETCH ", lo, ":", hi,
                                             " (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)"));
    if (!r.ok()) co_return kind(r.status());
    for (const Line& l : r->untagged) {
      if (!IsFetch(l)) continue;
      uint64_t uid, size;
      if (!NumberAfter(l.text, "UID ", &uid)) co_return "check_fetch_uid";
      // Unsolicited FETCH (flag changes by other sessions) may name any UID,
      // but those carry no RFC822.SIZE.
      if (NumberAfter(l.text, "RFC822.SIZE ", &size) && (uid < lo || uid > hi)) {
        co_return "check_fetch_uid";
      }
    }
    co_return "";
  }
  if (op == "fetch_body") {
    if (s.uids.empty()) co_return "skip";
    uint64_t uid = s.RandomUid();
    auto r = co_await s.Command(absl::StrCat("UID FETCH ", uid, " (UID RFC822.SIZE BODY.PEEK[])"));
    if (!r.ok()) co_return kind(r.status());
    for (const Line& l : r->untagged) {
      uint64_t got, size;
      if (!IsFetch(l) || !NumberAfter(l.text, "RFC822.SIZE ", &size)) continue;
      if (!NumberAfter(l.text, "UID ", &got) || got != uid) co_return "check_fetch_uid";
      if (l.literals.size() != 1 || l.literals[0].size() != size) co_return "check_fetch_size";
    }
    co_return "";
  }
  if (op == "store") {
    if (s.uids.empty()) co_return "skip";
    uint64_t uid = s.RandomUid();
    bool add = s.ctx_.rng()() & 1;
    auto r = co_await s.Command(
        absl::StrCat("UID STORE ", uid, add ? " +FLAGS (\\Flagged)" : " -FLAGS (\\Flagged)"));
    if (!r.ok()) co_return kind(r.status());
    // The last FETCH for this UID is the echo of our change (RFC 3501 §6.4.6).
    const Line* last = nullptr;
    for (const Line& l : r->untagged) {
      uint64_t got;
      if (IsFetch(l) && NumberAfter(l.text, "UID ", &got) && got == uid) last = &l;
    }
    if (last != nullptr && (last->text.find("\\Flagged") != std::string::npos) != add) {
      co_return "check_store_flags";
    }
    co_return "";
  }
  if (op == "append") {
    std::string msg = MakeMessage("mix", s.ctx_.rng(), "bench@ringbench.test", "imap@ringbench.test");
    if (msg.size() > (256 << 10)) {  // keep APPEND's literal modest
      msg = MakeMessage("4096", s.ctx_.rng(), "bench@ringbench.test", "imap@ringbench.test");
    }
    std::string tag = s.NextTag();
    s.c_.Write(absl::StrCat(tag, " APPEND ", o.mailbox, " (\\Seen) {", msg.size(), "}\r\n"));
    s.c_.Flush();
    auto cont = co_await s.Read();
    if (!cont.ok()) co_return kind(cont.status());
    if (cont->text.rfind("+", 0) != 0) co_return "check_append_continuation";
    s.c_.Write(msg);
    s.c_.Write("\r\n");
    s.c_.Flush();
    auto r = co_await s.ReadTagged(tag);
    if (!r.ok()) co_return kind(r.status());
    size_t p = r->tagged.find("[APPENDUID ");
    if (p != std::string::npos) {
      // Split a named string: views into a temporary would dangle.
      std::string code = r->tagged.substr(p + 11);
      std::vector<absl::string_view> f = absl::StrSplit(code, ' ');
      uint64_t uid;
      if (f.size() >= 2 && absl::SimpleAtoi(f[1].substr(0, f[1].find(']')), &uid)) {
        s.mine.push_back(uid);
        s.uids.insert(uid);
      }
    }
    co_return "";
  }
  if (op == "expunge") {
    if (s.mine.empty()) co_return "skip";
    uint64_t uid = s.mine.back();
    s.mine.pop_back();
    auto r = co_await s.Command(absl::StrCat("UID STORE ", uid, " +FLAGS.SILENT (\\Deleted)"));
    if (!r.ok()) co_return kind(r.status());
    r = co_await s.Command("EXPUNGE");
    if (!r.ok()) co_return kind(r.status());
    s.uids.erase(uid);
    co_return "";
  }
  if (op == "idle") {
    if (!s.idle) co_return "skip";
    std::string tag = s.NextTag();
    s.c_.Write(absl::StrCat(tag, " IDLE\r\n"));
    s.c_.Flush();
    // Untagged updates may come before the continuation (RFC 2177).
    while (true) {
      auto l = co_await s.Read();
      if (!l.ok()) co_return kind(l.status());
      if (l->text.rfind("+", 0) == 0) break;
      if (l->text.rfind(tag, 0) == 0) co_return "check_idle";
    }
    s.c_.Write("DONE\r\n");
    s.c_.Flush();
    auto r = co_await s.ReadTagged(tag);
    co_return r.ok() ? "" : kind(r.status());
  }
  co_return "internal";
}

}  // namespace

Task<absl::Status> RunImapClient(ThreadContext& ctx, int index) {
  const Options& o = ctx.opts();
  auto mix = WeightedMix::Parse(ResolveImapMix(o.mix), ImapOps());
  if (!mix.ok()) co_return mix.status();  // validated in main already
  const User& user = o.users[static_cast<size_t>(index) % o.users.size()];
  while (!ctx.stopping()) {
    ScopedClient c(ctx);
    int64_t t = NowNanos();
    if (absl::Status st = co_await c->Connect(o.target, std::nullopt); !st.ok()) {
      ctx.Fail(ErrorKind(st));
      co_await Sleep{ctx.loop(), absl::Milliseconds(10)};  // a dead server: do not spin
      continue;
    }
    Session s(ctx, *c, user);
    std::string err;
    auto greeting = co_await ReadResponse(*c);
    if (!greeting.ok()) err = ErrorKind(greeting.status());
    else if (greeting->text.rfind("* OK", 0) != 0) err = "imap_greeting";
    if (err.empty()) {
      auto r = co_await s.Command("CAPABILITY");
      if (!r.ok()) {
        err = "capability";
      } else {
        for (const Line& l : r->untagged) {
          s.idle |= l.text.find(" IDLE") != std::string::npos;
          s.uidplus |= l.text.find(" UIDPLUS") != std::string::npos;
        }
      }
    }
    if (err.empty()) {
      t = NowNanos();
      // Quoted strings: RFC 3501 §4.3 (no quotes or backslashes expected).
      auto r = co_await s.Command(absl::StrCat("LOGIN \"", user.name, "\" \"", user.password, "\""));
      if (r.ok()) ctx.Done("login", t); else err = "login_failed";
    }
    if (err.empty()) {
      t = NowNanos();
      std::string mailbox = o.mailbox;
      if (ctx.imap_state != nullptr) {  // --check-state: the newest keyword mailbox
        s.generation = ctx.imap_state->Generation(user.name);
        mailbox = KeywordMailbox(o.mailbox, s.generation);
      }
      if ((co_await s.Select(mailbox)).empty()) ctx.Done("select", t); else err = "select_failed";
    }
    if (err.empty()) {
      auto r = co_await s.Command("UID SEARCH ALL");
      if (r.ok()) s.Learn(*r); else err = "search_failed";
    }
    bool logout = false;
    while (err.empty() && !logout && !ctx.stopping()) {
      const std::string& op = mix->entries()[mix->Pick(ctx.rng()())].name;
      if (op == "logout") {
        logout = true;
        break;
      }
      int64_t start = co_await ctx.Pace();
      if (start < 0) break;
      std::string e = co_await RunOp(s, op);
      if (e.empty()) {
        ctx.Done(op, start);
      } else if (e != "skip") {
        ctx.Fail(absl::StrCat(op, ":", e));
        // A session whose stream failed cannot go on; a NO can.
        // '!' marks it as already counted.
        if (e == "timeout" || e == "closed" || e == "internal" || e == "too_large") err = "!" + e;
      }
    }
    if (err.empty()) {
      t = NowNanos();
      std::string tag = s.NextTag("L");
      c->Write(absl::StrCat(tag, " LOGOUT\r\n"));
      c->Flush();
      auto r = co_await s.ReadTagged(tag);
      if (r.ok()) ctx.Done("logout", t); else ctx.Fail("logout:" + ErrorKind(r.status()));
    } else if (err[0] != '!') {
      ctx.Fail(err);
    }
    co_await c->Close();
  }
  co_return absl::OkStatus();
}

}  // namespace ringmail::ringbench
