#include "storage/queue/spool_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_log.h"

namespace ringmail::storage::queue::internal {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes all of [data, data+len) at `offset`.
bool PwriteAll(int fd, const char* data, size_t len, off_t offset) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

// Encodes and writes `records` at `offset` in 1 MiB pieces.
absl::Status WriteRecords(int fd, const std::string& path, off_t offset,
                          const std::vector<StateRecord>& records) {
  constexpr size_t kChunk = 1 << 20;
  std::string buf;
  size_t i = 0;
  while (i < records.size()) {
    buf.clear();
    while (i < records.size() && buf.size() < kChunk) {
      AppendStateRecord(records[i++], &buf);
    }
    if (!PwriteAll(fd, buf.data(), buf.size(), offset)) {
      return SysError("pwrite", path, errno);
    }
    offset += static_cast<off_t>(buf.size());
  }
  if (::fdatasync(fd) != 0) return SysError("fdatasync", path, errno);
  return absl::OkStatus();
}

}  // namespace

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

ScopedFd& ScopedFd::operator=(ScopedFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

absl::Status SysError(std::string_view what, std::string_view path, int err) {
  std::string msg = absl::StrCat(AbslView(what), "(", AbslView(path),
                                 "): ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::lstat(a.c_str(), &sa) == 0 && ::lstat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

absl::Status FsyncDir(const std::string& dir) {
  ScopedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return SysError("open", dir, errno);
  if (::fsync(fd.get()) != 0) return SysError("fsync", dir, errno);
  return absl::OkStatus();
}

absl::StatusOr<bool> EnsureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) return SysError("mkdir", dir, errno);
    if (!IsDirectory(dir)) return SysError("mkdir", dir, ENOTDIR);
    return false;
  }
  absl::Status s = FsyncDir(Parent(dir));
  if (!s.ok()) return s;
  return true;
}

absl::Status EnsureDirs(const std::string& dir) {
  if (IsDirectory(dir)) return absl::OkStatus();
  std::string parent = Parent(dir);
  if (parent != dir && !IsDirectory(parent)) {
    absl::Status s = EnsureDirs(parent);
    if (!s.ok()) return s;
  }
  return EnsureDir(dir).status();
}

absl::StatusOr<std::vector<DirEntry>> ListDir(const std::string& dir,
                                              size_t max_entries) {
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) return SysError("opendir", dir, errno);
  std::vector<DirEntry> out;
  errno = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (out.size() >= max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat(dir, ": more than ", max_entries, " entries"));
    }
    DirEntry entry;
    entry.name = std::string(name);
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(dirfd(d.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
    }
    entry.is_dir = type == DT_DIR;
    entry.is_regular = type == DT_REG;
    out.push_back(std::move(entry));
    errno = 0;
  }
  if (errno != 0) return SysError("readdir", dir, errno);
  return out;
}

absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  if (errno == EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return SysError("rename", absl::StrCat(from, ", ", to), errno);
  }
  // No RENAME_NOREPLACE here: link(2) refuses an existing target too. A
  // crash between link and unlink leaves the file under both names; the
  // callers' replay tolerates that (see PrepareSpool).
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
    }
    return SysError("link", absl::StrCat(from, ", ", to), errno);
  }
  if (::unlink(from.c_str()) != 0) return SysError("unlink", from, errno);
  return absl::OkStatus();
}

absl::Status RewriteStateLog(const std::string& core_dir,
                             const std::vector<StateRecord>& records) {
  const std::string tmp = absl::StrCat(core_dir, "/", AbslView(kStateLogNewName));
  const std::string path = absl::StrCat(core_dir, "/", AbslView(kStateLogName));
  {
    ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return SysError("open", tmp, errno);
    absl::Status s = WriteRecords(fd.get(), tmp, 0, records);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return SysError("rename", absl::StrCat(tmp, ", ", path), err);
  }
  return FsyncDir(core_dir);
}

absl::Status AppendStateLog(const std::string& core_dir,
                            const std::vector<StateRecord>& records,
                            const LogFn& log) {
  absl::StatusOr<StateLogFile> file = OpenStateLogFile(core_dir, log);
  if (!file.ok()) return file.status();
  ScopedFd fd(file->fd);
  return WriteRecords(fd.get(),
                      absl::StrCat(core_dir, "/", AbslView(kStateLogName)),
                      static_cast<off_t>(file->size), records);
}

}  // namespace ringmail::storage::queue::internal
