// Directory change notification over a core's io_uring: one inotify
// instance per core, read with IORING_OP_READ and re-armed after every
// completion. It knows nothing about what is in the directories; callers
// learn only "something happened under watch N" and look for themselves.
//
// Loop thread only. Callbacks run on the loop's thread from the ring's
// completion dispatch; they may Add or Remove watches (including their own)
// but must not destroy the FsWatcher.
#ifndef RINGMAIL_ENGINE_FS_WATCH_H_
#define RINGMAIL_ENGINE_FS_WATCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/ring.h"

namespace ringmail::engine {

struct FsWatchOptions {
  // Watches this instance holds at most (the kernel's per-user bound,
  // fs.inotify.max_user_watches, is shared by every process of the user).
  size_t max_watches = 8192;
  // Bytes read from the inotify fd per completion. A full buffer is not a
  // loss: the next read returns the rest.
  size_t buffer_bytes = 4096;
};

class FsWatcher {
 public:
  // Our own ids, never reused within one FsWatcher (inotify descriptors are
  // reused and shared between watches of the same directory).
  using WatchId = uint64_t;
  // Called with the id of the watch that saw an event. When the kernel's
  // event queue overflowed (IN_Q_OVERFLOW) every watch is called, since
  // which directories changed is unknown.
  using Callback = absl::AnyInvocable<void(WatchId)>;

  // Creates the inotify instance (IN_NONBLOCK | IN_CLOEXEC) and arms the
  // first read on `ring`, which must outlive this object. Fails with the
  // errno text (e.g. EMFILE: fs.inotify.max_user_instances reached).
  static absl::StatusOr<std::unique_ptr<FsWatcher>> Create(
      Ring* ring, const FsWatchOptions& opts = {});
  // Cancels the read in flight; the fd and buffer are released when its
  // completion arrives (the kernel may still write into the buffer).
  ~FsWatcher();
  FsWatcher(const FsWatcher&) = delete;
  FsWatcher& operator=(const FsWatcher&) = delete;

  // Watches directory `path` for files created, deleted or renamed into or
  // out of it (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO), not
  // recursively. `fn` runs for each batch of events read for it.
  // Errors: ResourceExhausted when this instance's or the kernel's limit is
  // reached (ENOSPC), NotFound when `path` does not exist, otherwise
  // Unavailable with the errno text.
  absl::StatusOr<WatchId> Add(std::string_view path, Callback fn);
  // Stops calling back for `id`; harmless for unknown ids. The kernel watch
  // is removed when no other id shares it.
  void Remove(WatchId id);

  size_t watch_count() const { return watches_.size(); }

 private:
  class ReadOp;
  explicit FsWatcher(ReadOp* op, const FsWatchOptions& opts);
  // Called by ReadOp with the bytes read (whole inotify_event records).
  void Dispatch(const char* data, size_t len);

  struct Watch {
    int wd;
    Callback fn;
  };
  ReadOp* op_;  // owns the fd; deletes itself after its last completion
  FsWatchOptions opts_;
  WatchId next_id_ = 1;
  absl::flat_hash_map<WatchId, Watch> watches_;
  absl::flat_hash_map<int, std::vector<WatchId>> by_wd_;
};

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_FS_WATCH_H_
