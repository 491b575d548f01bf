#include "bench/ringbench/imap_session.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ringmail::ringbench {
namespace {

constexpr size_t kMaxResponsesPerCommand = 1000000;
// FLAGS (with UID) fetched after SELECT: the newest messages, which are the
// ones that may be \Recent.
constexpr uint32_t kSelectFlagsTail = 50;

}  // namespace

Task<absl::StatusOr<Line>> ReadResponse(Client& c) {
  Line out;
  while (true) {
    absl::StatusOr<std::string> l = co_await c.ReadLine();
    if (!l.ok()) co_return l.status();
    out.text += *l;
    // A literal announcement ends the line: "{123}" (or "{123+}").
    if (l->empty() || l->back() != '}') co_return out;
    size_t open = l->rfind('{');
    if (open == std::string::npos) co_return out;
    std::string num = l->substr(open + 1, l->size() - open - 2);
    if (!num.empty() && num.back() == '+') num.pop_back();
    size_t n;
    if (!absl::SimpleAtoi(num, &n)) co_return out;
    absl::StatusOr<std::string> lit = co_await c.ReadExact(n);
    if (!lit.ok()) co_return lit.status();
    out.literals.push_back(std::move(*lit));
  }
}

bool NumberAfter(const std::string& text, std::string_view key, uint64_t* out) {
  size_t p = text.find(key);
  if (p == std::string::npos) return false;
  p += key.size();
  size_t e = p;
  while (e < text.size() && isdigit(static_cast<unsigned char>(text[e]))) ++e;
  return absl::SimpleAtoi(absl::string_view(text).substr(p, e - p), out);
}

std::string CommandErrorKind(const absl::Status& st) {
  return st.code() == absl::StatusCode::kFailedPrecondition ||
                 st.code() == absl::StatusCode::kInvalidArgument
             ? std::string(st.message())
             : ErrorKind(st);
}

Session::Session(ThreadContext& ctx, Client& c, const User& user)
    : ctx_(ctx), c_(c), user_(user) {
  if (ctx.imap_state != nullptr) {
    tracker.emplace(ctx.imap_state, user.name, ctx.imap_state->NewSession());
  }
}

std::string Session::NextTag(const char* prefix) { return absl::StrCat(prefix, ++seq_); }

Task<absl::StatusOr<Result>> Session::Command(const std::string& cmd, bool allow_no) {
  std::string tag = NextTag();
  c_.Write(absl::StrCat(tag, " ", cmd, "\r\n"));
  c_.Flush();
  co_return co_await ReadTagged(tag, allow_no);
}

Task<absl::StatusOr<Line>> Session::Read() {
  absl::StatusOr<Line> l = co_await ReadResponse(c_);
  if (l.ok() && l->text.rfind("* ", 0) == 0) Observe(*l);
  co_return l;
}

Task<absl::StatusOr<Result>> Session::ReadTagged(const std::string& tag, bool allow_no) {
  Result r;
  for (size_t i = 0; i < kMaxResponsesPerCommand; ++i) {
    absl::StatusOr<Line> l = co_await ReadResponse(c_);
    if (!l.ok()) co_return l.status();
    if (l->text.rfind(tag + " ", 0) == 0) {
      std::string_view status = std::string_view(l->text).substr(tag.size() + 1);
      if (status.rfind("OK", 0) == 0 || (allow_no && status.rfind("NO", 0) == 0)) {
        r.no = status.rfind("NO", 0) == 0;
        r.tagged = std::move(l->text);
        co_return r;
      }
      co_return absl::FailedPreconditionError(status.rfind("NO", 0) == 0 ? "imap_no" : "imap_bad");
    }
    if (l->text.rfind("* BYE", 0) == 0 && tag.rfind("L", 0) != 0) {
      co_return absl::AbortedError("bye");
    }
    Observe(*l);
    r.untagged.push_back(std::move(*l));
  }
  co_return absl::InvalidArgumentError("protocol");
}

void Session::Observe(const Line& l) {
  if (!tracker) return;
  std::vector<Violation> v;
  tracker->Apply(l.text, &v);
  for (const Violation& x : v) {
    std::string kind = absl::StrCat("state:", x.kind);
    ctx_.Fail(kind);
    ctx_.rec().Example(kind, absl::StrCat("session ", tracker->session(), ": ", x.detail));
  }
}

Task<std::string> Session::Select(const std::string& mailbox) {
  if (tracker) tracker->Select(mailbox);
  auto r = co_await Command(absl::StrCat("SELECT ", mailbox));
  if (!r.ok()) {
    if (tracker) tracker->Unselect();
    co_return CommandErrorKind(r.status());
  }
  if (!tracker || tracker->exists() == 0) co_return "";
  uint32_t hi = tracker->exists();
  uint32_t lo = hi > kSelectFlagsTail ? hi - kSelectFlagsTail + 1 : 1;
  r = co_await Command(absl::StrCat("FETCH ", lo, ":", hi, " (UID FLAGS)"));
  co_return r.ok() ? "" : CommandErrorKind(r.status());
}

void Session::Learn(const Result& r) {
  for (const Line& l : r.untagged) {
    if (l.text.rfind("* SEARCH", 0) == 0) {
      uids.clear();
      for (absl::string_view w : absl::StrSplit(l.text.substr(8), ' ', absl::SkipEmpty())) {
        uint64_t u;
        if (absl::SimpleAtoi(w, &u)) uids.insert(u);
      }
    }
  }
}

uint64_t Session::RandomUid() {
  auto it = uids.begin();
  std::advance(it, ctx_.rng()() % uids.size());
  return *it;
}

}  // namespace ringmail::ringbench
