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

  // Replaces the content with `token` + "\n" ("" for an empty file).
  // errno-style result: 0 or a positive error.
  int Write(std::string_view token, bool durable) {
    std::string data = token.empty() ? std::string() : absl::StrCat(AbslView(token), "\n");
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
    if (durable && fdatasync(fd_) != 0) return errno;
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
  r.previous_token = owner.Read();
  load();
  if (r.index) {
    const std::string& k = r.index->close_token();
    r.clean = r.index->migrated() || (!k.empty() && k == r.previous_token);
  }
  std::string token = NewUidlistGuid();
  if (int err = owner.Write(token, /*durable=*/true); err != 0) {
    absl::StrAppend(&r.warning, r.warning.empty() ? "" : "; ",
                    Sys("write", owner.path(), err).ToString(),
                    "; no persistent mod-sequences until it can be written");
    // Leave no stale token behind if at all possible (best effort).
    (void)owner.Write("", false);
    return r;
  }
  r.token = std::move(token);
  return r;
}

absl::Status WriteOwnedIndexBlocking(const std::string& folder,
                                     std::string_view token,
                                     std::string_view bytes) {
  if (token.empty()) return WriteIndexFileBlocking(folder, bytes);
  OwnerFile owner(folder, /*create=*/false);
  if (!owner.ok()) {
    if (owner.error() == ENOENT) return absl::OkStatus();  // folder gone
    return Sys("open", owner.path(), owner.error());
  }
  if (owner.Read() != token) return absl::OkStatus();  // not ours any more
  return WriteIndexFileBlocking(folder, bytes);
}

absl::Status CloseIndexBlocking(const std::string& folder,
                                std::string_view token, std::string_view bytes,
                                std::string_view previous_token) {
  if (token.empty()) {
    return bytes.empty() ? absl::OkStatus() : WriteIndexFileBlocking(folder, bytes);
  }
  OwnerFile owner(folder, /*create=*/false);
  if (!owner.ok()) {
    if (owner.error() == ENOENT) return absl::OkStatus();
    return Sys("open", owner.path(), owner.error());
  }
  if (owner.Read() != token) return absl::OkStatus();
  if (!bytes.empty()) return WriteIndexFileBlocking(folder, bytes);
  // Not durable: losing this write leaves our token, which only makes the
  // next open unclean (safe).
  if (int err = owner.Write(previous_token, /*durable=*/false); err != 0) {
    return Sys("write", owner.path(), err);
  }
  return absl::OkStatus();
}

absl::Status WriteIndexFileBlocking(const std::string& folder,
                                    std::string_view bytes) {
  std::string path = PathIn(folder, kIndexFileName);
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Sys("open", tmp, errno);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return Sys("write", tmp, err);
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Sys("rename", tmp, err);
  }
  return absl::OkStatus();
}

}  // namespace ringmail::storage
