#include "engine/fs_watch.h"

#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/log.h"

namespace ringmail::engine {
namespace {
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_ONLYDIR;
// A read buffer smaller than one maximal event makes read() fail (EINVAL).
constexpr size_t kMinBuffer = sizeof(inotify_event) + NAME_MAX + 1;
}  // namespace

// Keeps exactly one read (or, after -EAGAIN, one poll) armed on the inotify
// fd. It outlives its FsWatcher when a completion is still due, because the
// kernel may write into `buf_` until then.
class FsWatcher::ReadOp final : public Operation {
 public:
  ReadOp(Ring* ring, int fd, size_t size)
      : ring_(ring), fd_(fd), size_(size), buf_(new char[size]) {}
  ~ReadOp() override { close(fd_); }

  void ArmRead() {
    polling_ = false;
    armed_ = true;
    io_uring_prep_read(ring_->GetSqe(this), fd_, buf_.get(),
                       static_cast<unsigned>(size_), 0);
  }

  // The FsWatcher is going away: cancel what is armed and delete this once
  // its completion arrives (or now, if nothing is armed).
  void Detach() {
    owner_ = nullptr;
    if (armed_) {
      ring_->Orphan(this);
      io_uring_prep_cancel(ring_->GetSqe(), this, 0);
    } else {
      delete this;
    }
  }

  void Complete(int res, uint32_t) override {
    armed_ = false;
    if (owner_ == nullptr) {
      ring_->Forget(this);
      delete this;
      return;
    }
    if (polling_) {
      // POLLIN (or an error the read will report): read now.
      if (res == -ECANCELED || res == -EINTR || res >= 0) {
        ArmRead();
      } else {
        Fail(res);
      }
      return;
    }
    if (res > 0) {
      owner_->Dispatch(buf_.get(), static_cast<size_t>(res));
      ArmRead();
    } else if (res == -EAGAIN) {
      // The fd is non-blocking and the kernel may hand that back instead of
      // waiting: wait for readability through the ring, then read again.
      polling_ = true;
      armed_ = true;
      io_uring_prep_poll_add(ring_->GetSqe(this), fd_, POLLIN);
    } else if (res == -EINTR || res == -ECANCELED) {
      ArmRead();
    } else {
      Fail(res);
    }
  }

  void set_owner(FsWatcher* w) { owner_ = w; }
  int fd() const { return fd_; }

 private:
  // A persistent error would spin if re-armed: stop watching. Callers keep
  // working on demand (their sync-on-command path).
  void Fail(int res) {
    LOG_ERROR("fs_watch: inotify read failed (", res == 0 ? "EOF" : std::strerror(-res),
              "); directory change notification stopped");
  }

  Ring* ring_;
  int fd_;
  size_t size_;
  std::unique_ptr<char[]> buf_;
  FsWatcher* owner_ = nullptr;
  bool armed_ = false;
  bool polling_ = false;
};

absl::StatusOr<std::unique_ptr<FsWatcher>> FsWatcher::Create(
    Ring* ring, const FsWatchOptions& opts) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("inotify_init1: ", std::strerror(errno)));
  }
  auto* op = new ReadOp(ring, fd, std::max(opts.buffer_bytes, kMinBuffer));
  std::unique_ptr<FsWatcher> w(new FsWatcher(op, opts));
  op->set_owner(w.get());
  op->ArmRead();
  return w;
}

FsWatcher::FsWatcher(ReadOp* op, const FsWatchOptions& opts)
    : op_(op), opts_(opts) {}

FsWatcher::~FsWatcher() {
  // Closing the inotify fd drops every kernel watch with it.
  op_->Detach();
}

absl::StatusOr<FsWatcher::WatchId> FsWatcher::Add(std::string_view path,
                                                  Callback fn) {
  if (watches_.size() >= opts_.max_watches) {
    return absl::ResourceExhaustedError("fs_watch: watch limit reached");
  }
  std::string p(path);
  // A path lookup on the core's thread: cheap for local directories, and
  // done once per watch, not per event.
  int wd = inotify_add_watch(op_->fd(), p.c_str(), kMask);
  if (wd < 0) {
    int e = errno;
    std::string msg = absl::StrCat("inotify_add_watch ", p, ": ", std::strerror(e));
    if (e == ENOSPC) return absl::ResourceExhaustedError(msg);
    if (e == ENOENT || e == ENOTDIR) return absl::NotFoundError(msg);
    return absl::UnavailableError(msg);
  }
  WatchId id = next_id_++;
  watches_.emplace(id, Watch{wd, std::move(fn)});
  by_wd_[wd].push_back(id);
  return id;
}

void FsWatcher::Remove(WatchId id) {
  auto it = watches_.find(id);
  if (it == watches_.end()) return;
  int wd = it->second.wd;
  watches_.erase(it);
  auto w = by_wd_.find(wd);
  if (w == by_wd_.end()) return;  // the kernel already dropped it
  std::vector<WatchId>& ids = w->second;
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty()) {
    by_wd_.erase(w);
    inotify_rm_watch(op_->fd(), wd);  // its IN_IGNORED finds no mapping
  }
}

void FsWatcher::Dispatch(const char* data, size_t len) {
  // Collect first, call after: callbacks may Add or Remove watches, which
  // would invalidate iterators into the maps.
  std::vector<WatchId> hit;
  size_t off = 0;
  while (off + sizeof(inotify_event) <= len) {
    inotify_event ev;
    std::memcpy(&ev, data + off, sizeof(ev));
    off += sizeof(inotify_event) + ev.len;
    if (ev.mask & IN_Q_OVERFLOW) {
      for (const auto& [id, w] : watches_) hit.push_back(id);
      continue;
    }
    auto it = by_wd_.find(ev.wd);
    if (it == by_wd_.end()) continue;
    hit.insert(hit.end(), it->second.begin(), it->second.end());
    if (ev.mask & IN_IGNORED) {
      // The directory is gone (or unmounted): the kernel dropped the watch.
      for (WatchId id : it->second) {
        auto wit = watches_.find(id);
        if (wit != watches_.end()) wit->second.wd = -1;
      }
      by_wd_.erase(it);
    }
  }
  std::sort(hit.begin(), hit.end());
  hit.erase(std::unique(hit.begin(), hit.end()), hit.end());
  for (WatchId id : hit) {
    auto it = watches_.find(id);
    if (it == watches_.end()) continue;
    // Moved out for the call: the callback may Remove its own watch.
    Callback fn = std::move(it->second.fn);
    fn(id);
    it = watches_.find(id);
    if (it != watches_.end()) it->second.fn = std::move(fn);
  }
}

}  // namespace ringmail::engine
