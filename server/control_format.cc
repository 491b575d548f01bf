#include "server/control_format.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace ringmail::server::control {
namespace {

using storage::queue::RecipientState;
using storage::queue::RecipientStatus;

absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status Bad(std::string_view why) {
  return absl::InvalidArgumentError(std::string(why));
}

// Whole seconds from `from` to `to`, never negative.
int64_t Seconds(absl::Time from, absl::Time to) {
  if (from == absl::InfinitePast() || to <= from) return 0;
  return absl::ToInt64Seconds(to - from);
}

std::string Stamp(absl::Time t) {
  if (t == absl::InfinitePast()) return "-";
  if (t == absl::InfiniteFuture()) return "never";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// When the next attempt is due, relative to `now`.
std::string NextText(const RecipientStatus& s, bool held, absl::Time now) {
  if (!IsWaiting(s)) return "-";
  if (held) return "held";
  if (s.next_attempt <= now) return "now";
  if (s.next_attempt == absl::InfiniteFuture()) return "never";
  return absl::StrCat("in ", Seconds(now, s.next_attempt), "s");
}

// Selector after a verb that takes "ID", "--domain D" or (hold/release)
// "--all".
absl::StatusOr<Selector> ParseSelector(const std::vector<absl::string_view>& w,
                                       bool allow_all) {
  Selector sel;
  if (w.size() == 3 && w[2] != "--domain" && w[2] != "--all") {
    sel.id = std::string(w[2]);
    if (!storage::queue::IsValidQueueFileName(sel.id)) return Bad("bad message id");
    return sel;
  }
  if (w.size() == 4 && w[2] == "--domain") {
    sel.domain = absl::AsciiStrToLower(w[3]);
    return sel;
  }
  if (allow_all && w.size() == 3 && w[2] == "--all") {
    sel.all = true;
    return sel;
  }
  return Bad(allow_all ? "expected ID, --domain DOMAIN or --all"
                       : "expected ID or --domain DOMAIN");
}

}  // namespace

absl::StatusOr<ControlRequest> ParseControlRequest(std::string_view line) {
  if (line.size() > kMaxControlLineBytes) return Bad("request line too long");
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<absl::string_view> w = absl::StrSplit(Av(line), ' ', absl::SkipEmpty());
  if (w.size() < 2 || w[0] != "queue") {
    return Bad("expected: queue list|show|flush|delete|hold|release|stats");
  }
  ControlRequest req;
  const absl::string_view cmd = w[1];
  if (cmd == "list") {
    req.verb = Verb::kList;
    for (size_t i = 2; i < w.size(); ++i) {
      absl::string_view a = w[i];
      if (a == "held") {
        req.filter.held_only = true;
      } else if (absl::ConsumePrefix(&a, "domain=") && !a.empty()) {
        req.filter.domain = absl::AsciiStrToLower(a);
      } else if (absl::ConsumePrefix(&a, "state=")) {
        if (a == "pending") {
          req.filter.state = RecipientState::kPending;
        } else if (a == "deferred") {
          req.filter.state = RecipientState::kDeferred;
        } else {
          return Bad("state= must be pending or deferred");
        }
      } else if (absl::ConsumePrefix(&a, "min_age=")) {
        uint32_t secs = 0;
        if (!absl::SimpleAtoi(a, &secs)) return Bad("min_age= takes seconds");
        req.filter.min_age = absl::Seconds(secs);
      } else {
        return Bad(absl::StrCat("unknown list argument: ", OneLine(std::string_view(a.data(), a.size()), 64)));
      }
    }
    return req;
  }
  if (cmd == "show") {
    if (w.size() != 3) return Bad("expected: queue show ID");
    req.verb = Verb::kShow;
    req.target.id = std::string(w[2]);
    if (!storage::queue::IsValidQueueFileName(req.target.id)) return Bad("bad message id");
    return req;
  }
  if (cmd == "flush") {
    if (w.size() > 3) return Bad("expected: queue flush [DOMAIN]");
    req.verb = Verb::kFlush;
    if (w.size() == 3) req.target.domain = absl::AsciiStrToLower(w[2]);
    return req;
  }
  if (cmd == "stats") {
    if (w.size() != 2) return Bad("expected: queue stats");
    req.verb = Verb::kStats;
    return req;
  }
  const bool is_delete = cmd == "delete";
  if (is_delete || cmd == "hold" || cmd == "release") {
    req.verb = is_delete ? Verb::kDelete : cmd == "hold" ? Verb::kHold : Verb::kRelease;
    auto sel = ParseSelector(w, /*allow_all=*/!is_delete);
    if (!sel.ok()) return sel.status();
    req.target = std::move(*sel);
    return req;
  }
  return Bad(absl::StrCat("unknown queue command: ", OneLine(std::string_view(cmd.data(), cmd.size()), 64)));
}

QueueEntry EntryFromMessage(int core, const relay::Message& m) {
  QueueEntry e;
  e.core = core;
  e.file = m.file;
  e.env = m.env;
  e.rcpts = m.rcpts;
  e.held = m.held;
  e.delay_warned = m.delay_warned;
  e.size = m.size;
  e.file_bytes = m.file_bytes == relay::kUnknownFileBytes ? 0 : m.file_bytes;
  return e;
}

bool IsWaiting(const RecipientStatus& s) {
  return s.state == RecipientState::kPending || s.state == RecipientState::kDeferred;
}

bool HasWaitingAt(const QueueEntry& e, std::string_view domain) {
  for (size_t i = 0; i < e.rcpts.size() && i < e.env.recipients.size(); ++i) {
    if (IsWaiting(e.rcpts[i]) &&
        relay::Scheduler::DomainOf(e.env.recipients[i].address) == domain) {
      return true;
    }
  }
  return false;
}

bool Matches(const ListFilter& f, const QueueEntry& e, absl::Time now) {
  if (f.held_only && !e.held) return false;
  if (f.min_age > absl::ZeroDuration() && now - e.env.arrival < f.min_age) return false;
  if (!f.domain.empty() && !HasWaitingAt(e, f.domain)) return false;
  if (f.state) {
    bool any = false;
    for (const RecipientStatus& s : e.rcpts) any |= s.state == *f.state;
    if (!any) return false;
  }
  return true;
}

std::string FormatListEntry(const QueueEntry& e, absl::Time now) {
  std::string out = absl::StrCat(
      OneLine(e.env.id), " core=", e.core, " age=", Seconds(e.env.arrival, now),
      "s size=", e.size != 0 ? e.size : e.file_bytes, e.held ? " held" : "",
      " from=<", OneLine(e.env.sender), ">\n");
  for (size_t i = 0; i < e.rcpts.size() && i < e.env.recipients.size(); ++i) {
    const RecipientStatus& s = e.rcpts[i];
    absl::StrAppend(&out, "  ", OneLine(e.env.recipients[i].address), " ",
                    Av(storage::queue::RecipientStateName(s.state)),
                    " attempts=", s.attempts, " next=", NextText(s, e.held, now));
    if (!s.last_reply.empty()) absl::StrAppend(&out, " reply=", OneLine(s.last_reply));
    out += '\n';
  }
  return out;
}

std::string FormatShow(const QueueEntry& e, absl::Time now) {
  const auto& env = e.env;
  std::string out = absl::StrCat(
      "id: ", OneLine(env.id), "\nfile: c", e.core, "/new/", OneLine(e.file),
      "\narrival: ", Stamp(env.arrival), " (", Seconds(env.arrival, now),
      "s ago)\nsender: <", OneLine(env.sender), ">\n");
  absl::StrAppend(&out, "size: ", e.size, "\nfile_bytes: ", e.file_bytes,
                  "\nheld: ", e.held ? "yes" : "no",
                  "\ndelay_warned: ", e.delay_warned ? "yes" : "no", "\n");
  if (!env.ret.empty()) absl::StrAppend(&out, "ret: ", OneLine(env.ret), "\n");
  if (!env.envid.empty()) absl::StrAppend(&out, "envid: ", OneLine(env.envid), "\n");
  absl::StrAppend(&out, "body: ", env.eight_bit ? "8bitmime" : "7bit",
                  env.smtputf8 ? " smtputf8" : "", env.is_dsn ? " dsn" : "", "\n");
  if (!env.client_ip.empty()) {
    absl::StrAppend(&out, "client: ", OneLine(env.client_ip), " helo=",
                    OneLine(env.helo), "\n");
  }
  if (!env.auth_user.empty()) absl::StrAppend(&out, "auth: ", OneLine(env.auth_user), "\n");
  for (size_t i = 0; i < e.rcpts.size() && i < env.recipients.size(); ++i) {
    const RecipientStatus& s = e.rcpts[i];
    const auto& r = env.recipients[i];
    absl::StrAppend(&out, "rcpt ", i, ": <", OneLine(r.address), "> ",
                    Av(storage::queue::RecipientStateName(s.state)),
                    " attempts=", s.attempts, " last=", Stamp(s.last_attempt),
                    " next=", NextText(s, e.held, now));
    if (!r.notify.empty()) absl::StrAppend(&out, " notify=", OneLine(r.notify));
    if (!r.orcpt.empty()) absl::StrAppend(&out, " orcpt=", OneLine(r.orcpt));
    if (s.notified) out += " notified";
    out += '\n';
    if (!s.last_reply.empty()) absl::StrAppend(&out, "  reply: ", OneLine(s.last_reply), "\n");
  }
  return out;
}

std::string FormatStats(const std::vector<relay::DestinationStats>& stats,
                        absl::Time now) {
  std::string out;
  size_t queued = 0, sessions = 0;
  for (const relay::DestinationStats& s : stats) {
    queued += s.queued_recipients;
    sessions += s.active_sessions;
    absl::StrAppend(&out, "domain ", OneLine(s.domain.empty() ? "-" : s.domain),
                    " queued=", s.queued_recipients, " sessions=", s.active_sessions,
                    " oldest=");
    if (s.oldest == absl::InfiniteFuture()) {
      out += "-";
    } else {
      absl::StrAppend(&out, Seconds(s.oldest, now), "s");
    }
    if (s.backoff_until > now) {
      absl::StrAppend(&out, " backoff=", Seconds(now, s.backoff_until), "s");
    }
    if (!s.last_error.empty()) absl::StrAppend(&out, " last_error=", OneLine(s.last_error));
    out += '\n';
  }
  absl::StrAppend(&out, "total domains=", stats.size(), " queued=", queued,
                  " sessions=", sessions, "\n");
  return out;
}

void MergeStats(const std::vector<relay::DestinationStats>& in,
                std::vector<relay::DestinationStats>* merged) {
  for (const relay::DestinationStats& s : in) {
    auto it = std::lower_bound(
        merged->begin(), merged->end(), s.domain,
        [](const relay::DestinationStats& a, const std::string& d) { return a.domain < d; });
    if (it == merged->end() || it->domain != s.domain) {
      merged->insert(it, s);
      continue;
    }
    it->queued_recipients += s.queued_recipients;
    it->active_sessions += s.active_sessions;
    it->oldest = std::min(it->oldest, s.oldest);
    it->backoff_until = std::max(it->backoff_until, s.backoff_until);
    if (it->last_error.empty()) it->last_error = s.last_error;
  }
}

std::vector<relay::DestinationStats> StatsFromEntries(
    const std::vector<QueueEntry>& entries) {
  std::vector<relay::DestinationStats> merged;
  for (const QueueEntry& e : entries) {
    for (size_t i = 0; i < e.rcpts.size() && i < e.env.recipients.size(); ++i) {
      if (!IsWaiting(e.rcpts[i])) continue;
      relay::DestinationStats s;
      s.domain = relay::Scheduler::DomainOf(e.env.recipients[i].address);
      s.queued_recipients = 1;
      s.oldest = e.env.arrival;
      s.last_error = e.rcpts[i].last_reply;
      MergeStats({s}, &merged);
    }
  }
  return merged;
}

std::string ErrorLine(std::string_view text) {
  return absl::StrCat("ERR ", OneLine(text), "\n");
}

std::string OneLine(std::string_view s, size_t max) {
  std::string out(s.substr(0, std::min(s.size(), max)));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace ringmail::server::control
