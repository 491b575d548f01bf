#include "storage/mailbox/index_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/mailbox/uidlist.h"

namespace ringmail::storage {
namespace {

// An owner file holds one token and a newline; more is garbage.
constexpr size_t kMaxOwnerFileBytes = 64;

std::string PathIn(const std::string& folder, std::string_view name) {
  return absl::StrCat(folder, "/", AbslView(name));
}

absl::Status Sys(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(AbslView(what), "(", path,
                                          ") failed: ", ErrnoText(err)));
}

// The owner file, open and exclusively locked (flock: held per open file
// description, so it also excludes other threads of this process).
class OwnerFile {
 public:
  // O_CREAT only when `create`; a missing file then reads as not open.
  OwnerFile(const std::string& folder, bool create)
      : path_(PathIn(folder, kIndexOwnerFileName)) {
    fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd_ < 0) {
      err_ = errno;
      return;
    }
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        err_ = errno;
        close(fd_);
        fd_ = -1;
        return;
      }
    }
  }
  ~OwnerFile() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  OwnerFile(const OwnerFile&) = delete;
  OwnerFile& operator=(const OwnerFile&) = delete;

  bool ok() const { return fd_ >= 0; }
  int error() const { return err_; }
  const std::string& path() const { return path_; }

  // The stored token ("" when empty or unreadable).
  std::string Read() const {
    char buf[kMaxOwnerFileBytes];
    ssize_t n;
    do {
      n = pread(fd_, buf, sizeof(buf), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return {};
    std::string_view s(buf, static_cast<size_t>(n));
    s = s.substr(0, s.find('\n'));
    return std::string(s);
  }

  // Replaces the content with `token` + "\n" and makes it durable.
  // errno-style result: 0 or a positive error.
  int WriteDurable(std::string_view token) {
    std::string data = absl::StrCat(AbslView(token), "\n");
    if (ftruncate(fd_, 0) != 0) return errno;
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = pwrite(fd_, data.data() + off, data.size() - off,
                         static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      off += static_cast<size_t>(n);
    }
    if (fdatasync(fd_) != 0) return errno;
    return 0;
  }

 private:
  std::string path_;
  int fd_ = -1;
  int err_ = 0;
};

}  // namespace

OpenedIndex OpenIndexBlocking(const std::string& folder,
                              const SyncLimits& limits) {
  OpenedIndex r;
  OwnerFile owner(folder, /*create=*/true);
  auto load = [&] {
    absl::StatusOr<FolderIndex> idx = LoadIndexFileBlocking(folder, limits);
    if (idx.ok()) {
      r.index = *std::move(idx);
    } else if (!absl::IsNotFound(idx.status())) {
      absl::StrAppend(&r.warning, idx.status().ToString(), "; rebuilding it");
    }
  };
  if (!owner.ok()) {
    // Without an owner file a crash cannot be detected: no persistent
    // mod-sequences for this lifetime (the index is still a fine cache).
    if (owner.error() != ENOENT) {
      r.warning = Sys("open", owner.path(), owner.error()).ToString();
    }
    load();
    return r;
  }
  r.persistent = true;
  r.token = owner.Read();
  load();
  if (r.index) {
    const std::string& k = r.index->close_token();
    r.clean = r.index->migrated() || (!k.empty() && k == r.token);
  }
  return r;
}

ClaimResult ClaimIndexBlocking(const std::string& folder, std::string_view token,
                               std::string_view new_token, std::string* error) {
  OwnerFile owner(folder, /*create=*/false);
  if (!owner.ok()) {
    *error = Sys("open", owner.path(), owner.error()).ToString();
    return ClaimResult::kFailed;
  }
  const std::string now = owner.Read();
  if (now == new_token) return ClaimResult::kClaimed;
  if (now != token) return ClaimResult::kLost;
  if (int err = owner.WriteDurable(new_token); err != 0) {
    *error = Sys("write", owner.path(), err).ToString();
    return ClaimResult::kFailed;
  }
  return ClaimResult::kClaimed;
}

absl::StatusOr<std::shared_ptr<const IndexImage>> WriteOwnedIndexBlocking(
    const std::string& folder, bool persistent, std::string_view owner_token,
    std::string_view close_token, const IndexSave& save) {
  if (!persistent) return WriteIndexFileBlocking(folder, save, "");
  OwnerFile owner(folder, /*create=*/false);
  if (!owner.ok()) {
    if (owner.error() == ENOENT) return nullptr;  // folder gone
    return Sys("open", owner.path(), owner.error());
  }
  if (owner.Read() != owner_token) return nullptr;  // not ours any more
  return WriteIndexFileBlocking(folder, save, close_token);
}

absl::StatusOr<std::shared_ptr<const IndexImage>> WriteIndexFileBlocking(
    const std::string& folder, const IndexSave& save, std::string_view close_token) {
  std::string path = PathIn(folder, kIndexFileName);
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Sys("open", tmp, errno);
  if (absl::Status st = WriteIndexImageToFd(fd, save, close_token); !st.ok()) {
    close(fd);
    unlink(tmp.c_str());
    return st;
  }
  // Mapped before the rename: the mapping is exactly what was written,
  // whatever replaces the file afterwards.
  absl::StatusOr<std::shared_ptr<const IndexImage>> img =
      IndexImage::MapFd(fd, save.uids.size());
  close(fd);
  // Written just now from memory: its cold columns need no check.
  if (img.ok()) (*img)->MarkColdVerified();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Sys("rename", tmp, err);
  }
  if (!img.ok()) return img.status();
  return img;
}

}  // namespace ringmail::storage
