// Reads a whole message file through the core's ring.
#ifndef RINGMAIL_SERVER_IMAP_FILE_READER_H_
#define RINGMAIL_SERVER_IMAP_FILE_READER_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/file_io.h"

namespace ringmail::server::imap {

// Opens `path`, reads it to the end (at most `max_bytes`; a longer file is
// ResourceExhausted), closes it, then calls `done` with the bytes. NotFound
// when the file vanished (another client expunged it or changed its flags:
// the caller resyncs). `io` must outlive the read.
void ReadWholeFile(engine::FileIo* io, std::string path, uint64_t size_hint,
                   uint64_t max_bytes,
                   absl::AnyInvocable<void(absl::StatusOr<std::string>)> done);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_FILE_READER_H_
