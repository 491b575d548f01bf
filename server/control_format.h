// The text protocol of the control socket (`ringctl queue ...`), shared by
// the daemon's ControlServer and ringctl's offline mode so both print the
// same lines: request parsing, list filters and the formatting of queue
// entries and per-domain statistics. Pure: no I/O, no clock of its own.
//
// A request is one line (at most kMaxControlLineBytes, LF-terminated):
//   queue list [domain=D] [state=pending|deferred] [min_age=SECONDS] [held]
//   queue show ID
//   queue flush [DOMAIN]
//   queue delete ID | queue delete --domain D
//   queue hold ID | --domain D | --all       (release: the same)
//   queue stats
// The reply is text lines ending with a line "."; an error is one line
// "ERR <text>" and then ".". No reply line is ever "." on its own (every
// line starts with a word, and values are sanitized to one line).
#ifndef RINGMAIL_SERVER_CONTROL_FORMAT_H_
#define RINGMAIL_SERVER_CONTROL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/relay/scheduler.h"
#include "storage/queue/queue_file.h"
#include "storage/queue/state_record.h"

namespace ringmail::server::control {

// Longest request line (the command and its arguments are short).
inline constexpr size_t kMaxControlLineBytes = 1024;
// Messages fetched from a core per task while listing: small enough that
// one page never holds a core for long.
inline constexpr size_t kListPageSize = 500;
// The reply terminator line (without LF).
inline constexpr std::string_view kEndLine = ".";

enum class Verb : uint8_t { kList, kShow, kFlush, kDelete, kHold, kRelease, kStats };

// Which messages a list / delete / hold / release applies to.
struct Selector {
  std::string id;      // one message (queue id or file name); "" = by filter
  std::string domain;  // lower-case; "" = any
  bool all = false;    // hold/release --all
};

struct ListFilter {
  std::string domain;  // lower-case; a message matches when a recipient
                       // still to be tried is at this domain
  std::optional<storage::queue::RecipientState> state;  // pending|deferred
  absl::Duration min_age = absl::ZeroDuration();
  bool held_only = false;
};

struct ControlRequest {
  Verb verb = Verb::kList;
  Selector target;     // show/delete/hold/release; flush uses target.domain
  ListFilter filter;   // list
};

// Parses one request line (without its LF). InvalidArgument with a short
// human-readable reason for anything else (unknown verb, bad argument,
// over kMaxControlLineBytes).
absl::StatusOr<ControlRequest> ParseControlRequest(std::string_view line);

// One queued message, copied out of a core's Scheduler or loaded from the
// spool offline. Self-contained: safe to use on any thread.
struct QueueEntry {
  int core = 0;
  std::string file;
  storage::queue::QueueEnvelope env;
  std::vector<storage::queue::RecipientStatus> rcpts;  // parallel to env.recipients
  bool held = false;
  bool delay_warned = false;
  uint64_t size = 0;        // CRLF octets if known, else 0
  uint64_t file_bytes = 0;  // on disk (prefix + content)
};

QueueEntry EntryFromMessage(int core, const relay::Message& m);

// Whether a recipient will still be tried (pending or deferred).
bool IsWaiting(const storage::queue::RecipientStatus& s);
bool Matches(const ListFilter& f, const QueueEntry& e, absl::Time now);
// Whether `e` has a recipient still to be tried at `domain` (lower-case).
bool HasWaitingAt(const QueueEntry& e, std::string_view domain);

// `ringctl queue list`: a header line per message, then one indented line
// per recipient. Each line ends with LF.
std::string FormatListEntry(const QueueEntry& e, absl::Time now);
// `ringctl queue show`: every envelope field and recipient detail.
std::string FormatShow(const QueueEntry& e, absl::Time now);
// `ringctl queue stats`: one line per domain, then a "total" line.
std::string FormatStats(const std::vector<relay::DestinationStats>& stats,
                        absl::Time now);

// Adds `in`'s figures to the per-domain list `merged` (sorted by domain):
// counts add up, the oldest message and the latest back-off win.
void MergeStats(const std::vector<relay::DestinationStats>& in,
                std::vector<relay::DestinationStats>* merged);
// Statistics of queue entries without a scheduler (ringctl offline):
// queued recipients and oldest message per domain, the last reply seen as
// last_error; no sessions or back-off.
std::vector<relay::DestinationStats> StatsFromEntries(
    const std::vector<QueueEntry>& entries);

// "ERR <text>\n" with `text` made one line.
std::string ErrorLine(std::string_view text);
// `s` with CR, LF and other control characters replaced by '?', cut to
// `max` bytes: safe to put in one reply line.
std::string OneLine(std::string_view s, size_t max = 1024);

}  // namespace ringmail::server::control

#endif  // RINGMAIL_SERVER_CONTROL_FORMAT_H_
