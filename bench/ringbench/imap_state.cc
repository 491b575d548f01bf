#include "bench/ringbench/imap_state.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ringmail::ringbench {
namespace {

constexpr size_t kDetailMax = 240;

// (absl's string functions take absl::string_view, which is not
// std::string_view in Debian's absl.)
bool StartsWith(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }

bool SameIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_toupper(static_cast<unsigned char>(c));
  return out;
}
constexpr char kKeywordTail[] = "_ringbench-keyword-with-a-long-name";

std::string Detail(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kDetailMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  if (text.size() > kDetailMax) out += "...";
  return out;
}

std::string Canonical(std::string_view mailbox) {
  return SameIgnoreCase(mailbox, "INBOX") ? "INBOX" : std::string(mailbox);
}

// RFC 3501 ATOM-CHAR: CHAR (0x01-0x7f) but not atom-specials.
bool IsAtomChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
}

bool ParseNumber(std::string_view text, size_t* pos, uint32_t* out) {
  size_t e = *pos;
  while (e < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[e]))) ++e;
  if (e == *pos || !absl::SimpleAtoi(absl::string_view(text.data() + *pos, e - *pos), out)) {
    return false;
  }
  *pos = e;
  return true;
}

// Skips one value of any kind: list, quoted string, literal marker, atom
// (NIL, numbers). Depth-limited.
bool SkipValue(std::string_view t, size_t* pos, int depth = 0) {
  if (*pos >= t.size() || depth > 32) return false;
  char c = t[*pos];
  if (c == '(') {
    ++*pos;
    while (true) {
      while (*pos < t.size() && t[*pos] == ' ') ++*pos;
      if (*pos >= t.size()) return false;
      if (t[*pos] == ')') {
        ++*pos;
        return true;
      }
      if (!SkipValue(t, pos, depth + 1)) return false;
    }
  }
  if (c == '"') {
    for (size_t i = *pos + 1; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
      } else if (t[i] == '"') {
        *pos = i + 1;
        return true;
      } else if (t[i] == '\r' || t[i] == '\n') {
        return false;
      }
    }
    return false;
  }
  if (c == '{') {
    size_t close = t.find('}', *pos);
    if (close == std::string_view::npos) return false;
    *pos = close + 1;
    return true;
  }
  size_t start = *pos;
  while (*pos < t.size() && t[*pos] != ' ' && t[*pos] != ')' && t[*pos] != '(') {
    unsigned char u = static_cast<unsigned char>(t[*pos]);
    if (u < 0x20 || u >= 0x7f || u == '"' || u == '{') return false;
    ++*pos;
  }
  return *pos > start;
}

// A FETCH item name: an atom with optional "[section]" (which may hold
// spaces and parentheses: HEADER.FIELDS (TO)) and "<partial>".
bool ParseItemName(std::string_view t, size_t* pos, std::string* name) {
  size_t start = *pos;
  int depth = 0;
  while (*pos < t.size()) {
    char c = t[*pos];
    if (c == '[') ++depth;
    else if (c == ']') --depth;
    else if (depth == 0 && (c == ' ' || c == '(' || c == ')')) break;
    ++*pos;
  }
  if (*pos == start || depth != 0) return false;
  *name = Upper(t.substr(start, *pos - start));
  return true;
}

}  // namespace

bool IsSystemFlag(std::string_view flag) {
  for (std::string_view f : {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft",
                             "\\Recent"}) {
    if (SameIgnoreCase(flag, f)) return true;
  }
  return false;
}

bool ParseFlagList(std::string_view t, size_t* pos, std::vector<std::string>* out) {
  if (*pos >= t.size() || t[*pos] != '(') return false;
  ++*pos;
  out->clear();
  while (true) {
    if (*pos >= t.size()) return false;
    if (t[*pos] == ')') {
      ++*pos;
      return true;
    }
    if (!out->empty()) {
      if (t[*pos] != ' ') return false;
      ++*pos;
    }
    size_t start = *pos;
    if (*pos < t.size() && t[*pos] == '\\') {
      ++*pos;
      if (*pos < t.size() && t[*pos] == '*') ++*pos;  // "\*" (PERMANENTFLAGS)
    }
    while (*pos < t.size() && IsAtomChar(t[*pos])) ++*pos;
    if (*pos == start || (*pos - start == 1 && t[start] == '\\')) return false;
    if (*pos < t.size() && t[*pos] != ' ' && t[*pos] != ')') return false;
    out->emplace_back(t.substr(start, *pos - start));
  }
}

bool ParseFetch(std::string_view t, FetchItems* out, std::string* error) {
  *out = FetchItems();
  auto fail = [error](std::string_view why) {
    *error = std::string(why);
    return false;
  };
  size_t pos = 0;
  if (!StartsWith(t, "* ")) return fail("not untagged");
  pos = 2;
  if (!ParseNumber(t, &pos, &out->seq)) return fail("no sequence number");
  if (t.substr(pos, 8) != " FETCH (") return fail("not a FETCH");
  pos += 8;
  bool first = true;
  while (true) {
    if (pos >= t.size()) return fail("unterminated item list");
    if (t[pos] == ')') {
      ++pos;
      break;
    }
    if (!first) {
      if (t[pos] != ' ') return fail("items not separated by a space");
      ++pos;
    }
    first = false;
    std::string name;
    if (!ParseItemName(t, &pos, &name)) return fail("bad item name");
    if (pos >= t.size() || t[pos] != ' ') return fail("item without a value");
    ++pos;
    if (name == "FLAGS") {
      std::vector<std::string> flags;
      if (!ParseFlagList(t, &pos, &flags)) return fail("FLAGS is not a list of atoms");
      out->flags = std::move(flags);
    } else if (name == "UID") {
      uint32_t uid;
      if (!ParseNumber(t, &pos, &uid)) return fail("bad UID");
      out->uid = uid;
    } else if (!SkipValue(t, &pos)) {
      return fail(absl::StrCat("bad value of ", name));
    }
  }
  if (pos != t.size()) return fail("bytes after the item list");
  return true;
}

// ------------------------------------------------------------ shared state

uint64_t SharedImapState::NewSession() {
  std::lock_guard<std::mutex> l(mu_);
  return ++sessions_;
}

void SharedImapState::AddKeywords(const std::string& user, const std::string& mailbox,
                                  const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> l(mu_);
  auto& set = known_[{user, Canonical(mailbox)}];
  for (const std::string& n : names) {
    if (!n.empty() && n[0] != '\\') set.insert(Lower(n));
  }
}

bool SharedImapState::KnowsKeyword(const std::string& user, const std::string& mailbox,
                                   std::string_view name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = known_.find({user, Canonical(mailbox)});
  return it != known_.end() && it->second.contains(Lower(name));
}

std::string SharedImapState::AnyKeyword(const std::string& user, const std::string& mailbox,
                                        uint64_t r) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = known_.find({user, Canonical(mailbox)});
  if (it == known_.end() || it->second.empty()) return "";
  auto k = it->second.begin();
  std::advance(k, r % it->second.size());
  return *k;
}

std::optional<uint64_t> SharedImapState::ClaimRecent(const std::string& user,
                                                     const std::string& mailbox,
                                                     uint32_t uidvalidity, uint32_t uid,
                                                     uint64_t session) {
  std::lock_guard<std::mutex> l(mu_);
  auto [it, inserted] = recent_.try_emplace({user, Canonical(mailbox), uidvalidity, uid}, session);
  if (inserted || it->second == session) return std::nullopt;
  return it->second;
}

std::string SharedImapState::NewKeyword() {
  std::lock_guard<std::mutex> l(mu_);
  return absl::StrCat("rb", ++keywords_, kKeywordTail);
}

int SharedImapState::Generation(const std::string& user) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = generation_.find(user);
  return it == generation_.end() ? 0 : it->second;
}

bool SharedImapState::ClaimAdvance(const std::string& user, int from) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = generation_.find(user);
  int current = it == generation_.end() ? 0 : it->second;
  if (current != from || advancing_.contains(user)) return false;
  advancing_.insert(user);
  return true;
}

void SharedImapState::FinishAdvance(const std::string& user, int to, bool created) {
  std::lock_guard<std::mutex> l(mu_);
  advancing_.erase(user);
  if (created) generation_[user] = std::max(generation_[user], to);
}

std::string KeywordMailbox(const std::string& base, int generation) {
  return generation == 0 ? base : absl::StrCat("ringbench-kw", generation);
}

// ------------------------------------------------------------ tracker

void MailboxTracker::Select(std::string mailbox) {
  mailbox_ = Canonical(mailbox);
  uidvalidity_.reset();
  uids_.clear();
}

void MailboxTracker::CheckFlags(const std::vector<std::string>& flags, bool allow_star,
                                std::string_view text, std::vector<Violation>* out) {
  for (const std::string& f : flags) {
    if (IsSystemFlag(f) || (allow_star && f == "\\*")) continue;
    if (!f.empty() && f[0] == '\\') {
      out->push_back({"unknown_system_flag", Detail(text)});
    } else if (!shared_->KnowsKeyword(user_, mailbox_, f)) {
      out->push_back({"unknown_keyword", absl::StrCat(user_, "/", mailbox_, ": ", Detail(text))});
    }
  }
}

void MailboxTracker::Apply(std::string_view t, std::vector<Violation>* out) {
  if (!StartsWith(t, "* ")) {
    if (!StartsWith(t, "+")) out->push_back({"malformed", Detail(t)});
    return;
  }
  size_t pos = 2;
  uint32_t n;
  if (ParseNumber(t, &pos, &n)) {
    std::string_view what = t.substr(pos);
    if (what == " EXISTS") {
      if (n < uids_.size()) {
        out->push_back({"exists_shrank", absl::StrCat(Detail(t), " after ", uids_.size())});
      }
      uids_.resize(n, 0);
    } else if (what == " EXPUNGE") {
      if (n == 0 || n > uids_.size()) {
        out->push_back({"expunge_beyond_exists",
                        absl::StrCat(Detail(t), " with EXISTS ", uids_.size())});
      } else {
        uids_.erase(uids_.begin() + (n - 1));
      }
    } else if (StartsWith(what, " FETCH ")) {
      ApplyFetch(t, out);
    }
    return;
  }
  std::vector<std::string> flags;
  if (StartsWith(t, "* FLAGS ")) {
    pos = 8;
    if (!ParseFlagList(t, &pos, &flags)) return out->push_back({"malformed", Detail(t)});
    CheckFlags(flags, false, t, out);
  } else if (StartsWith(t, "* OK [PERMANENTFLAGS ")) {
    pos = 21;
    if (!ParseFlagList(t, &pos, &flags)) return out->push_back({"malformed", Detail(t)});
    CheckFlags(flags, true, t, out);
  } else if (StartsWith(t, "* OK [UIDVALIDITY ")) {
    pos = 18;
    uint32_t v;
    if (ParseNumber(t, &pos, &v)) uidvalidity_ = v;
  }
}

void MailboxTracker::ApplyFetch(std::string_view t, std::vector<Violation>* out) {
  FetchItems f;
  std::string error;
  if (!ParseFetch(t, &f, &error)) {
    out->push_back({"malformed", absl::StrCat(error, ": ", Detail(t))});
    return;
  }
  if (f.seq == 0 || f.seq > uids_.size()) {
    out->push_back({"fetch_beyond_exists",
                    absl::StrCat("EXISTS ", uids_.size(), " in ", mailbox_, ": ", Detail(t))});
    return;
  }
  uint32_t& known = uids_[f.seq - 1];
  if (f.uid) {
    if (known != 0 && known != *f.uid) {
      out->push_back({"uid_changed", absl::StrCat("was UID ", known, ": ", Detail(t))});
    }
    uint32_t lower = 0;
    for (size_t i = f.seq - 1; i-- > 0;) {
      if (uids_[i] != 0) {
        lower = uids_[i];
        break;
      }
    }
    uint32_t higher = 0;
    for (size_t i = f.seq; i < uids_.size(); ++i) {
      if (uids_[i] != 0) {
        higher = uids_[i];
        break;
      }
    }
    if (*f.uid <= lower || (higher != 0 && *f.uid >= higher)) {
      out->push_back({"uid_order", absl::StrCat("between ", lower, " and ", higher, ": ",
                                                Detail(t))});
    }
    known = *f.uid;
  }
  if (!f.flags) return;
  CheckFlags(*f.flags, false, t, out);
  const bool recent = std::any_of(f.flags->begin(), f.flags->end(), [](const std::string& s) {
    return SameIgnoreCase(s, "\\Recent");
  });
  if (recent && known != 0 && uidvalidity_) {
    ++recent_seen_;
    if (auto other = shared_->ClaimRecent(user_, mailbox_, *uidvalidity_, known, session_)) {
      out->push_back({"recent_twice",
                      absl::StrCat(user_, "/", mailbox_, " UID ", known, " also in session ",
                                   *other, ": ", Detail(t))});
    }
  }
}

}  // namespace ringmail::ringbench
