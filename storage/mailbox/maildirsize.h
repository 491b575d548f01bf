// Maildir++ quota: the "maildirsize" file in a Maildir root, as Courier
// (https://www.courier-mta.org/imap/README.maildirquota.html) and Dovecot's
// `quota = maildir` read and update it.
//
//   <bytes>S,<count>C      the quota definition (Dovecot writes "0S" when
//                          there is no limit, and leaves out a 0 part)
//   <bytes> <count>        one line per change (signed), appended with
//   ...                    O_APPEND; the usage is the sum of these lines
//
// Appending a short line with O_APPEND is atomic on a local file system, so
// any number of writers (our cores, Dovecot, maildrop) update the file
// without a lock. The file is only ever replaced whole by a recalculation
// (a scan of every folder, written to tmp/ and renamed over it), which a
// reader asks for when the file is missing, corrupt, at least 5120 bytes,
// written for other limits, has no usage line, or claims the user is over
// quota while it has several delta lines or is older than 15 minutes
// (Maildir++; Dovecot's maildirsize_parse).
//
// Pure: ParseMaildirsize, Format*, AssessMaildirsize, CheckQuota.
// Through engine::FileIo (a core): ReadMaildirsizeAsync,
// AppendMaildirsizeAsync. BLOCKING (helper thread): the *Blocking ones.
#ifndef RINGMAIL_STORAGE_MAILBOX_MAILDIRSIZE_H_
#define RINGMAIL_STORAGE_MAILBOX_MAILDIRSIZE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/file_io.h"

namespace ringmail::storage {

inline constexpr std::string_view kMaildirsizeFileName = "maildirsize";
// Maildir++: a file this big is not read further and is rewritten.
inline constexpr size_t kMaildirsizeMaxBytes = 5120;
// Maildir++: an over-quota figure older than this is recalculated.
inline constexpr absl::Duration kMaildirsizeStaleAfter = absl::Minutes(15);
// Sanity bound on one figure (Dovecot truncates limits to 2^63-1).
inline constexpr uint64_t kMaxQuotaValue = uint64_t{1} << 62;

struct QuotaLimits {
  uint64_t bytes = 0;     // 0 = unlimited
  uint64_t messages = 0;  // 0 = unlimited
  bool unlimited() const { return bytes == 0 && messages == 0; }
  bool operator==(const QuotaLimits& o) const {
    return bytes == o.bytes && messages == o.messages;
  }
  bool operator!=(const QuotaLimits& o) const { return !(*this == o); }
};

struct QuotaUsage {
  uint64_t bytes = 0;
  uint64_t messages = 0;
  bool operator==(const QuotaUsage& o) const {
    return bytes == o.bytes && messages == o.messages;
  }
};

// A parsed maildirsize file.
struct Maildirsize {
  QuotaLimits limits;      // from the first line
  QuotaUsage usage;        // the sum of the other lines
  size_t delta_lines = 0;  // lines after the first
};

// Parses complete lines of `data` (a last line without LF is being written
// by another process and is ignored, as Dovecot does). DataLoss for an
// empty file, a NUL, a malformed definition or delta line, or a negative
// or absurd sum. Bounded by the caller's read (kMaildirsizeMaxBytes).
absl::StatusOr<Maildirsize> ParseMaildirsize(std::string_view data);

// "<bytes>S,<count>C" like Dovecot: a 0 part is left out, "0S" when both
// are 0. No newline.
std::string FormatMaildirsizeDefinition(const QuotaLimits& limits);
// "<bytes> <count>\n".
std::string FormatMaildirsizeDelta(int64_t bytes, int64_t messages);
// A whole recalculated file: definition, newline, one usage line.
std::string FormatMaildirsize(const QuotaLimits& limits,
                              const QuotaUsage& usage);

enum class MaildirsizeAction : uint8_t {
  kUse,          // the usage in the file stands
  kCheckAge,     // over quota with one usage line: stands unless the file
                 // is older than kMaildirsizeStaleAfter (needs a stat)
  kRecalculate,  // scan the folders and rewrite the file
};
// What to do with a file read (at most kMaildirsizeMaxBytes of it; a read
// of that size means the file is at least that big) for users with
// `configured` limits. `parsed` is ParseMaildirsize of the read.
MaildirsizeAction AssessMaildirsize(const absl::StatusOr<Maildirsize>& parsed,
                                    size_t bytes_read,
                                    const QuotaLimits& configured);

enum class QuotaVerdict : uint8_t {
  kFits,
  kFull,    // a limit is reached or would be: temporary (SMTP 452 4.2.2)
  kTooBig,  // `bytes` alone exceed the storage limit: permanent (552 5.2.2)
};
// Whether `bytes` more in `messages` more messages fit. With bytes = 0 and
// messages = 0 nothing is added: kFull when a limit is already exceeded.
QuotaVerdict CheckQuota(const QuotaLimits& limits, const QuotaUsage& usage,
                        uint64_t bytes, uint64_t messages);

// ---- Through engine::FileIo (on a core).

struct MaildirsizeRead {
  int error = 0;     // 0, or -errno of open/read (-ENOENT: no file)
  std::string data;  // at most kMaildirsizeMaxBytes
};
// Reads <root>/maildirsize (open, read, close). `done` runs exactly once,
// later. `io` must outlive the operation.
void ReadMaildirsizeAsync(engine::FileIo* io, const std::string& root,
                          absl::AnyInvocable<void(MaildirsizeRead)> done);

// Appends "<bytes> <messages>\n" to an existing <root>/maildirsize with
// O_APPEND (the Maildir++ update; never creates the file: a missing file
// is recalculated instead). `done` gets 0 or -errno (-ENOENT: no file),
// exactly once, later. `bytes` and `messages` must not both be 0.
void AppendMaildirsizeAsync(engine::FileIo* io, const std::string& root,
                            int64_t bytes, int64_t messages,
                            absl::AnyInvocable<void(int)> done);

// ---- BLOCKING (helper thread).

struct MaildirsizeScanLimits {
  size_t max_folders = 10'000;           // Maildir++ folders under the root
  size_t max_files_per_dir = 10'000'000;  // entries of one new/ or cur/
};

// BLOCKING. Sums every message (files of new/ and cur/; the size from the
// name's ",S=" or else stat) of the root and of every Maildir++ folder
// (".Name" directories; "..*" trash names skipped), then writes
// FormatMaildirsize(limits, usage) to tmp/ and renames it over
// <root>/maildirsize. The file is not written when a directory changed
// while it was counted (the figure would be stale at once; Dovecot does
// the same) or when the root has no tmp/. A missing root is an empty
// Maildir: zero usage, nothing written. ResourceExhausted beyond `scan`
// limits; Internal for I/O errors.
absl::StatusOr<QuotaUsage> RecalculateMaildirsizeBlocking(
    const std::string& root, const QuotaLimits& limits,
    const MaildirsizeScanLimits& scan = MaildirsizeScanLimits());

// BLOCKING. The usage, like a reader on a core would get it: reads the
// file, applies AssessMaildirsize with the file's mtime against `now`, and
// recalculates when that says so.
absl::StatusOr<QuotaUsage> ReadMaildirsizeBlocking(
    const std::string& root, const QuotaLimits& limits, absl::Time now,
    const MaildirsizeScanLimits& scan = MaildirsizeScanLimits());

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_MAILDIRSIZE_H_
