// Making the Maildir files under the journal durable: SyncFileSystems
// (blocking) and FsSyncer (it on a helper thread, for the writer's
// checkpoints).
#include "storage/maildir/journal_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringmail::storage {

int SyncFileSystems(engine::BlockingFs& fs, const std::vector<std::string>& dirs,
                    const LogFn& log) {
  std::set<dev_t> done;
  int result = 0;
  for (const std::string& dir : dirs) {
    struct stat st;
    if (fs.Stat(AT_FDCWD, dir.c_str(), &st, 0) != 0) continue;
    if (!done.insert(st.st_dev).second) continue;
    engine::FsFd fd(fs, fs.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
    if (fd.get() < 0) {
      if (log) log(SyscallError(absl::StrCat("open(", dir, ")"), fd.get()));
      result = -EIO;
      continue;
    }
    if (int r = fs.Syncfs(fd.get()); r < 0) {
      if (log) log(SyscallError(absl::StrCat("syncfs(", dir, ")"), r));
      if (result == 0) result = r;
    }
  }
  return result;
}

// ---- FsSyncer

struct FsSyncer::Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool has_request = false;
  std::vector<std::string> dirs;
  int result = 0;
  int efd = -1;
  LogFn log;
  std::thread thread;
};

FsSyncer::FsSyncer(engine::FileIo* io, LogFn log)
    : io_(io), log_(std::move(log)), shared_(std::make_shared<Shared>()) {
  shared_->efd = eventfd(0, EFD_CLOEXEC);
  shared_->log = log_;
  std::shared_ptr<Shared> s = shared_;
  shared_->thread = std::thread([s] {
    std::unique_lock<std::mutex> lock(s->mu);
    while (true) {
      s->cv.wait(lock, [&] { return s->stop || s->has_request; });
      if (s->stop) return;
      std::vector<std::string> dirs = std::move(s->dirs);
      lock.unlock();
      int r = SyncFileSystems(engine::DefaultBlockingFs(), dirs, s->log);
      lock.lock();
      s->result = r;
      s->has_request = false;
      uint64_t one = 1;
      while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
      }
    }
  });
}

FsSyncer::~FsSyncer() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
  shared_->thread.join();
  if (shared_->efd >= 0) close(shared_->efd);
}

void FsSyncer::Sync(std::vector<std::string> dirs, engine::IoCallback done) {
  if (shared_->efd < 0) {
    // No eventfd: complete through the FileIo with an error, later.
    io_->Fsync(-1, false, [done = std::move(done)](int) mutable { done(-EIO); });
    return;
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    assert(!shared_->has_request);
    shared_->dirs = std::move(dirs);
    shared_->has_request = true;
  }
  shared_->cv.notify_all();
  std::shared_ptr<Shared> s = shared_;
  io_->Read(shared_->efd, &buf_, sizeof(buf_), 0,
            [s, done = std::move(done)](int r) mutable {
              if (r < 0) return done(r);
              int result;
              {
                std::lock_guard<std::mutex> lock(s->mu);
                result = s->result;
              }
              done(result);
            });
}

}  // namespace ringmail::storage
