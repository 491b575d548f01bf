#include "storage/mailbox/folder_tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr const char* kSubdirs[] = {"tmp", "new", "cur"};

absl::Status Sys(std::string_view what, const std::string& path, int err) {
  std::string msg = absl::StrCat(AbslView(what), "(", path,
                                 ") failed: ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EEXIST || err == ENOTEMPTY) return absl::AlreadyExistsError(msg);
  return absl::InternalError(msg);
}

bool IsDir(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Names of the entries of `dir` (without "." and ".."); error if unreadable.
absl::StatusOr<std::vector<std::string>> ReadDirNames(const std::string& dir,
                                                      size_t max) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Sys("opendir", dir, errno);
  std::vector<std::string> out;
  while (struct dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    if (out.size() >= max) {
      closedir(d);
      return absl::ResourceExhaustedError(absl::StrCat(dir, ": too many entries"));
    }
    out.emplace_back(n);
  }
  closedir(d);
  return out;
}

// rm -r limited to `depth` levels; a Maildir folder needs 2.
absl::Status RemoveTree(const std::string& path, int depth, size_t max) {
  if (depth < 0) return absl::FailedPreconditionError("folder tree too deep");
  absl::StatusOr<std::vector<std::string>> names = ReadDirNames(path, max);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    std::string child = absl::StrCat(path, "/", n);
    if (IsDir(child)) {
      absl::Status st = RemoveTree(child, depth - 1, max);
      if (!st.ok()) return st;
    } else if (unlink(child.c_str()) != 0 && errno != ENOENT) {
      return Sys("unlink", child, errno);
    }
  }
  if (rmdir(path.c_str()) != 0 && errno != ENOENT) return Sys("rmdir", path, errno);
  return absl::OkStatus();
}

absl::Status MakeFolderDirs(const std::string& path) {
  if (mkdir(path.c_str(), kDirMode) != 0) return Sys("mkdir", path, errno);
  for (const char* sub : kSubdirs) {
    std::string p = absl::StrCat(path, "/", sub);
    if (mkdir(p.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Sys("mkdir", p, errno);
    }
  }
  std::string marker = absl::StrCat(path, "/", AbslView(kMaildirFolderMarker));
  int fd = open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Sys("open", marker, errno);
  close(fd);
  return absl::OkStatus();
}

std::atomic<uint64_t> trash_counter{0};

}  // namespace

absl::StatusOr<std::vector<FolderInfo>> ListFolders(
    const std::string& root, const FolderNameOptions& opts,
    const FolderTreeLimits& limits) {
  absl::StatusOr<std::vector<std::string>> names =
      ReadDirNames(root, limits.max_folders * 4 + 64);
  if (!names.ok()) return names.status();
  // name -> index in `out`
  absl::flat_hash_map<std::string, size_t> by_name;
  std::vector<FolderInfo> out;
  FolderInfo inbox;
  inbox.name = "INBOX";
  out.push_back(inbox);
  by_name["INBOX"] = 0;
  auto add = [&](const std::string& name, const std::string& dir,
                 bool noselect) -> FolderInfo* {
    auto it = by_name.find(name);
    if (it != by_name.end()) {
      FolderInfo& f = out[it->second];
      if (!noselect) {
        f.noselect = false;
        f.dir = dir;
      }
      return &f;
    }
    if (out.size() >= limits.max_folders) return nullptr;
    FolderInfo f;
    f.name = name;
    f.dir = dir;
    f.noselect = noselect;
    f.special_use = SpecialUseOf(name);
    by_name[name] = out.size();
    out.push_back(std::move(f));
    return &out.back();
  };
  for (const std::string& entry : *names) {
    if (entry.size() < 2 || entry[0] != '.' || entry[1] == '.') continue;
    absl::StatusOr<std::string> name = FolderNameFromDir(entry, opts);
    if (!name.ok()) continue;
    if (!IsDir(absl::StrCat(root, "/", entry))) continue;
    if (add(*name, entry, false) == nullptr) {
      return absl::ResourceExhaustedError("too many folders");
    }
    // Implied parents: "A/B/C" makes "A" and "A/B" exist as names.
    for (size_t pos = name->rfind(opts.delimiter);
         pos != std::string::npos && pos > 0;
         pos = name->rfind(opts.delimiter, pos - 1)) {
      std::string parent = name->substr(0, pos);
      FolderInfo* p = add(parent, "", true);
      if (p == nullptr) return absl::ResourceExhaustedError("too many folders");
      p->has_children = true;
    }
  }
  std::sort(out.begin() + 1, out.end(),
            [](const FolderInfo& a, const FolderInfo& b) { return a.name < b.name; });
  // INBOX children (".INBOX.x") mark INBOX itself as having children.
  std::string inbox_prefix = std::string("INBOX") + opts.delimiter;
  for (const FolderInfo& f : out) {
    if (f.name.compare(0, inbox_prefix.size(), inbox_prefix) == 0) {
      out[0].has_children = true;
    }
  }
  return out;
}

absl::Status CreateFolderBlocking(const std::string& root,
                                  std::string_view name,
                                  const FolderNameOptions& opts) {
  absl::StatusOr<std::string> dir = FolderDirName(name, opts);
  if (!dir.ok()) return dir.status();
  if (dir->empty()) return absl::InvalidArgumentError("INBOX already exists");
  return MakeFolderDirs(absl::StrCat(root, "/", *dir));
}

absl::StatusOr<std::vector<std::string>> EnsureDefaultFoldersBlocking(
    const std::string& root, const FolderNameOptions& opts) {
  std::vector<std::string> created;
  for (const DefaultFolder& f : DefaultSpecialUseFolders()) {
    absl::Status st = CreateFolderBlocking(root, f.name, opts);
    if (st.ok()) {
      created.emplace_back(f.name);
    } else if (!absl::IsAlreadyExists(st)) {
      return st;
    }
  }
  return created;
}

absl::Status DeleteFolderBlocking(const std::string& root,
                                  std::string_view name,
                                  const FolderNameOptions& opts,
                                  const FolderTreeLimits& limits) {
  absl::StatusOr<std::string> dir = FolderDirName(name, opts);
  if (!dir.ok()) return dir.status();
  if (dir->empty()) return absl::InvalidArgumentError("cannot delete INBOX");
  std::string path = absl::StrCat(root, "/", *dir);
  if (!IsDir(path)) {
    absl::StatusOr<std::vector<std::string>> names =
        ReadDirNames(root, limits.max_folders * 4 + 64);
    if (!names.ok()) return names.status();
    std::string prefix = *dir + ".";
    for (const std::string& n : *names) {
      if (n.compare(0, prefix.size(), prefix) == 0) {
        return absl::FailedPreconditionError(
            "mailbox has inferior hierarchical names");
      }
    }
    return absl::NotFoundError("mailbox does not exist");
  }
  // Hide it first: from now on nobody (Dovecot included) lists it.
  std::string trash = absl::StrCat(root, "/..ringmail-trash-", getpid(), "-",
                                   trash_counter.fetch_add(1));
  if (rename(path.c_str(), trash.c_str()) != 0) return Sys("rename", path, errno);
  return RemoveTree(trash, 2, limits.max_files_per_dir);
}

absl::Status RenameFolderBlocking(const std::string& root,
                                  std::string_view old_name,
                                  std::string_view new_name,
                                  const FolderNameOptions& opts,
                                  const FolderTreeLimits& limits) {
  absl::StatusOr<std::string> from = FolderDirName(old_name, opts);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::string> to = FolderDirName(new_name, opts);
  if (!to.ok()) return to.status();
  if (to->empty()) return absl::AlreadyExistsError("INBOX already exists");
  std::string to_path = absl::StrCat(root, "/", *to);
  if (IsDir(to_path)) return absl::AlreadyExistsError("mailbox already exists");
  if (from->empty()) {
    // RFC 3501 §6.3.5: renaming INBOX moves its messages, INBOX stays.
    absl::Status st = MakeFolderDirs(to_path);
    if (!st.ok()) return st;
    for (const char* sub : {"new", "cur"}) {
      std::string src = absl::StrCat(root, "/", sub);
      absl::StatusOr<std::vector<std::string>> files =
          ReadDirNames(src, limits.max_files_per_dir);
      if (!files.ok()) return files.status();
      for (const std::string& f : *files) {
        std::string a = absl::StrCat(src, "/", f);
        std::string b = absl::StrCat(to_path, "/", sub, "/", f);
        if (rename(a.c_str(), b.c_str()) != 0 && errno != ENOENT) {
          return Sys("rename", a, errno);
        }
      }
    }
    return absl::OkStatus();
  }
  if (to->size() > from->size() &&
      to->compare(0, from->size() + 1, *from + ".") == 0) {
    return absl::InvalidArgumentError("cannot rename a mailbox into itself");
  }
  absl::StatusOr<std::vector<std::string>> names =
      ReadDirNames(root, limits.max_folders * 4 + 64);
  if (!names.ok()) return names.status();
  std::vector<std::string> moves;  // old dir names, parent first
  std::string child_prefix = *from + ".";
  for (const std::string& n : *names) {
    if (n == *from || n.compare(0, child_prefix.size(), child_prefix) == 0) {
      moves.push_back(n);
    }
  }
  if (moves.empty()) return absl::NotFoundError("mailbox does not exist");
  std::sort(moves.begin(), moves.end());
  for (const std::string& m : moves) {
    std::string target = *to + m.substr(from->size());
    if (target.size() > kMaxFolderDirNameBytes) {
      return absl::InvalidArgumentError("mailbox name too long");
    }
    if (IsDir(absl::StrCat(root, "/", target))) {
      return absl::AlreadyExistsError("target mailbox already exists");
    }
  }
  for (const std::string& m : moves) {
    std::string a = absl::StrCat(root, "/", m);
    std::string b = absl::StrCat(root, "/", *to, m.substr(from->size()));
    if (rename(a.c_str(), b.c_str()) != 0) return Sys("rename", a, errno);
  }
  return absl::OkStatus();
}

namespace {

struct CreateJob {
  engine::FileIo* io;
  std::string path;
  absl::AnyInvocable<void(absl::Status)> done;
  int pending = 0;
  int error = 0;

  void Fail(int r) {
    if (error == 0) error = r;
  }
  void Finish() {
    absl::Status st = error == 0 ? absl::OkStatus() : GenericIoStatus(error);
    auto cb = std::move(done);
    delete this;
    cb(std::move(st));
  }
  void Step() {
    if (--pending > 0) return;
    Finish();
  }
};

}  // namespace

absl::Status CreateFolderAsync(engine::FileIo* io, const std::string& root,
                               std::string_view name,
                               const FolderNameOptions& opts,
                               absl::AnyInvocable<void(absl::Status)> done) {
  absl::StatusOr<std::string> dir = FolderDirName(name, opts);
  if (!dir.ok()) return dir.status();
  if (dir->empty()) return absl::InvalidArgumentError("INBOX already exists");
  auto* job = new CreateJob{io, absl::StrCat(root, "/", *dir), std::move(done)};
  io->MkdirAt(AT_FDCWD, job->path, kDirMode, [job](int r) {
    if (r == -EEXIST) {
      auto cb = std::move(job->done);
      delete job;
      cb(absl::AlreadyExistsError("mailbox already exists"));
      return;
    }
    if (r < 0) {
      job->Fail(r);
      job->Finish();
      return;
    }
    job->pending = 4;
    for (const char* sub : kSubdirs) {
      job->io->MkdirAt(AT_FDCWD, absl::StrCat(job->path, "/", sub), kDirMode,
                       [job](int r2) {
                         if (r2 < 0 && r2 != -EEXIST) job->Fail(r2);
                         job->Step();
                       });
    }
    job->io->OpenAt(
        AT_FDCWD, absl::StrCat(job->path, "/", AbslView(kMaildirFolderMarker)),
        O_WRONLY | O_CREAT | O_CLOEXEC, 0600, [job](int fd) {
          if (fd < 0) {
            job->Fail(fd);
            job->Step();
            return;
          }
          job->io->Close(fd, [job](int) { job->Step(); });
        });
  });
  return absl::OkStatus();
}

}  // namespace ringmail::storage
