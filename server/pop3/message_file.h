// One message file open for RETR / TOP, read front to back through the
// core's ring one chunk at a time, so a session holds at most one chunk of
// a message however large it is.
//
// The file is opened once (Maildrop::OpenMessage); a flag change by another
// client renames it, which does not disturb reads from the open fd.
#ifndef RINGMAIL_SERVER_POP3_MESSAGE_FILE_H_
#define RINGMAIL_SERVER_POP3_MESSAGE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/file_io.h"

namespace ringmail::server::pop3 {

// Octets read per chunk: the per-session buffer while streaming.
inline constexpr size_t kRetrChunkBytes = 64 << 10;

class MessageFile {
 public:
  // Takes ownership of `fd` (open for reading). `io` must outlive this and
  // any read still in flight when this is destroyed.
  MessageFile(engine::FileIo* io, int fd);
  // Closes the fd through the ring; a read in flight completes first (its
  // buffer is kept until then) and its callback is not called.
  ~MessageFile();
  MessageFile(const MessageFile&) = delete;
  MessageFile& operator=(const MessageFile&) = delete;

  // The next at most kRetrChunkBytes octets; an empty view at the end of
  // the file. The view is valid until the next ReadNext or destruction.
  // Unavailable (with errno text, for logs) when the read fails. One read
  // at a time (asserted); `done` runs later, never inside the call.
  using ChunkFn = absl::AnyInvocable<void(absl::StatusOr<std::string_view>)>;
  void ReadNext(ChunkFn done);

  bool reading() const;
  uint64_t offset() const;  // octets read so far

 private:
  struct State;
  std::shared_ptr<State> st_;  // shared with a read in flight
};

}  // namespace ringmail::server::pop3

#endif  // RINGMAIL_SERVER_POP3_MESSAGE_FILE_H_
