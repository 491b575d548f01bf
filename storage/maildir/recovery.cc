#include "storage/maildir/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringmail::storage {
namespace {

using engine::BlockingFs;

bool IsDir(BlockingFs& fs, const std::string& path) {
  struct stat st;
  return fs.Stat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(st.st_mode);
}

bool IsMaildir(BlockingFs& fs, const std::string& dir) {
  return IsDir(fs, dir + "/tmp") && IsDir(fs, dir + "/new") &&
         IsDir(fs, dir + "/cur");
}

void Walk(BlockingFs& fs, const std::string& dir, int depth,
          const RecoveryLimits& limits, const LogFn& log,
          std::vector<std::string>* out) {
  if (out->size() >= limits.max_maildirs) return;
  if (IsMaildir(fs, dir)) {
    out->push_back(dir);
    return;  // Maildir++ subfolders are not delivered to by us.
  }
  if (depth >= limits.max_depth) return;
  std::vector<std::string> children;
  size_t entries = 0;
  int r = fs.ListDir(dir.c_str(), [&](int, std::string_view name, unsigned char) {
    if (++entries > limits.max_entries_per_dir) return false;
    children.push_back(absl::StrCat(dir, "/", std::string(name)));
    return true;
  });
  if (r < 0) {
    log(SyscallError(absl::StrCat("opendir(", dir, ")"), r));
    return;
  }
  for (const std::string& child : children) {
    if (IsDir(fs, child)) Walk(fs, child, depth + 1, limits, log, out);
  }
}

}  // namespace

absl::StatusOr<RecoveryStats> CleanStaleTmpFiles(const std::string& maildir,
                                                 absl::Time now,
                                                 const RecoveryLimits& limits,
                                                 const LogFn& log,
                                                 BlockingFs& fs) {
  RecoveryStats stats;
  std::string tmp = maildir + "/tmp";
  const absl::Time cutoff = now - limits.max_age;
  size_t entries = 0;
  int r = fs.ListDir(tmp.c_str(), [&](int dfd, std::string_view entry, unsigned char) {
    if (++entries > limits.max_entries_per_dir) {
      log(absl::StrCat(tmp, ": more than ", limits.max_entries_per_dir,
                       " entries, rest left for the next start"));
      return false;
    }
    std::string name(entry);
    struct stat st;
    if (int e = fs.Stat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW); e != 0) {
      if (e == -ENOENT) return true;  // removed by someone else meanwhile
      log(SyscallError(absl::StrCat("stat(", tmp, "/", name, ")"), e));
      ++stats.errors;
      return true;
    }
    if (!S_ISREG(st.st_mode)) return true;
    if (absl::TimeFromTimespec(st.st_mtim) >= cutoff) {
      ++stats.files_kept;
      return true;
    }
    if (int e = fs.Unlink(dfd, name.c_str(), 0); e != 0 && e != -ENOENT) {
      log(SyscallError(absl::StrCat("unlink(", tmp, "/", name, ")"), e));
      ++stats.errors;
      return true;
    }
    ++stats.files_removed;
    return true;
  });
  if (r < 0) {
    if (r == -ENOENT) return RecoveryStats();
    log(SyscallError(absl::StrCat("opendir(", tmp, ")"), r));
    return absl::InternalError("cannot read tmp directory");
  }
  stats.maildirs_scanned = 1;
  return stats;
}

absl::StatusOr<std::vector<std::string>> FindMaildirs(
    const std::string& root, const RecoveryLimits& limits, const LogFn& log,
    BlockingFs& fs) {
  if (!IsDir(fs, root)) {
    log(absl::StrCat("mail root ", root, " is not a readable directory"));
    return absl::NotFoundError("mail root not found");
  }
  std::vector<std::string> out;
  Walk(fs, root, 0, limits, log, &out);
  return out;
}

absl::StatusOr<RecoveryStats> RecoverMailRoot(const std::string& root,
                                              absl::Time now,
                                              const RecoveryLimits& limits,
                                              const LogFn& log,
                                              BlockingFs& fs) {
  absl::StatusOr<std::vector<std::string>> dirs =
      FindMaildirs(root, limits, log, fs);
  if (!dirs.ok()) return dirs.status();
  RecoveryStats total;
  for (const std::string& dir : *dirs) {
    absl::StatusOr<RecoveryStats> s = CleanStaleTmpFiles(dir, now, limits, log, fs);
    if (!s.ok()) {
      ++total.errors;  // logged; keep recovering the other Maildirs
      continue;
    }
    total.maildirs_scanned += s->maildirs_scanned;
    total.files_removed += s->files_removed;
    total.files_kept += s->files_kept;
    total.errors += s->errors;
  }
  return total;
}

}  // namespace ringmail::storage
