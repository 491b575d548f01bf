#include "server/imap/file_reader.h"

#include "server/file_read.h"

namespace ringmail::server::imap {

void ReadWholeFile(engine::FileIo* io, std::string path, uint64_t size_hint,
                   uint64_t max_bytes,
                   absl::AnyInvocable<void(absl::StatusOr<std::string>)> done) {
  FileReadOptions options;
  options.max_bytes = max_bytes;
  options.size_hint = size_hint;
  ReadFile(io, std::move(path), options, std::move(done));
}

}  // namespace ringmail::server::imap
