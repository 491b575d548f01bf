// Reads (part of) a file through the core's ring: open, pread in chunks,
// close. Shared by IMAP/POP3 (whole message files) and the relay (the
// content of a queue file, for DSNs).
#ifndef RINGMAIL_SERVER_FILE_READ_H_
#define RINGMAIL_SERVER_FILE_READ_H_

#include <cstdint>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/file_io.h"

namespace ringmail::server {

struct FileReadOptions {
  uint64_t offset = 0;      // first byte to read
  uint64_t max_bytes = 0;   // at most this many bytes from `offset`
  // More than max_bytes after `offset`: true returns the first max_bytes,
  // false fails with ResourceExhausted("message too large").
  bool truncate = false;
  uint64_t size_hint = 0;   // expected length, to reserve once (0: unknown)
};

// Reads `path` from options.offset to its end (bounded as above), closes
// it, then calls `done` once, later, on this core's thread, with the bytes.
// NotFound("message vanished") when the file does not exist; Unavailable
// naming the path and errno for other failures (for logs only: callers
// give clients a generic error). `io` must outlive the read.
void ReadFile(engine::FileIo* io, std::string path, const FileReadOptions& options,
              absl::AnyInvocable<void(absl::StatusOr<std::string>)> done);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_FILE_READ_H_
