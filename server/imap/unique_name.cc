#include "server/imap/unique_name.h"

#include <unistd.h>

#include <cstdint>

#include "storage/maildir/maildir_name.h"

namespace ringmail::server::imap {

std::string NewMessageBase(int core, const std::string& host, absl::Time now) {
  static thread_local uint64_t seq = uint64_t{1} << 40;
  storage::UniqueName un;
  un.secs = absl::ToUnixSeconds(now);
  un.usecs = absl::ToUnixMicros(now) % 1000000;
  un.pid = getpid();
  un.core = core;
  un.seq = ++seq;
  un.host = host;
  return storage::FormatUniqueName(un);
}

}  // namespace ringmail::server::imap
