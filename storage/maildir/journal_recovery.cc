// Start-up (blocking): OpenJournalFile and RecoverJournal. RecoverJournalDir
// is in journal_dir.cc.
#include "storage/maildir/journal_recovery.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/journal_sync.h"

namespace ringmail::storage {
namespace {

using engine::BlockingFs;
using engine::FsFd;

absl::StatusOr<std::string> ReadWhole(BlockingFs& fs, int fd, uint64_t size) {
  std::string out(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = fs.Pread(fd, out.data() + done, size - done,
                         static_cast<off_t>(done));
    if (n == -EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(
          n < 0 ? ErrnoText(static_cast<int>(-n)) : std::string("unexpected end of file"));
    }
    done += static_cast<uint64_t>(n);
  }
  return out;
}

bool ReadFileContent(BlockingFs& fs, const std::string& path, std::string* out) {
  FsFd fd(fs, fs.Open(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  struct stat st;
  if (fs.Fstat(fd.get(), &st) != 0) return false;
  auto content = ReadWhole(fs, fd.get(), static_cast<uint64_t>(st.st_size));
  if (!content.ok()) return false;
  *out = std::move(*content);
  return true;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.data(), slash);
}

int FsyncPath(BlockingFs& fs, const std::string& path) {
  FsFd fd(fs, fs.Open(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0));
  if (fd.get() < 0) return fd.get();
  return fs.Fsync(fd.get());
}

// mkdir -p. Every directory it creates gets its parent fsynced, so that
// the new entry survives a power cut (a journal whose directory vanished
// would lose every record in it). With `sync_existing`, so does every
// directory that already existed: an earlier start may have created it and
// died (or failed) before that fsync, and this start cannot tell.
int MkdirP(BlockingFs& fs, const std::string& path, bool sync_existing) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part(path.data(), pos);
    int r = fs.Mkdir(AT_FDCWD, part.c_str(), 0700);
    if (r == -EEXIST && !sync_existing) continue;
    if (r < 0 && r != -EEXIST) return r;
    if (int e = FsyncPath(fs, DirOf(part)); e < 0) return e;
  }
  return 0;
}

// Writes `content` to <maildir>/tmp/<name>.recovered and renames it over
// `final_path`. Durability comes from the syncfs that follows.
int WriteBack(BlockingFs& fs, const JournalRecord& r,
              const std::string& final_path) {
  // The syncfs that follows the replay makes existing directories durable.
  if (int e = MkdirP(fs, r.maildir + "/tmp", false); e < 0) return e;
  if (int e = MkdirP(fs, r.maildir + "/new", false); e < 0) return e;
  if (int e = MkdirP(fs, r.maildir + "/cur", false); e < 0) return e;
  std::string tmp = absl::StrCat(r.maildir, "/tmp/", r.name, ".recovered");
  int e = 0;
  {
    FsFd fd(fs, fs.Open(AT_FDCWD, tmp.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return fd.get();
    e = engine::PwriteAll(fs, fd.get(), r.content.data(), r.content.size(), 0);
    if (e == 0) e = fs.Fdatasync(fd.get());
  }
  if (e == 0) e = fs.Rename(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_path.c_str(), 0);
  if (e < 0) fs.Unlink(AT_FDCWD, tmp.c_str(), 0);
  return e;
}

// Whether a valid record (header's epoch, the checkpoint's seq, good length
// and CRC) starts at the checkpoint of the journal open on `fd`.
absl::StatusOr<bool> RecordAtCheckpoint(BlockingFs& fs, int fd, const JournalFile& f) {
  uint64_t off = f.checkpoint_offset;
  if (f.file_size - off < kJournalRecordHeaderBytes) off = kJournalHeaderBytes;
  std::string rec(kJournalRecordHeaderBytes, '\0');
  if (fs.Pread(fd, rec.data(), rec.size(), static_cast<off_t>(off)) !=
      static_cast<ssize_t>(rec.size())) {
    return absl::DataLossError("cannot read the record at the checkpoint");
  }
  const uint64_t span = JournalRecordCrcSpan(rec, f, off, f.checkpoint_seq);
  if (span == 0) return false;
  if (span > kJournalRecordHeaderBytes) {
    rec.resize(span);
    if (fs.Pread(fd, rec.data() + kJournalRecordHeaderBytes,
                 span - kJournalRecordHeaderBytes,
                 static_cast<off_t>(off + kJournalRecordHeaderBytes)) !=
        static_cast<ssize_t>(span - kJournalRecordHeaderBytes)) {
      return absl::DataLossError("cannot read the record at the checkpoint");
    }
  }
  return JournalRecordCrcOk(rec);
}

}  // namespace

absl::StatusOr<JournalFile> OpenJournalFile(const std::string& path,
                                            uint64_t expected_size,
                                            engine::BlockingFs& fs) {
  FsFd owner(fs, fs.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CLOEXEC, 0));
  const int fd = owner.get();
  if (fd < 0) {
    return absl::NotFoundError(SyscallError(absl::StrCat("open(", path, ")"), fd));
  }
  struct stat st;
  std::string block(kJournalHeaderBytes, '\0');
  JournalFile f;
  uint64_t picked_slot = 0;
  absl::Status error;
  if (fs.Fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != expected_size) {
    error = absl::FailedPreconditionError(absl::StrCat(path, ": wrong size"));
  } else if (fs.Pread(fd, block.data(), block.size(), 0) !=
                 static_cast<ssize_t>(block.size()) ||
             !PickJournalHeader(block, &f, &picked_slot) || f.file_size != expected_size) {
    error = absl::DataLossError(absl::StrCat(path, ": no valid header"));
  }
  if (error.ok()) {
    // Writing starts at the checkpoint. If a record of this epoch starts
    // there, recovery has not run (or failed before it reset the header):
    // those records were never replayed, and appending would overwrite
    // them. The caller then runs without the journal (fsync mode) and the
    // next start retries the recovery.
    absl::StatusOr<bool> busy = RecordAtCheckpoint(fs, fd, f);
    if (!busy.ok()) {
      error = absl::DataLossError(absl::StrCat(path, ": ", busy.status().message()));
    } else if (*busy) {
      error = absl::FailedPreconditionError(absl::StrCat(
          path, ": holds records after its checkpoint that were not replayed"));
    }
  }
  if (error.ok()) {
    // Make the header this core will write after durable before relying
    // on it: rewrite the picked slot with the same bytes and fdatasync.
    // The header read above may be only in the page cache: when start-up's
    // reset wrote it and its fdatasync failed (recovery then failed, the
    // log meant to stay for the next start), Linux marks the failed pages
    // clean and never writes them, yet reads still return them. Records
    // appended under such a header are lost with it at a power cut (no
    // valid header on disk: the next start recreates the journal; or an
    // older one, of another epoch, whose scan ignores them) while their
    // files in new/ were never synced. A new write dirties the slot again,
    // so this fdatasync writes it. Identical bytes: a torn rewrite cannot
    // make a durable slot worse. If this fails the core runs in fsync mode.
    // (Found by a long durability-simulation run, seed 3035238.)
    const size_t n = EncodeJournalHeader(f).size();
    int e = engine::PwriteAll(fs, fd, block.data() + picked_slot, n,
                              static_cast<off_t>(picked_slot));
    if (e == 0) e = fs.Fdatasync(fd);
    if (e < 0) {
      error = absl::InternalError(SyscallError(absl::StrCat("write header(", path, ")"), e));
    }
  }
  if (!error.ok()) return error;
  f.fd = owner.release();
  return f;
}

absl::StatusOr<JournalRecoveryStats> RecoverJournal(const std::string& path,
                                                    uint64_t size,
                                                    const LogFn& log,
                                                    engine::BlockingFs& fs) {
  if (size < kJournalMinSize || size % 4096 != 0) {
    return absl::InvalidArgumentError("journal size must be a multiple of 4096, at least 1 MiB");
  }
  JournalRecoveryStats stats;
  if (int e = MkdirP(fs, DirOf(path), /*sync_existing=*/true); e < 0) {
    return absl::InternalError(SyscallError(absl::StrCat("mkdir(", DirOf(path), ")"), e));
  }
  int raw = fs.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (raw < 0) {
    return absl::InternalError(SyscallError(absl::StrCat("open(", path, ")"), raw));
  }
  FsFd fd(fs, raw);
  struct stat st;
  if (int e = fs.Fstat(fd.get(), &st); e != 0) {
    return absl::InternalError(SyscallError(absl::StrCat("fstat(", path, ")"), e));
  }
  JournalFile old;
  bool have_old = false;
  bool keep_old_log = false;
  if (static_cast<uint64_t>(st.st_size) >= kJournalMinSize) {
    auto image = ReadWhole(fs, fd.get(), static_cast<uint64_t>(st.st_size));
    if (!image.ok()) {
      return absl::InternalError(absl::StrCat(path, ": read failed: ", image.status().message()));
    }
    have_old = PickJournalHeader(*image, &old) &&
               old.file_size == static_cast<uint64_t>(st.st_size);
    if (have_old) {
      std::vector<JournalRecord> records = ScanJournal(*image, old, log);
      stats.records = records.size();
      // Cache of cur/ listings: base name -> file name.
      absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, std::string>> cur;
      std::vector<std::string> dirs;
      for (const JournalRecord& r : records) {
        std::string new_path = absl::StrCat(r.maildir, "/new/", r.name);
        std::string target = new_path;
        std::string content;
        bool exists = ReadFileContent(fs, new_path, &content);
        if (!exists) {
          auto it = cur.find(r.maildir);
          if (it == cur.end()) {
            it = cur.emplace(r.maildir, absl::flat_hash_map<std::string, std::string>()).first;
            std::string cur_dir = r.maildir + "/cur";
            auto& names = it->second;
            int listed = fs.ListDir(cur_dir.c_str(), [&](int, std::string_view n, unsigned char) {
              size_t colon = n.find(":2,");
              if (colon != std::string_view::npos) {
                names.emplace(std::string(n.substr(0, colon)), std::string(n));
              }
              return true;
            });
            if (listed < 0 && listed != -ENOENT) {
              // Not knowing whether the message was moved to cur/, writing
              // it to new/ could leave two copies (one of them partial).
              // Give up this attempt; the log stays for a retry.
              return absl::InternalError(
                  SyscallError(absl::StrCat("opendir(", cur_dir, ")"), listed));
            }
          }
          auto f = it->second.find(r.name);
          if (f != it->second.end()) {
            target = absl::StrCat(r.maildir, "/cur/", f->second);
            exists = ReadFileContent(fs, target, &content);
          }
        }
        dirs.push_back(r.maildir + "/new");
        if (exists && content == r.content) {
          ++stats.present;
          continue;
        }
        int e = WriteBack(fs, r, target);
        if (e < 0) {
          ++stats.errors;
          keep_old_log = true;
          if (log) log(SyscallError(absl::StrCat("journal replay of ", target), e));
          continue;
        }
        ++stats.replayed;
        if (log) {
          log(absl::StrCat("journal: replayed ", target, " (", r.content.size(),
                           " bytes, ", exists ? "was different/short" : "was missing",
                           ")"));
        }
      }
      // Everything the log covers must be durable before the log is reset:
      // files that "exist" after a process crash may only be in the page
      // cache.
      if (!records.empty()) {
        dirs.push_back(DirOf(path));
        if (int e = SyncFileSystems(fs, dirs, log); e < 0) {
          ++stats.errors;
          keep_old_log = true;
        }
      }
    } else if (st.st_size > 0) {
      if (log) log(absl::StrCat("journal: ", path, " has no valid header; recreating"));
    }
  }
  if (keep_old_log) {
    // Retry at the next start rather than forgetting acknowledged mail.
    return absl::DataLossError(absl::StrCat(path, ": ", stats.errors,
                                            " records could not be replayed; log kept"));
  }
  if (static_cast<uint64_t>(st.st_size) != size || !have_old) {
    // Zero-fill so that later overwrites find allocated, initialised
    // blocks: an fdatasync is then a pure data flush (no journal commit for
    // block allocation or unwritten-extent conversion on ext4/xfs).
    stats.created = true;
    if (int e = fs.Ftruncate(fd.get(), 0); e != 0) {
      return absl::InternalError(SyscallError(absl::StrCat("ftruncate(", path, ")"), e));
    }
    std::string zeros(1 << 20, '\0');
    for (uint64_t off = 0; off < size; off += zeros.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), size - off));
      if (int e = engine::PwriteAll(fs, fd.get(), zeros.data(), n,
                                    static_cast<off_t>(off));
          e < 0) {
        return absl::InternalError(SyscallError(absl::StrCat("write(", path, ")"), e));
      }
    }
    if (int e = fs.Fsync(fd.get()); e != 0) {
      return absl::InternalError(SyscallError(absl::StrCat("fsync(", path, ")"), e));
    }
  }
  if (stats.created) {
    // A file created now (maybe by an earlier attempt that failed before
    // this point) needs its directory entry durable before any record in
    // it is relied on.
    if (int e = FsyncPath(fs, DirOf(path)); e < 0) {
      return absl::InternalError(SyscallError(absl::StrCat("fsync(", DirOf(path), ")"), e));
    }
  }
  JournalFile fresh;
  fresh.file_size = size;
  fresh.epoch = have_old ? old.epoch + 1 : 1;
  fresh.checkpoint_offset = kJournalHeaderBytes;
  fresh.checkpoint_seq = 1;
  fresh.generation = have_old ? old.generation + 1 : 0;
  // Into the slot of the new generation's parity only, as the writer's
  // checkpoints do: the other slot keeps `old`, the newest valid header. A
  // power cut tearing this write then falls back to `old`, whose log was
  // just replayed (replaying it again is harmless). Writing both slots in
  // place could leave a torn newest slot next to an older header whose
  // checkpoint lies before records a graceful shutdown had retired: the
  // next start replayed them, bringing back messages expunged since
  // (found by the durability simulation, seed 3000852).
  std::string slot = EncodeJournalHeader(fresh);
  const uint64_t where = fresh.generation % 2 == 0 ? 0 : kJournalHeaderSlot1;
  int e = engine::PwriteAll(fs, fd.get(), slot.data(), slot.size(), static_cast<off_t>(where));
  if (e == 0) e = fs.Fdatasync(fd.get());
  if (e < 0) {
    return absl::InternalError(SyscallError(absl::StrCat("write header(", path, ")"), e));
  }
  return stats;
}

}  // namespace ringmail::storage
