// Records of the per-core queue state log (`<spool>/c<N>/state.log`,
// docs/queue.md): what happened to each recipient of each queue file, and
// per-file flags. Pure encoding/decoding; no I/O; thread-safe.
//
// One record per line, fields separated by single spaces, values escaped
// (queue_text.h), then " ~" and the CRC32C of everything before it as 8
// lower-case hex digits, then LF:
//
//   rcpt <file> <index> <state> <attempts> <last> <next> <notified> <reply>
//   hold <file>            release <file>          delay-warned <file>
//   size <file> <crlf bytes>                       removed <file>
//
// <state> is pending|delivered|deferred|failed; <last>/<next> are unix
// microseconds, "-" for InfinitePast, "+" for InfiniteFuture; <notified> is
// 0|1 (a DSN or notification for this recipient was already generated).
// The checksum makes a torn or garbled line detectable: replay skips it.
#ifndef RINGMAIL_STORAGE_QUEUE_STATE_RECORD_H_
#define RINGMAIL_STORAGE_QUEUE_STATE_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace ringmail::storage::queue {

// Longest line DecodeStateRecord accepts (the encoder stays far below).
inline constexpr size_t kMaxStateLineBytes = 8192;
// The encoder keeps at most this much of RecipientStatus::last_reply.
inline constexpr size_t kMaxLastReplyBytes = 1024;
// Longest file name in a record (NAME_MAX).
inline constexpr size_t kMaxQueueFileNameBytes = 255;

enum class RecipientState : uint8_t { kPending, kDelivered, kDeferred, kFailed };

std::string_view RecipientStateName(RecipientState s);
// Delivered and failed are final: nothing more will be tried.
inline bool IsFinal(RecipientState s) {
  return s == RecipientState::kDelivered || s == RecipientState::kFailed;
}

struct RecipientStatus {
  RecipientState state = RecipientState::kPending;
  uint32_t attempts = 0;
  absl::Time last_attempt = absl::InfinitePast();
  absl::Time next_attempt = absl::InfinitePast();
  std::string last_reply;  // one line, e.g. "451 4.7.1 try later"
  bool notified = false;   // a DSN/notification for it was generated

  bool operator==(const RecipientStatus&) const = default;
};

struct StateRecord {
  enum class Kind : uint8_t {
    kRecipient,    // `rcpt` gets `status`
    kHold,         // the file is held: not scheduled until released
    kRelease,
    kDelayWarned,  // a "delayed" DSN was sent for the file
    kSize,         // `size`: content octets with CRLF line endings (SIZE=)
    kRemoved,      // the file is finished; it is unlinked afterwards
  };
  Kind kind = Kind::kRecipient;
  std::string file;  // name in c<N>/new/
  uint32_t rcpt = 0;
  RecipientStatus status;
  uint64_t size = 0;

  bool operator==(const StateRecord&) const = default;
};

// The line for `r`, LF included. last_reply is cut to kMaxLastReplyBytes
// (at a UTF-8 boundary); `r.file` must be a valid name (non-empty, no '/',
// at most kMaxQueueFileNameBytes; asserted).
std::string EncodeStateRecord(const StateRecord& r);
void AppendStateRecord(const StateRecord& r, std::string* out);

// Decodes one line, with or without its LF. DataLoss when the checksum is
// missing or wrong (torn or damaged line); InvalidArgument when the
// checksum matches but the grammar or a limit does not (written by a newer
// version, or a bug).
absl::StatusOr<StateRecord> DecodeStateRecord(std::string_view line);

// Appends to `out` the fewest records that reproduce this state of `file`
// when replayed on their own: one `rcpt` record per recipient not in the
// initial state, `size` if non-zero, `hold` if held, `delay-warned` if set.
// This is what a compaction snapshot holds for a live file.
void AppendFileStateRecords(std::string_view file,
                            absl::Span<const RecipientStatus> recipients,
                            bool held, bool delay_warned, uint64_t size,
                            std::vector<StateRecord>* out);

// Whether `name` may name a queue file (non-empty, no '/' or NUL, not "."
// or "..", at most kMaxQueueFileNameBytes).
bool IsValidQueueFileName(std::string_view name);

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_STATE_RECORD_H_
