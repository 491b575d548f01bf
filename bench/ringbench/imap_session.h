// One IMAP client session of the imap mode: tagged commands, responses with
// their literals, and (with --check-state) every untagged response fed to
// a MailboxTracker whose violations become errors "state:KIND".
#ifndef RINGMAIL_BENCH_RINGBENCH_IMAP_SESSION_H_
#define RINGMAIL_BENCH_RINGBENCH_IMAP_SESSION_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/ringbench/client.h"
#include "bench/ringbench/context.h"
#include "bench/ringbench/imap_state.h"
#include "bench/ringbench/task.h"

namespace ringmail::ringbench {

// One response line with its literals read out ({n} markers stay in text).
struct Line {
  std::string text;
  std::vector<std::string> literals;
};

Task<absl::StatusOr<Line>> ReadResponse(Client& c);

// Untagged responses up to the tagged one.
struct Result {
  std::vector<Line> untagged;
  std::string tagged;
  bool no = false;  // a tagged NO the caller allowed
};

// The value after `key` in a FETCH response ("UID 12" -> 12).
bool NumberAfter(const std::string& text, std::string_view key, uint64_t* out);
inline bool IsFetch(const Line& l) { return l.text.find(" FETCH (") != std::string::npos; }

class Session {
 public:
  Session(ThreadContext& ctx, Client& c, const User& user);

  std::string NextTag(const char* prefix = "A");
  // Sends a command (tag added) and reads to its tagged reply.
  Task<absl::StatusOr<Result>> Command(const std::string& cmd, bool allow_no = false);
  // Reads to the reply tagged `tag`. A tagged NO/BAD is
  // FailedPrecondition("imap_no"/"imap_bad") unless `allow_no` (NO only:
  // then Result::no). "* BYE" outside LOGOUT (tags "L...") is Aborted.
  Task<absl::StatusOr<Result>> ReadTagged(const std::string& tag, bool allow_no = false);
  // One response; untagged ones are observed.
  Task<absl::StatusOr<Line>> Read();
  // Feeds the tracker (when checking) and records its violations.
  void Observe(const Line& l);

  // SELECT with the tracker following; with --check-state it then fetches
  // FLAGS (with UID) of the last messages, which shows \Recent.
  Task<std::string> Select(const std::string& mailbox);

  // Learns UIDs from "* SEARCH ..." responses.
  void Learn(const Result& r);
  uint64_t RandomUid();

  ThreadContext& ctx_;
  Client& c_;
  const User& user_;
  uint64_t seq_ = 0;
  std::set<uint64_t> uids;     // known UIDs of the selected mailbox
  std::vector<uint64_t> mine;  // appended by this session, for EXPUNGE
  bool idle = false;
  bool uidplus = false;
  // --check-state only.
  std::optional<MailboxTracker> tracker;
  int generation = 0;  // of the selected keyword mailbox
};

// Error kind of a failed command status ("imap_no", "timeout", ...).
std::string CommandErrorKind(const absl::Status& st);

// The operations of StateImapOps() (imap_keyword_ops.cc); "" when done,
// "skip" when not applicable now, else an error kind.
Task<std::string> RunStateOp(Session& s, const std::string& op);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_IMAP_SESSION_H_
