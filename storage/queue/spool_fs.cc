#include "storage/queue/spool_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_log.h"

namespace ringmail::storage::queue::internal {
namespace {

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Encodes and writes `records` at `offset` in 1 MiB pieces.
absl::Status WriteRecords(BlockingFs& fs, int fd, const std::string& path,
                          off_t offset, const std::vector<StateRecord>& records) {
  constexpr size_t kChunk = 1 << 20;
  std::string buf;
  size_t i = 0;
  while (i < records.size()) {
    buf.clear();
    while (i < records.size() && buf.size() < kChunk) {
      AppendStateRecord(records[i++], &buf);
    }
    if (int e = engine::PwriteAll(fs, fd, buf.data(), buf.size(), offset); e < 0) {
      return SysError("pwrite", path, -e);
    }
    offset += static_cast<off_t>(buf.size());
  }
  if (int e = fs.Fdatasync(fd); e != 0) return SysError("fdatasync", path, -e);
  return absl::OkStatus();
}

}  // namespace

absl::Status SysError(std::string_view what, std::string_view path, int err) {
  std::string msg = absl::StrCat(AbslView(what), "(", AbslView(path),
                                 "): ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

bool PathExists(BlockingFs& fs, const std::string& path) {
  struct stat st;
  return fs.Stat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool IsDirectory(BlockingFs& fs, const std::string& path) {
  struct stat st;
  return fs.Stat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode);
}

bool SameFile(BlockingFs& fs, const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return fs.Stat(AT_FDCWD, a.c_str(), &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
         fs.Stat(AT_FDCWD, b.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

absl::Status FsyncDir(BlockingFs& fs, const std::string& dir) {
  FsFd fd(fs, fs.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
  if (fd.get() < 0) return SysError("open", dir, -fd.get());
  if (int e = fs.Fsync(fd.get()); e != 0) return SysError("fsync", dir, -e);
  return absl::OkStatus();
}

absl::StatusOr<bool> EnsureDir(BlockingFs& fs, const std::string& dir) {
  bool created = true;
  if (int e = fs.Mkdir(AT_FDCWD, dir.c_str(), 0700); e != 0) {
    if (e != -EEXIST) return SysError("mkdir", dir, -e);
    if (!IsDirectory(fs, dir)) return SysError("mkdir", dir, ENOTDIR);
    created = false;
  }
  // Also when it existed: an earlier start may have created it and died
  // (or failed) before this fsync, and nothing else would make the entry
  // durable. Start-up only, so a few fsyncs of clean directories.
  absl::Status s = FsyncDir(fs, Parent(dir));
  if (!s.ok()) return s;
  return created;
}

absl::Status EnsureDirs(BlockingFs& fs, const std::string& dir) {
  std::string parent = Parent(dir);
  if (parent != dir && parent != "." && parent != "/") {
    absl::Status s = EnsureDirs(fs, parent);
    if (!s.ok()) return s;
  }
  return EnsureDir(fs, dir).status();
}

absl::StatusOr<std::vector<DirEntry>> ListDir(BlockingFs& fs,
                                              const std::string& dir,
                                              size_t max_entries) {
  std::vector<DirEntry> out;
  bool too_many = false;
  int r = fs.ListDir(dir.c_str(), [&](int dfd, std::string_view name,
                                      unsigned char type) {
    if (out.size() >= max_entries) {
      too_many = true;
      return false;
    }
    DirEntry entry;
    entry.name = std::string(name);
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fs.Stat(dfd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
      }
    }
    entry.is_dir = type == DT_DIR;
    entry.is_regular = type == DT_REG;
    out.push_back(std::move(entry));
    return true;
  });
  if (r < 0) {
    return SysError(r == -ENOENT || out.empty() ? "opendir" : "readdir", dir, -r);
  }
  if (too_many) {
    return absl::ResourceExhaustedError(
        absl::StrCat(dir, ": more than ", max_entries, " entries"));
  }
  return out;
}

absl::Status RenameNoReplace(BlockingFs& fs, const std::string& from,
                             const std::string& to) {
  int e = fs.Rename(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  if (e == 0) return absl::OkStatus();
  if (e == -EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
  }
  if (e != -EINVAL && e != -ENOSYS) {
    return SysError("rename", absl::StrCat(from, ", ", to), -e);
  }
  // No RENAME_NOREPLACE here: link(2) refuses an existing target too. A
  // crash between link and unlink leaves the file under both names; the
  // callers' replay tolerates that (see PrepareSpool).
  if (int e2 = fs.Link(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 0); e2 != 0) {
    if (e2 == -EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
    }
    return SysError("link", absl::StrCat(from, ", ", to), -e2);
  }
  if (int e2 = fs.Unlink(AT_FDCWD, from.c_str(), 0); e2 != 0) {
    return SysError("unlink", from, -e2);
  }
  return absl::OkStatus();
}

absl::Status RewriteStateLog(BlockingFs& fs, const std::string& core_dir,
                             const std::vector<StateRecord>& records) {
  const std::string tmp = absl::StrCat(core_dir, "/", AbslView(kStateLogNewName));
  const std::string path = absl::StrCat(core_dir, "/", AbslView(kStateLogName));
  {
    FsFd fd(fs, fs.Open(AT_FDCWD, tmp.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return SysError("open", tmp, -fd.get());
    absl::Status s = WriteRecords(fs, fd.get(), tmp, 0, records);
    if (!s.ok()) {
      fd.reset();
      fs.Unlink(AT_FDCWD, tmp.c_str(), 0);
      return s;
    }
  }
  if (int e = fs.Rename(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), 0); e != 0) {
    fs.Unlink(AT_FDCWD, tmp.c_str(), 0);
    return SysError("rename", absl::StrCat(tmp, ", ", path), -e);
  }
  return FsyncDir(fs, core_dir);
}

absl::Status AppendStateLog(BlockingFs& fs, const std::string& core_dir,
                            const std::vector<StateRecord>& records,
                            const LogFn& log) {
  absl::StatusOr<StateLogFile> file = OpenStateLogFile(core_dir, log, fs);
  if (!file.ok()) return file.status();
  FsFd fd(fs, file->fd);
  return WriteRecords(fs, fd.get(),
                      absl::StrCat(core_dir, "/", AbslView(kStateLogName)),
                      static_cast<off_t>(file->size), records);
}

}  // namespace ringmail::storage::queue::internal
