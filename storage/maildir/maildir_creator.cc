#include "storage/maildir/maildir_creator.h"

#include <errno.h>
#include <fcntl.h>

#include <cassert>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringmail::storage {
namespace {

constexpr const char* kLeaves[] = {"tmp", "new", "cur"};

}  // namespace

std::string ParentDir(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

MaildirCreator::MaildirCreator(engine::FileIo* io, size_t max_known,
                               LogFn log)
    : io_(io), max_known_(max_known < 8 ? 8 : max_known), log_(std::move(log)) {}

bool MaildirCreator::IsKnown(std::string_view root) const {
  for (const char* leaf : kLeaves) {
    if (!known_.contains(absl::StrCat(AbslView(root), "/", leaf))) return false;
  }
  return true;
}

void MaildirCreator::Forget(std::string_view root) {
  known_.erase(std::string(root));
  for (const char* leaf : kLeaves) known_.erase(absl::StrCat(AbslView(root), "/", leaf));
}

void MaildirCreator::Remember(const std::string& dir) {
  // Bounded: forgetting everything only costs some EEXIST mkdirs later.
  if (known_.size() >= max_known_) known_.clear();
  known_.insert(dir);
}

void MaildirCreator::Ensure(const std::string& root, Done done) {
  assert(!root.empty() && root.front() == '/');
  auto [it, inserted] = jobs_.try_emplace(root);
  it->second.waiters.push_back(std::move(done));
  if (inserted) TryLeaves(root);
}

// Fast path for an existing Maildir missing from the cache: three mkdirs
// that all return EEXIST.
void MaildirCreator::TryLeaves(const std::string& root) {
  Job& job = jobs_[root];
  job.pending = 3;
  auto need_chain = std::make_shared<bool>(false);
  for (const char* leaf : kLeaves) {
    std::string dir = absl::StrCat(AbslView(root), "/", leaf);
    io_->MkdirAt(AT_FDCWD, dir, 0700, [this, root, dir, need_chain](int r) {
      Job& job = jobs_[root];
      if (r == 0) {
        job.parents_to_sync.insert(root);
      } else if (r == -ENOENT) {
        *need_chain = true;
      } else if (r != -EEXIST) {
        log_(SyscallError(absl::StrCat("mkdir(", dir, ")"), r));
        if (job.error == 0) job.error = r;
      }
      if (--job.pending > 0) return;
      if (job.error != 0) return Finish(root);
      if (*need_chain) return MkdirChain(root);
      SyncParents(root);
    });
  }
}

void MaildirCreator::MkdirChain(const std::string& root) {
  Job& job = jobs_[root];
  if (job.chain.empty()) {
    for (size_t pos = root.find('/', 1); pos != std::string::npos;
         pos = root.find('/', pos + 1)) {
      job.chain.push_back(root.substr(0, pos));
    }
    job.chain.push_back(root);
    for (const char* leaf : kLeaves) {
      job.chain.push_back(absl::StrCat(AbslView(root), "/", leaf));
    }
    // Skip the leading directories already known to exist.
    while (job.next < job.chain.size() && known_.contains(job.chain[job.next])) {
      ++job.next;
    }
  }
  if (job.next == job.chain.size()) return SyncParents(root);
  std::string dir = job.chain[job.next];
  io_->MkdirAt(AT_FDCWD, dir, 0700, [this, root, dir](int r) {
    Job& job = jobs_[root];
    if (r == 0) {
      job.parents_to_sync.insert(ParentDir(dir));
    } else if (r != -EEXIST) {
      log_(SyscallError(absl::StrCat("mkdir(", dir, ")"), r));
      job.error = r;
      return Finish(root);
    }
    ++job.next;
    MkdirChain(root);
  });
}

// fsync every directory that gained an entry, so the new directories
// survive power loss before any message in them is acknowledged.
void MaildirCreator::SyncParents(const std::string& root) {
  Job& job = jobs_[root];
  // Directories an earlier, failed job created without syncing their
  // parents: this job finds them with EEXIST, so it must sync them too.
  for (const std::string& parent : unsynced_parents_) {
    if (job.parents_to_sync.insert(parent).second) job.inherited.insert(parent);
  }
  unsynced_parents_.clear();
  if (job.parents_to_sync.empty()) return Finish(root);
  job.pending = static_cast<int>(job.parents_to_sync.size());
  auto step_done = [this, root](int r, const std::string& what) {
    Job& job = jobs_[root];
    if (r < 0) {
      log_(SyscallError(what, r));
      if (job.error == 0) job.error = r;
    }
    if (--job.pending == 0) Finish(root);
  };
  for (const std::string& parent : job.parents_to_sync) {
    io_->OpenAt(
        AT_FDCWD, parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0,
        [this, root, parent, step_done](int fd) mutable {
          // An inherited parent may have been removed since: nothing to sync.
          if (fd == -ENOENT && jobs_[root].inherited.contains(parent)) return step_done(0, "");
          if (fd < 0) return step_done(fd, absl::StrCat("open(", parent, ")"));
          io_->Fsync(fd, false, [this, fd, parent, step_done](int r) mutable {
            // A close error after a successful fsync loses nothing.
            io_->Close(fd, [parent, r, step_done](int) mutable {
              step_done(r, absl::StrCat("fsync(", parent, ")"));
            });
          });
        });
  }
}

void MaildirCreator::Finish(const std::string& root) {
  auto it = jobs_.find(root);
  assert(it != jobs_.end());
  Job job = std::move(it->second);
  jobs_.erase(it);
  if (job.error != 0) {
    // Some directories may exist now without a durable entry (a later
    // mkdir or the parent fsync failed). A retry sees them as EEXIST, so
    // remember to sync their parents then (bounded: at most a few per
    // failed job, and cleared by the next successful sync).
    if (unsynced_parents_.size() + job.parents_to_sync.size() > max_known_) {
      unsynced_parents_.clear();
    }
    for (const std::string& parent : job.parents_to_sync) unsynced_parents_.insert(parent);
  }
  if (job.error == 0) {
    for (const std::string& dir : job.chain) Remember(dir);
    // Root and leaves go in together so IsKnown(root) holds afterwards.
    if (known_.size() + 4 > max_known_) known_.clear();
    known_.insert(root);
    for (const char* leaf : kLeaves) known_.insert(absl::StrCat(AbslView(root), "/", leaf));
  }
  absl::Status status =
      job.error == 0 ? absl::OkStatus() : GenericIoStatus(job.error);
  for (Done& done : job.waiters) done(status);
}

}  // namespace ringmail::storage
