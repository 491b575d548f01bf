// The operations of the `keywords` mix (issue 15): several sessions per
// mailbox store new keywords, append with flags and keywords, fetch FLAGS
// with bodies, expunge and reselect, while every response goes through
// the session's MailboxTracker (--check-state). When the server refuses a
// new keyword (NO [LIMIT]: Maildir has 26 letters per folder) the first
// session to see it creates the user's next keyword mailbox
// (ringbench-kw<N>) and the sessions move there, so the server's keyword
// table keeps being rewritten for the whole run.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/ringbench/imap_session.h"
#include "bench/ringbench/message.h"

namespace ringmail::ringbench {
namespace {

// FETCH ranges cover the newest messages only, so big mailboxes stay cheap.
constexpr uint32_t kFetchWindow = 20;

// "lo:hi" or "lo:*" over the newest messages this session knows; "*" is
// the last message the server announced (a FETCH past it is a violation).
std::string Range(const MailboxTracker& t, std::mt19937_64& rng) {
  uint32_t n = t.exists();
  uint32_t lo = n > kFetchWindow ? n - kFetchWindow + 1 : 1;
  if (rng() % 2) return absl::StrCat(lo, ":*");
  return absl::StrCat(lo, ":", n - static_cast<uint32_t>(rng() % (n - lo + 1)));
}

std::vector<uint32_t> KnownUids(const MailboxTracker& t) {
  std::vector<uint32_t> out;
  for (uint32_t u : t.uids()) {
    if (u != 0) out.push_back(u);
  }
  return out;
}

std::vector<uint32_t> Pick(std::vector<uint32_t> from, size_t n, std::mt19937_64& rng) {
  std::shuffle(from.begin(), from.end(), rng);
  from.resize(std::min(n, from.size()));
  std::sort(from.begin(), from.end());
  return from;
}

// NO [LIMIT] on a new keyword: move this session (and, through the shared
// generation, the others) to the next keyword mailbox.
Task<std::string> Advance(Session& s) {
  SharedImapState* shared = s.ctx_.imap_state;
  const std::string& user = s.user_.name;
  const std::string& base = s.ctx_.opts().mailbox;
  int from = s.generation;
  if (shared->ClaimAdvance(user, from)) {
    std::string next = KeywordMailbox(base, from + 1);
    auto r = co_await s.Command(absl::StrCat("CREATE ", next), /*allow_no=*/true);
    // NO [ALREADYEXISTS]: left by an earlier run; use it all the same.
    bool ok = r.ok() && (!r->no || r->tagged.find("[ALREADYEXISTS]") != std::string::npos);
    shared->FinishAdvance(user, from + 1, ok);
    if (!ok) co_return r.ok() ? "imap_no" : CommandErrorKind(r.status());
  }
  int g = shared->Generation(user);
  if (g == s.generation) co_return "";
  s.generation = g;
  co_return co_await s.Select(KeywordMailbox(base, g));
}

Task<std::string> Fetch(Session& s, const char* items) {
  if (s.tracker->exists() == 0) co_return "skip";
  auto r = co_await s.Command(absl::StrCat("FETCH ", Range(*s.tracker, s.ctx_.rng()), " ", items));
  if (!r.ok()) co_return CommandErrorKind(r.status());
  for (const Line& l : r->untagged) {
    uint64_t size;
    if (IsFetch(l) && NumberAfter(l.text, "RFC822.SIZE ", &size) &&
        (l.literals.size() != 1 || l.literals[0].size() != size)) {
      co_return "check_fetch_size";
    }
  }
  co_return "";
}

}  // namespace

Task<std::string> RunStateOp(Session& s, const std::string& op) {
  if (!s.tracker) co_return "internal";
  MailboxTracker& t = *s.tracker;
  SharedImapState* shared = s.ctx_.imap_state;
  std::mt19937_64& rng = s.ctx_.rng();
  if (op == "fetch_flags_body") {
    co_return co_await Fetch(s, rng() % 2 ? "(UID FLAGS RFC822.SIZE BODY.PEEK[])"
                                          : "(FLAGS BODY.PEEK[])");
  }
  if (op == "fetch_header") {
    co_return co_await Fetch(s, "(UID FLAGS BODY.PEEK[HEADER.FIELDS (TO)])");
  }
  if (op == "poll") {
    auto r = co_await s.Command("NOOP");
    if (!r.ok()) co_return CommandErrorKind(r.status());
    if (t.exists() == 0) co_return "";
    // FLAGS of what this session has no UID for yet (new mail), else the
    // last few: that is where \Recent shows.
    const std::vector<uint32_t>& uids = t.uids();
    auto unknown = std::find(uids.begin(), uids.end(), 0u);
    uint32_t lo = unknown != uids.end() ? static_cast<uint32_t>(unknown - uids.begin()) + 1
                                        : (t.exists() > 5 ? t.exists() - 4 : 1);
    r = co_await s.Command(absl::StrCat("FETCH ", lo, ":", t.exists(), " (UID FLAGS)"));
    co_return r.ok() ? "" : CommandErrorKind(r.status());
  }
  if (op == "store_keyword") {
    std::vector<uint32_t> known = KnownUids(t);
    if (known.empty()) co_return "skip";
    std::vector<std::string> names;
    std::string old = shared->AnyKeyword(s.user_.name, t.mailbox(), rng());
    if (old.empty() || rng() % 4 != 0) {
      for (int i = 0, n = 1 + static_cast<int>(rng() % 2); i < n; ++i) {
        names.push_back(shared->NewKeyword());
      }
    } else {
      names.push_back(old);
    }
    shared->AddKeywords(s.user_.name, t.mailbox(), names);
    auto r = co_await s.Command(
        absl::StrCat("UID STORE ", absl::StrJoin(Pick(known, 1 + rng() % 3, rng), ","),
                     " +FLAGS (", absl::StrJoin(names, " "), ")"),
        /*allow_no=*/true);
    if (!r.ok()) co_return CommandErrorKind(r.status());
    if (!r->no) co_return "";
    if (r->tagged.find("[LIMIT]") == std::string::npos) co_return "imap_no";
    co_return co_await Advance(s);
  }
  if (op == "append_keywords") {
    std::vector<std::string> flags;
    for (const char* f : {"\\Seen", "\\Flagged", "\\Answered", "\\Draft"}) {
      if (rng() % 3 == 0) flags.push_back(f);
    }
    if (rng() % 2) flags.push_back(shared->NewKeyword());
    std::string old = shared->AnyKeyword(s.user_.name, t.mailbox(), rng());
    if (!old.empty() && rng() % 2) flags.push_back(old);
    shared->AddKeywords(s.user_.name, t.mailbox(), flags);
    std::string msg = MakeMessage(absl::StrCat(300 + rng() % 3000), rng, "bench@ringbench.test",
                                  s.user_.name);
    std::string tag = s.NextTag();
    s.c_.Write(absl::StrCat(tag, " APPEND ", t.mailbox(), " (", absl::StrJoin(flags, " "), ") {",
                            msg.size(), "}\r\n"));
    s.c_.Flush();
    while (true) {  // untagged updates may come before the continuation
      auto l = co_await s.Read();
      if (!l.ok()) co_return CommandErrorKind(l.status());
      if (l->text.rfind("+", 0) == 0) break;
      if (l->text.rfind(tag + " ", 0) == 0) co_return "check_append_continuation";
    }
    s.c_.Write(msg);
    s.c_.Write("\r\n");
    s.c_.Flush();
    auto r = co_await s.ReadTagged(tag);
    co_return r.ok() ? "" : CommandErrorKind(r.status());
  }
  if (op == "expunge_any") {
    std::vector<uint32_t> known = KnownUids(t);
    if (known.size() < 4) co_return "skip";
    auto r = co_await s.Command(absl::StrCat(
        "UID STORE ", absl::StrJoin(Pick(known, 1 + rng() % 2, rng), ","),
        " +FLAGS.SILENT (\\Deleted)"));
    if (!r.ok()) co_return CommandErrorKind(r.status());
    r = co_await s.Command("EXPUNGE");
    co_return r.ok() ? "" : CommandErrorKind(r.status());
  }
  if (op == "reselect") {
    // Mostly the newest keyword mailbox, sometimes an older one.
    int g = shared->Generation(s.user_.name);
    if (g > 0 && rng() % 4 == 0) g = static_cast<int>(rng() % g);
    s.generation = g;
    co_return co_await s.Select(KeywordMailbox(s.ctx_.opts().mailbox, g));
  }
  co_return "internal";
}

}  // namespace ringmail::ringbench
