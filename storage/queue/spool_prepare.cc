// PrepareSpool (spool.h): per-core directories, and merging the spools of
// cores that no longer exist.
//
// Merging c<k> (k >= cores, the source S) into c<k % cores> (the target T).
// Every step is idempotent, and each crash point leaves a state from which
// the next start (which runs the same steps again) finishes the job without
// losing a queue file or the state of a recipient:
//
//  1. LoadCoreSpool(S): cleans S/tmp, unlinks S's finished files, moves its
//     corrupt files to S/corrupt/, rewrites S/state.log compacted. (After a
//     crash in a later step this drops the records of files that already
//     moved — harmless, T's log has them since step 3.)
//  2. Pick each file's name in T/new/ (its own name; on the practically
//     impossible clash with a T file, "m<k>_" + name). A name already
//     linked to the same inode in T (a link + unlink move cut short, see
//     RenameNoReplace) only needs the source name removed.
//  3. Append the live state of every S file, under its T name, to
//     T/state.log and fdatasync it. Crash after this: T's log has records
//     for files T does not have yet; T's loader drops them — but T is only
//     loaded after PrepareSpool, which first repeats steps 1-3.
//  4. rename(S/new/f, T/new/f') for each file, never replacing. A crash
//     between renames: each file is in exactly one of S and T (rename is
//     atomic), and both logs describe it; the next run moves the rest.
//  5. fsync T/new and S/new: the renames are durable.
//  6. Move S/corrupt/* to T/corrupt/ (never replacing), fsync both.
//  7. Only now unlink S/state.log (every record it held is in T's log, and
//     every file it described is durably in T/new), then remove S/tmp,
//     S/new, S/cur, S/corrupt and S, and fsync the root. A crash in here
//     leaves an S with no files, which the next run removes.
//
// Journal mode: RecoverJournals must have run before PrepareSpool, so that
// journal records of core k are replayed into S before S is merged.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_fs.h"

namespace ringmail::storage::queue {
namespace {

using internal::DirEntry;

constexpr std::string_view kMaildirSubdirs[] = {"tmp", "new", "cur"};
constexpr size_t kMaxCorruptEntries = 10'000'000;

class Merger {
 public:
  Merger(const std::string& root, const PrepareOptions& opts)
      : root_(root),
        opts_(opts),
        fs_(opts.fs != nullptr ? *opts.fs : engine::DefaultBlockingFs()) {}

  absl::Status Point(std::string_view name) {
    if (!opts_.fault_point) return absl::OkStatus();
    return opts_.fault_point(name);
  }

  absl::Status EnsureCore(int core) {
    const std::string dir = CoreSpoolDir(root_, core);
    absl::StatusOr<bool> made = internal::EnsureDir(fs_, dir);
    if (!made.ok()) return made.status();
    for (std::string_view sub : kMaildirSubdirs) {
      made = internal::EnsureDir(fs_, absl::StrCat(dir, "/", AbslView(sub)));
      if (!made.ok()) return made.status();
    }
    return absl::OkStatus();
  }

  absl::Status Merge(int source, int target) {
    const std::string src = CoreSpoolDir(root_, source);
    const std::string dst = CoreSpoolDir(root_, target);
    opts_.log(absl::StrCat("queue: merging ", src, " into ", dst));

    // 1.
    LoadOptions load;
    load.log = opts_.log;
    load.fs = &fs_;
    load.keep_removed_records = opts_.keep_removed_records;
    LoadStats stats;
    load.stats = &stats;
    absl::StatusOr<std::vector<LoadedMessage>> msgs = LoadCoreSpool(root_, source, load);
    if (!msgs.ok()) return msgs.status();
    if (stats.unreadable > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          src, ": ", stats.unreadable, " queue files cannot be read; fix or "
          "remove them before reducing the number of cores"));
    }
    absl::Status s = Point("after-load-source");
    if (!s.ok()) return s;

    // 2.
    std::vector<std::string> names;
    std::vector<bool> linked(msgs->size(), false);
    names.reserve(msgs->size());
    for (const LoadedMessage& m : *msgs) {
      std::string name = m.file;
      if (internal::SameFile(fs_, absl::StrCat(src, "/new/", name),
                             absl::StrCat(dst, "/new/", name))) {
        // RenameNoReplace's link + unlink fallback was cut short.
        linked[names.size()] = true;
      } else if (internal::PathExists(fs_, absl::StrCat(dst, "/new/", name))) {
        name = absl::StrCat("m", source, "_", m.file);
        if (!IsValidQueueFileName(name) ||
            internal::PathExists(fs_, absl::StrCat(dst, "/new/", name))) {
          return absl::AlreadyExistsError(absl::StrCat(
              "cannot merge ", src, "/new/", m.file, ": name taken in ", dst));
        }
      }
      names.push_back(std::move(name));
    }

    // 3.
    if (!msgs->empty()) {
      std::vector<StateRecord> records;
      for (size_t i = 0; i < msgs->size(); ++i) {
        const LoadedMessage& m = (*msgs)[i];
        AppendFileStateRecords(names[i], m.recipients, m.held, m.delay_warned,
                               m.size, &records);
      }
      s = internal::AppendStateLog(fs_, dst, records, opts_.log);
      if (!s.ok()) return s;
    }
    s = Point("after-target-log");
    if (!s.ok()) return s;

    // 4.
    for (size_t i = 0; i < msgs->size(); ++i) {
      const std::string from = absl::StrCat(src, "/new/", (*msgs)[i].file);
      if (linked[i]) {
        if (int e = fs_.Unlink(AT_FDCWD, from.c_str(), 0); e != 0 && e != -ENOENT) {
          return internal::SysError("unlink", from, -e);
        }
      } else {
        s = internal::RenameNoReplace(fs_, from, absl::StrCat(dst, "/new/", names[i]));
        if (!s.ok()) return s;
      }
      s = Point("after-rename");
      if (!s.ok()) return s;
    }

    // 5.
    s = internal::FsyncDir(fs_, dst + "/new");
    if (s.ok() && internal::IsDirectory(fs_, src + "/new")) {
      s = internal::FsyncDir(fs_, src + "/new");
    }
    if (!s.ok()) return s;
    s = Point("after-sync-new");
    if (!s.ok()) return s;

    // 6.
    s = MoveCorrupt(src, dst, source);
    if (!s.ok()) return s;
    s = Point("after-corrupt");
    if (!s.ok()) return s;

    // 7.
    const std::string src_log = absl::StrCat(src, "/", AbslView(kStateLogName));
    if (int e = fs_.Unlink(AT_FDCWD, src_log.c_str(), 0); e != 0 && e != -ENOENT) {
      return internal::SysError("unlink", src_log, -e);
    }
    s = Point("after-unlink-source-log");
    if (!s.ok()) return s;
    return RemoveSource(src);
  }

 private:
  absl::Status MoveCorrupt(const std::string& src, const std::string& dst,
                           int source) {
    const std::string from_dir = absl::StrCat(src, "/", AbslView(kCorruptDirName));
    absl::StatusOr<std::vector<DirEntry>> entries =
        internal::ListDir(fs_, from_dir, kMaxCorruptEntries);
    if (absl::IsNotFound(entries.status())) return absl::OkStatus();
    if (!entries.ok()) return entries.status();
    if (entries->empty()) return absl::OkStatus();
    const std::string to_dir = absl::StrCat(dst, "/", AbslView(kCorruptDirName));
    absl::StatusOr<bool> made = internal::EnsureDir(fs_, to_dir);
    if (!made.ok()) return made.status();
    for (const DirEntry& e : *entries) {
      absl::Status s = absl::OkStatus();
      for (int i = 0; i < 100; ++i) {
        std::string to = i == 0 ? absl::StrCat(to_dir, "/", e.name)
                                : absl::StrCat(to_dir, "/m", source, "_", i, "_", e.name);
        s = internal::RenameNoReplace(fs_, absl::StrCat(from_dir, "/", e.name), to);
        if (s.code() != absl::StatusCode::kAlreadyExists) break;
      }
      if (!s.ok()) return s;
    }
    absl::Status s = internal::FsyncDir(fs_, to_dir);
    if (s.ok()) s = internal::FsyncDir(fs_, from_dir);
    return s;
  }

  absl::Status RemoveSource(const std::string& src) {
    for (std::string_view sub : {std::string_view("tmp"), std::string_view("new"),
                                 std::string_view("cur"), kCorruptDirName}) {
      std::string path = absl::StrCat(src, "/", AbslView(sub));
      if (int e = fs_.Unlink(AT_FDCWD, path.c_str(), AT_REMOVEDIR); e != 0 && e != -ENOENT) {
        return internal::SysError("rmdir", path, -e);
      }
      absl::Status s = Point("after-rmdir");
      if (!s.ok()) return s;
    }
    if (int e = fs_.Unlink(AT_FDCWD, src.c_str(), AT_REMOVEDIR); e != 0 && e != -ENOENT) {
      // Something unexpected is left in it: keep it for the operator.
      return internal::SysError("rmdir", src, -e);
    }
    return internal::FsyncDir(fs_, root_);
  }

  const std::string& root_;
  const PrepareOptions& opts_;
  engine::BlockingFs& fs_;
};

}  // namespace

absl::Status PrepareSpool(const std::string& root, int cores,
                          const PrepareOptions& options) {
  if (cores < 1 || cores > kMaxSpoolCores) {
    return absl::InvalidArgumentError(absl::StrCat("bad core count ", cores));
  }
  engine::BlockingFs& fs =
      options.fs != nullptr ? *options.fs : engine::DefaultBlockingFs();
  absl::Status s = internal::EnsureDirs(fs, root);
  if (!s.ok()) return s;
  Merger merger(root, options);
  for (int core = 0; core < cores; ++core) {
    s = merger.EnsureCore(core);
    if (!s.ok()) return s;
  }
  absl::StatusOr<std::vector<int>> present = ListSpoolCores(root, fs);
  if (!present.ok()) return present.status();
  for (int k : *present) {
    if (k < cores) continue;
    s = merger.Merge(k, k % cores);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status PrepareSpool(const std::string& root, int cores) {
  return PrepareSpool(root, cores, PrepareOptions());
}

}  // namespace ringmail::storage::queue
