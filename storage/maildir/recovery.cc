#include "storage/maildir/recovery.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringmail::storage {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

bool IsDir(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsMaildir(const std::string& dir) {
  return IsDir(dir + "/tmp") && IsDir(dir + "/new") && IsDir(dir + "/cur");
}

void Walk(const std::string& dir, int depth, const RecoveryLimits& limits,
          const LogFn& log, std::vector<std::string>* out) {
  if (out->size() >= limits.max_maildirs) return;
  if (IsMaildir(dir)) {
    out->push_back(dir);
    return;  // Maildir++ subfolders are not delivered to by us.
  }
  if (depth >= limits.max_depth) return;
  DirPtr d(opendir(dir.c_str()));
  if (!d) {
    log(SyscallError(absl::StrCat("opendir(", dir, ")"), -errno));
    return;
  }
  size_t entries = 0;
  while (struct dirent* e = readdir(d.get())) {
    if (++entries > limits.max_entries_per_dir) break;
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = absl::StrCat(dir, "/", e->d_name);
    if (IsDir(child)) Walk(child, depth + 1, limits, log, out);
  }
}

}  // namespace

absl::StatusOr<RecoveryStats> CleanStaleTmpFiles(const std::string& maildir,
                                                 absl::Time now,
                                                 const RecoveryLimits& limits,
                                                 const LogFn& log) {
  RecoveryStats stats;
  std::string tmp = maildir + "/tmp";
  DirPtr d(opendir(tmp.c_str()));
  if (!d) {
    if (errno == ENOENT) return stats;
    log(SyscallError(absl::StrCat("opendir(", tmp, ")"), -errno));
    return absl::InternalError("cannot read tmp directory");
  }
  stats.maildirs_scanned = 1;
  const absl::Time cutoff = now - limits.max_age;
  int dfd = dirfd(d.get());
  size_t entries = 0;
  while (struct dirent* e = readdir(d.get())) {
    if (++entries > limits.max_entries_per_dir) {
      log(absl::StrCat(tmp, ": more than ", limits.max_entries_per_dir,
                       " entries, rest left for the next start"));
      break;
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed by someone else meanwhile
      log(SyscallError(absl::StrCat("stat(", tmp, "/", e->d_name, ")"), -errno));
      ++stats.errors;
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (absl::TimeFromTimespec(st.st_mtim) >= cutoff) {
      ++stats.files_kept;
      continue;
    }
    if (unlinkat(dfd, e->d_name, 0) != 0 && errno != ENOENT) {
      log(SyscallError(absl::StrCat("unlink(", tmp, "/", e->d_name, ")"), -errno));
      ++stats.errors;
      continue;
    }
    ++stats.files_removed;
  }
  return stats;
}

absl::StatusOr<std::vector<std::string>> FindMaildirs(
    const std::string& root, const RecoveryLimits& limits, const LogFn& log) {
  if (!IsDir(root)) {
    log(absl::StrCat("mail root ", root, " is not a readable directory"));
    return absl::NotFoundError("mail root not found");
  }
  std::vector<std::string> out;
  Walk(root, 0, limits, log, &out);
  return out;
}

absl::StatusOr<RecoveryStats> RecoverMailRoot(const std::string& root,
                                              absl::Time now,
                                              const RecoveryLimits& limits,
                                              const LogFn& log) {
  absl::StatusOr<std::vector<std::string>> dirs =
      FindMaildirs(root, limits, log);
  if (!dirs.ok()) return dirs.status();
  RecoveryStats total;
  for (const std::string& dir : *dirs) {
    absl::StatusOr<RecoveryStats> s = CleanStaleTmpFiles(dir, now, limits, log);
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
