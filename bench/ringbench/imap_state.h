// IMAP state checks for the `keywords` mix (--check-state): what one session
// knows of its selected mailbox, and what all sessions of a run share.
// Pure (no I/O); fed the untagged response lines ringbench reads, with
// literals as "{n}" markers in the text (imap_session.h's Line).
//
// Violations (kinds, reported as errors "state:KIND"):
//   unknown_keyword     a FLAGS token that is neither a system flag nor a
//                       keyword some ringbench client sent to this mailbox
//   unknown_system_flag a "\Word" flag RFC 3501 does not define
//   recent_twice        \Recent for one message in two sessions (§2.3.2)
//   fetch_beyond_exists `* n FETCH` with n = 0 or n > the last EXISTS
//   expunge_beyond_exists, exists_shrank (EXISTS below the count without
//                       EXPUNGE), uid_changed (a sequence number's UID
//                       changed), uid_order (UIDs not ascending), malformed
#ifndef RINGMAIL_BENCH_RINGBENCH_IMAP_STATE_H_
#define RINGMAIL_BENCH_RINGBENCH_IMAP_STATE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ringmail::ringbench {

// "\Seen" ... "\Recent" (case-insensitive).
bool IsSystemFlag(std::string_view flag);

// The items of "* n FETCH (...)" that the checks use.
struct FetchItems {
  uint32_t seq = 0;
  std::optional<uint32_t> uid;
  std::optional<std::vector<std::string>> flags;  // FLAGS, if present
};
// Parses a whole FETCH response line. False (and `error` set) when it is
// malformed: an unbalanced list, a FLAGS value that is not a list of atoms,
// a control or 8-bit byte in an atom, trailing bytes.
bool ParseFetch(std::string_view text, FetchItems* out, std::string* error);
// Parses "(a b c)" at text[*pos] into atoms; advances *pos past ')'.
bool ParseFlagList(std::string_view text, size_t* pos, std::vector<std::string>* out);

struct Violation {
  std::string kind;    // see the list above
  std::string detail;  // for the report (the response, shortened)
};

// Shared by every client of a run (thread-safe): keywords sent per
// mailbox, the session that got \Recent per message, and the generation
// of each user's keyword mailbox (the mix moves to a new mailbox when the
// server's keyword table is full, so new keywords keep coming).
class SharedImapState {
 public:
  uint64_t NewSession();
  // Call before sending a command that sets `names` in user/mailbox.
  void AddKeywords(const std::string& user, const std::string& mailbox,
                   const std::vector<std::string>& names);
  bool KnowsKeyword(const std::string& user, const std::string& mailbox,
                    std::string_view name) const;
  // Some keyword already sent to user/mailbox (for re-use), or "".
  std::string AnyKeyword(const std::string& user, const std::string& mailbox,
                         uint64_t r) const;
  // Records that `session` saw \Recent; returns the earlier session that
  // saw it for the same message, if another one did.
  std::optional<uint64_t> ClaimRecent(const std::string& user, const std::string& mailbox,
                                      uint32_t uidvalidity, uint32_t uid, uint64_t session);
  // A new keyword name, unique in the run: "rb<N>_" plus a long tail (so
  // each name is a heap block of its own in the server).
  std::string NewKeyword();

  // Keyword mailbox generations: 0 is the run's --mailbox.
  int Generation(const std::string& user) const;
  // True for the one caller that may create generation from+1.
  bool ClaimAdvance(const std::string& user, int from);
  void FinishAdvance(const std::string& user, int to, bool created);

 private:
  mutable std::mutex mu_;
  uint64_t sessions_ = 0;
  uint64_t keywords_ = 0;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> known_;
  std::map<std::tuple<std::string, std::string, uint32_t, uint32_t>, uint64_t> recent_;
  std::map<std::string, int> generation_;
  std::set<std::string> advancing_;
};

// The mailbox a generation names: `base` for 0, "ringbench-kw<g>" after.
std::string KeywordMailbox(const std::string& base, int generation);

// One session's view of its selected mailbox.
class MailboxTracker {
 public:
  MailboxTracker(SharedImapState* shared, std::string user, uint64_t session)
      : shared_(shared), user_(std::move(user)), session_(session) {}

  // Before SELECT: everything known about the previous mailbox goes.
  void Select(std::string mailbox);
  void Unselect() { Select(""); }
  // Checks and applies one untagged response (text with literal markers).
  void Apply(std::string_view text, std::vector<Violation>* out);

  const std::string& mailbox() const { return mailbox_; }
  uint32_t exists() const { return static_cast<uint32_t>(uids_.size()); }
  std::optional<uint32_t> uidvalidity() const { return uidvalidity_; }
  // UIDs this session knows (sequence order); 0 where unknown.
  const std::vector<uint32_t>& uids() const { return uids_; }
  uint64_t session() const { return session_; }
  uint64_t recent_seen() const { return recent_seen_; }

 private:
  void ApplyFetch(std::string_view text, std::vector<Violation>* out);
  void CheckFlags(const std::vector<std::string>& flags, bool allow_star,
                  std::string_view text, std::vector<Violation>* out);

  SharedImapState* shared_;
  std::string user_;
  uint64_t session_;
  std::string mailbox_;
  std::optional<uint32_t> uidvalidity_;
  std::vector<uint32_t> uids_;
  uint64_t recent_seen_ = 0;
};

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_IMAP_STATE_H_
