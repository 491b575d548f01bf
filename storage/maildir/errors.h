// Error helpers shared by storage/maildir: detailed log lines for operators,
// generic statuses for callers and clients.
#ifndef RINGMAIL_STORAGE_MAILDIR_ERRORS_H_
#define RINGMAIL_STORAGE_MAILDIR_ERRORS_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ringmail::storage {

// Receives one log line describing a failure in detail (paths, strerror).
// Must not call back into storage. Copyable so several modules can share it.
using LogFn = std::function<void(std::string_view line)>;

// A LogFn writing "ringmail storage: <line>\n" to stderr.
LogFn StderrLog();

// Debian's abseil has its own absl::string_view (not std::string_view).
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}


// strerror text for a positive errno value; thread-safe.
std::string ErrnoText(int err);

// "<what> failed: <strerror>", e.g. "rename(a, b) failed: No such file".
std::string SyscallError(std::string_view what, int neg_errno);

// The generic status a client sees for an I/O failure: ResourceExhausted
// for ENOSPC/EDQUOT (SMTP 452), Unavailable otherwise (SMTP 451).
absl::Status GenericIoStatus(int neg_errno);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_ERRORS_H_
