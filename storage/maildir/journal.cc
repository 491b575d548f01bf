// Journal format, start-up recovery (blocking) and the runtime writer.
#include "storage/maildir/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "engine/blocking_fs.h"

namespace ringmail::storage {
namespace {

using common::Crc32c;

constexpr uint32_t kRecordMagic = 0x4A4D5252;  // "RRMJ"
constexpr uint32_t kHeaderMagic = 0x484D5252;  // "RRMH"
constexpr uint16_t kVersion = 1;
constexpr uint16_t kTypeMessage = 1;
constexpr uint16_t kTypeWrap = 2;
constexpr size_t kHeaderSlotBytes = 52;
constexpr uint64_t kHeaderSlot1 = 2048;
constexpr uint64_t kMessageFixed = 16;  // u32 + u32 + u64

template <typename T>
void Put(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void PutAt(std::string* out, size_t at, T v) {
  std::memcpy(out->data() + at, &v, sizeof(T));
}

uint64_t Align8(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

// Appends a record header (CRC 0) to `out`.
void AppendRecordHeader(std::string* out, uint16_t type, uint32_t length,
                        uint64_t epoch, uint64_t seq) {
  Put<uint32_t>(out, kRecordMagic);
  Put<uint16_t>(out, kVersion);
  Put<uint16_t>(out, type);
  Put<uint32_t>(out, length);
  Put<uint32_t>(out, 0);
  Put<uint64_t>(out, epoch);
  Put<uint64_t>(out, seq);
}

void AppendMessageRecord(std::string* out, const JournalRecordRef& r,
                         uint64_t epoch, uint64_t seq) {
  size_t start = out->size();
  uint64_t len = JournalRecordSize(r);
  AppendRecordHeader(out, kTypeMessage, static_cast<uint32_t>(len), epoch, seq);
  Put<uint32_t>(out, static_cast<uint32_t>(r.maildir.size()));
  Put<uint32_t>(out, static_cast<uint32_t>(r.name.size()));
  Put<uint64_t>(out, r.prefix.size() + r.body.size());
  out->append(r.maildir.data(), r.maildir.size());
  out->append(r.name.data(), r.name.size());
  out->append(r.prefix.data(), r.prefix.size());
  out->append(r.body.data(), r.body.size());
  out->resize(start + len, '\0');
  PutAt<uint32_t>(out, start + 12, Crc32c(out->data() + start, len));
}

void AppendWrapRecord(std::string* out, uint64_t length, uint64_t epoch,
                      uint64_t seq) {
  size_t start = out->size();
  AppendRecordHeader(out, kTypeWrap, static_cast<uint32_t>(length), epoch, seq);
  PutAt<uint32_t>(out, start + 12,
                  Crc32c(out->data() + start, kJournalRecordHeaderBytes));
}

// ---- blocking file helpers (start-up only), through engine::BlockingFs

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

// syncfs(2) once per distinct file system among `dirs` (missing ones are
// skipped: a removed Maildir has nothing left to make durable).
int SyncFileSystems(BlockingFs& fs, const std::vector<std::string>& dirs,
                    const LogFn& log) {
  std::set<dev_t> done;
  int result = 0;
  for (const std::string& dir : dirs) {
    struct stat st;
    if (fs.Stat(AT_FDCWD, dir.c_str(), &st, 0) != 0) continue;
    if (!done.insert(st.st_dev).second) continue;
    FsFd fd(fs, fs.Open(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
    if (fd.get() < 0) {
      if (log) log(SyscallError(absl::StrCat("open(", dir, ")"), fd.get()));
      result = -EIO;
      continue;
    }
    if (int r = fs.Syncfs(fd.get()); r < 0) {
      if (log) log(SyscallError(absl::StrCat("syncfs(", dir, ")"), r));
      if (result == 0) result = r;
    }
  }
  return result;
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

}  // namespace

uint64_t JournalRecordSize(const JournalRecordRef& r) {
  return Align8(kJournalRecordHeaderBytes + kMessageFixed + r.maildir.size() +
                r.name.size() + r.prefix.size() + r.body.size());
}

std::string JournalPath(std::string_view data_dir, int core) {
  return absl::StrCat(AbslView(data_dir), "/journal/core-", core, ".wal");
}

std::string EncodeJournalHeader(const JournalFile& f) {
  std::string out;
  Put<uint32_t>(&out, kHeaderMagic);
  Put<uint16_t>(&out, kVersion);
  Put<uint16_t>(&out, 0);
  Put<uint64_t>(&out, f.file_size);
  Put<uint64_t>(&out, f.epoch);
  Put<uint64_t>(&out, f.checkpoint_offset);
  Put<uint64_t>(&out, f.checkpoint_seq);
  Put<uint64_t>(&out, f.generation);
  Put<uint32_t>(&out, Crc32c(out.data(), out.size()));
  assert(out.size() == kHeaderSlotBytes);
  return out;
}

bool DecodeJournalHeader(std::string_view s, JournalFile* out) {
  if (s.size() < kHeaderSlotBytes) return false;
  const char* p = s.data();
  if (Get<uint32_t>(p) != kHeaderMagic || Get<uint16_t>(p + 4) != kVersion)
    return false;
  if (Get<uint32_t>(p + 48) != Crc32c(p, 48)) return false;
  JournalFile f;
  f.file_size = Get<uint64_t>(p + 8);
  f.epoch = Get<uint64_t>(p + 16);
  f.checkpoint_offset = Get<uint64_t>(p + 24);
  f.checkpoint_seq = Get<uint64_t>(p + 32);
  f.generation = Get<uint64_t>(p + 40);
  if (f.file_size < kJournalMinSize || f.checkpoint_offset < kJournalHeaderBytes ||
      f.checkpoint_offset > f.file_size) {
    return false;
  }
  *out = f;
  return true;
}

namespace {
// The newer valid header slot of a whole-file image or header block.
bool PickHeader(std::string_view block, JournalFile* out) {
  JournalFile a, b;
  bool va = DecodeJournalHeader(block.substr(0, kHeaderSlotBytes), &a);
  bool vb = block.size() >= kHeaderSlot1 + kHeaderSlotBytes &&
            DecodeJournalHeader(block.substr(kHeaderSlot1, kHeaderSlotBytes), &b);
  if (!va && !vb) return false;
  *out = (va && (!vb || a.generation >= b.generation)) ? a : b;
  return true;
}
}  // namespace

namespace {
// Whether a valid record (header's epoch, the checkpoint's seq, good length
// and CRC) starts at the checkpoint of the journal open on `fd`.
absl::StatusOr<bool> RecordAtCheckpoint(engine::BlockingFs& fs, int fd,
                                        const JournalFile& f) {
  uint64_t off = f.checkpoint_offset;
  if (f.file_size - off < kJournalRecordHeaderBytes) off = kJournalHeaderBytes;
  std::string rec(kJournalRecordHeaderBytes, '\0');
  if (fs.Pread(fd, rec.data(), rec.size(), static_cast<off_t>(off)) !=
      static_cast<ssize_t>(rec.size())) {
    return absl::DataLossError("cannot read the record at the checkpoint");
  }
  const char* p = rec.data();
  const uint64_t len = Get<uint32_t>(p + 8);
  const uint16_t type = Get<uint16_t>(p + 6);
  if (Get<uint32_t>(p) != kRecordMagic || Get<uint16_t>(p + 4) != kVersion ||
      Get<uint64_t>(p + 16) != f.epoch || Get<uint64_t>(p + 24) != f.checkpoint_seq ||
      len < kJournalRecordHeaderBytes || len % 8 != 0 || len > f.file_size - off ||
      (type != kTypeMessage && type != kTypeWrap)) {
    return false;
  }
  if (type == kTypeMessage) {
    rec.resize(len);
    if (fs.Pread(fd, rec.data() + kJournalRecordHeaderBytes,
                 len - kJournalRecordHeaderBytes,
                 static_cast<off_t>(off + kJournalRecordHeaderBytes)) !=
        static_cast<ssize_t>(len - kJournalRecordHeaderBytes)) {
      return absl::DataLossError("cannot read the record at the checkpoint");
    }
  }
  uint32_t want = Get<uint32_t>(rec.data() + 12);
  PutAt<uint32_t>(&rec, 12, 0);
  uint32_t crc = Crc32c(rec.data(), type == kTypeMessage ? len : kJournalRecordHeaderBytes);
  return crc == want;
}
}  // namespace

absl::StatusOr<JournalFile> OpenJournalFile(const std::string& path,
                                            uint64_t expected_size,
                                            engine::BlockingFs& fs) {
  int fd = fs.Open(AT_FDCWD, path.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    return absl::NotFoundError(SyscallError(absl::StrCat("open(", path, ")"), fd));
  }
  struct stat st;
  std::string block(kJournalHeaderBytes, '\0');
  JournalFile f;
  absl::Status error;
  if (fs.Fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != expected_size) {
    error = absl::FailedPreconditionError(absl::StrCat(path, ": wrong size"));
  } else if (fs.Pread(fd, block.data(), block.size(), 0) !=
                 static_cast<ssize_t>(block.size()) ||
             !PickHeader(block, &f) || f.file_size != expected_size) {
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
  if (!error.ok()) {
    fs.Close(fd);
    return error;
  }
  f.fd = fd;
  return f;
}

std::vector<JournalRecord> ScanJournal(std::string_view file,
                                       const JournalFile& hdr,
                                       const LogFn& log) {
  std::vector<JournalRecord> out;
  const uint64_t end = std::min<uint64_t>(hdr.file_size, file.size());
  if (end <= kJournalHeaderBytes) return out;
  const uint64_t data_size = end - kJournalHeaderBytes;
  uint64_t pos = hdr.checkpoint_offset;
  uint64_t seq = hdr.checkpoint_seq;
  uint64_t consumed = 0;
  auto stop = [&](std::string_view why) {
    if (log) {
      log(absl::StrCat("journal: log ends at offset ", pos, " seq ", seq, " (",
                       AbslView(why), ")"));
    }
  };
  while (consumed < data_size) {
    if (end - pos < kJournalRecordHeaderBytes) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
      continue;
    }
    const char* p = file.data() + pos;
    if (Get<uint32_t>(p) != kRecordMagic) {
      stop(Get<uint32_t>(p) == 0 ? "empty" : "bad magic");
      break;
    }
    uint16_t type = Get<uint16_t>(p + 6);
    uint64_t len = Get<uint32_t>(p + 8);
    if (Get<uint16_t>(p + 4) != kVersion || Get<uint64_t>(p + 16) != hdr.epoch ||
        Get<uint64_t>(p + 24) != seq) {
      stop("older record");
      break;
    }
    if (len < kJournalRecordHeaderBytes || len % 8 != 0 || len > end - pos ||
        consumed + len > data_size) {
      stop("bad length");
      break;
    }
    uint32_t want = Get<uint32_t>(p + 12);
    std::string head(p, kJournalRecordHeaderBytes);
    PutAt<uint32_t>(&head, 12, 0);
    uint32_t crc = Crc32c(head.data(), head.size());
    if (type == kTypeMessage) {
      crc = Crc32c(p + kJournalRecordHeaderBytes, len - kJournalRecordHeaderBytes, crc);
    }
    if (crc != want || (type != kTypeMessage && type != kTypeWrap)) {
      stop("bad checksum");
      break;
    }
    if (type == kTypeWrap) {
      consumed += end - pos;
      pos = kJournalHeaderBytes;
      ++seq;
      continue;
    }
    // A good CRC does not make the size fields true (tampering, or a bug in
    // a writer): each is checked against the octets the record has left,
    // never summed, so no record length can make a read leave the record
    // or a huge content_len wrap the check into range.
    if (len < kJournalRecordHeaderBytes + kMessageFixed) {
      stop("bad payload");
      break;
    }
    const char* q = p + kJournalRecordHeaderBytes;
    const uint64_t mlen = Get<uint32_t>(q), nlen = Get<uint32_t>(q + 4);
    const uint64_t clen = Get<uint64_t>(q + 8);
    uint64_t left = len - kJournalRecordHeaderBytes - kMessageFixed;
    auto take = [&left](uint64_t n) {
      if (n > left) return false;
      left -= n;
      return true;
    };
    if (!take(mlen) || !take(nlen) || !take(clen)) {
      stop("bad payload");
      break;
    }
    JournalRecord r;
    r.seq = seq;
    r.offset = pos;
    q += kMessageFixed;
    r.maildir.assign(q, mlen);
    r.name.assign(q + mlen, nlen);
    r.content.assign(q + mlen + nlen, clen);
    out.push_back(std::move(r));
    pos += len;
    consumed += len;
    ++seq;
  }
  return out;
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
    have_old = PickHeader(*image, &old) &&
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
  std::string slot = EncodeJournalHeader(fresh);
  int e = engine::PwriteAll(fs, fd.get(), slot.data(), slot.size(), 0);
  if (e == 0) e = engine::PwriteAll(fs, fd.get(), slot.data(), slot.size(), kHeaderSlot1);
  if (e == 0) e = fs.Fdatasync(fd.get());
  if (e < 0) {
    return absl::InternalError(SyscallError(absl::StrCat("write header(", path, ")"), e));
  }
  return stats;
}

// ---- FsSyncer

struct FsSyncer::Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool has_request = false;
  std::vector<std::string> dirs;
  int result = 0;
  int efd = -1;
  LogFn log;
  std::thread thread;
};

FsSyncer::FsSyncer(engine::FileIo* io, LogFn log)
    : io_(io), log_(std::move(log)), shared_(std::make_shared<Shared>()) {
  shared_->efd = eventfd(0, EFD_CLOEXEC);
  shared_->log = log_;
  std::shared_ptr<Shared> s = shared_;
  shared_->thread = std::thread([s] {
    std::unique_lock<std::mutex> lock(s->mu);
    while (true) {
      s->cv.wait(lock, [&] { return s->stop || s->has_request; });
      if (s->stop) return;
      std::vector<std::string> dirs = std::move(s->dirs);
      lock.unlock();
      int r = SyncFileSystems(engine::DefaultBlockingFs(), dirs, s->log);
      lock.lock();
      s->result = r;
      s->has_request = false;
      uint64_t one = 1;
      while (write(s->efd, &one, sizeof(one)) < 0 && errno == EINTR) {
      }
    }
  });
}

FsSyncer::~FsSyncer() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
  }
  shared_->cv.notify_all();
  shared_->thread.join();
  if (shared_->efd >= 0) close(shared_->efd);
}

void FsSyncer::Sync(std::vector<std::string> dirs, engine::IoCallback done) {
  if (shared_->efd < 0) {
    // No eventfd: complete through the FileIo with an error, later.
    io_->Fsync(-1, false, [done = std::move(done)](int) mutable { done(-EIO); });
    return;
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    assert(!shared_->has_request);
    shared_->dirs = std::move(dirs);
    shared_->has_request = true;
  }
  shared_->cv.notify_all();
  std::shared_ptr<Shared> s = shared_;
  io_->Read(shared_->efd, &buf_, sizeof(buf_), 0,
            [s, done = std::move(done)](int r) mutable {
              if (r < 0) return done(r);
              int result;
              {
                std::lock_guard<std::mutex> lock(s->mu);
                result = s->result;
              }
              done(result);
            });
}

// ---- JournalWriter

JournalWriter::JournalWriter(engine::FileIo* io, JournalFile file,
                             absl::Duration checkpoint_interval, LogFn log,
                             JournalRunAfterFn run_after, SyncFsFn sync)
    : io_(io),
      file_(file),
      data_size_(file.file_size - kJournalHeaderBytes),
      interval_(checkpoint_interval),
      log_(std::move(log)),
      run_after_(std::move(run_after)),
      sync_(std::move(sync)) {
  assert(file_.file_size >= kJournalMinSize);
  // Logical position 0 maps to the checkpoint's physical offset.
  head_.logical = file_.checkpoint_offset - kJournalHeaderBytes;
  head_.seq = file_.checkpoint_seq;
  applied_ = tail_ = head_;
}

JournalWriter::~JournalWriter() {
  assert(ops_in_flight_ == 0);
  if (file_.fd >= 0) io_->Close(file_.fd, [](int) {});
}

bool JournalWriter::Fits(absl::Span<const uint64_t> sizes) const {
  uint64_t pos = head_.logical;
  for (uint64_t s : sizes) {
    uint64_t left = data_size_ - pos % data_size_;
    if (s > left) pos += left;  // wrap (record or implicit padding)
    pos += s;
  }
  return pos - tail_.logical <= data_size_;
}

JournalWriter::Position JournalWriter::Append(
    absl::Span<const JournalRecordRef> records, engine::IoCallback done) {
  // Segments of contiguous physical bytes (at most 2: a batch is at most a
  // quarter of the ring).
  struct Segment {
    uint64_t offset;
    size_t from;
  };
  auto buf = std::make_shared<std::string>();
  std::vector<Segment> segs;
  segs.push_back({Phys(head_.logical), 0});
  for (const JournalRecordRef& r : records) {
    uint64_t size = JournalRecordSize(r);
    uint64_t left = data_size_ - head_.logical % data_size_;
    if (size > left) {
      if (left >= kJournalRecordHeaderBytes) {
        AppendWrapRecord(buf.get(), left, file_.epoch, head_.seq++);
      }
      head_.logical += left;
      segs.push_back({Phys(head_.logical), buf->size()});
    } else if (left == data_size_ && buf->size() > segs.back().from) {
      // The previous record ended exactly at the end of the ring: this one
      // starts at its beginning, not after the end of the file. (Found by
      // the durability simulation: the write went past the end, the file
      // grew, and the next start found no valid journal — every record
      // lost.)
      segs.push_back({Phys(head_.logical), buf->size()});
    }
    AppendMessageRecord(buf.get(), r, file_.epoch, head_.seq++);
    head_.logical += size;
  }
  auto pending = std::make_shared<int>(0);
  auto err = std::make_shared<int>(0);
  auto cb = std::make_shared<engine::IoCallback>(std::move(done));
  ++*pending;  // held until every write is issued
  ++ops_in_flight_;
  for (size_t i = 0; i < segs.size(); ++i) {
    size_t to = i + 1 < segs.size() ? segs[i + 1].from : buf->size();
    if (to == segs[i].from) continue;
    ++*pending;
    WriteSegment(buf, segs[i].from, to - segs[i].from, segs[i].offset, pending,
                 err, cb);
  }
  SegmentDone(pending, err, cb);
  return head_;
}

void JournalWriter::WriteSegment(std::shared_ptr<std::string> buf, size_t from,
                                 size_t len, uint64_t offset,
                                 std::shared_ptr<int> pending,
                                 std::shared_ptr<int> err,
                                 std::shared_ptr<engine::IoCallback> done) {
  io_->Write(file_.fd, buf->data() + from, len, offset,
             [this, buf, from, len, offset, pending, err, done](int r) {
               if (r <= 0) {
                 int e = r < 0 ? r : -EIO;
                 log_(SyscallError("journal pwrite", e));
                 if (*err == 0) *err = e;
               } else if (static_cast<size_t>(r) < len && *err == 0) {
                 WriteSegment(buf, from + r, len - r, offset + r, pending, err,
                              done);
                 return;
               }
               SegmentDone(pending, err, done);
             });
}

void JournalWriter::SegmentDone(std::shared_ptr<int> pending,
                                std::shared_ptr<int> err,
                                std::shared_ptr<engine::IoCallback> done) {
  if (--*pending > 0) return;
  auto finish = [this, done](int r) {
    --ops_in_flight_;
    if (r < 0) broken_ = true;
    (*done)(r);
    MaybeShutdownDone();
  };
  if (*err < 0) {
    // Still complete from a later callback, never from inside Append.
    io_->Fsync(file_.fd, true, [finish, e = *err](int) mutable { finish(e); });
    return;
  }
  io_->Fsync(file_.fd, true, [this, finish](int r) mutable {
    if (r < 0) {
      log_(SyscallError("journal fdatasync", r));
    } else if (broken_) {
      // Another flush of this file (a checkpoint's header fdatasync, its
      // syncfs) failed before this one completed. Linux reports a
      // write-back error once per file description: to whichever fsync
      // asks first. This batch's pages may be among those lost although
      // its own fdatasync says 0. (Found by the durability simulation.)
      log_("journal fdatasync after an earlier journal write-back error: batch not durable");
      r = -EIO;
    }
    finish(r);
  });
}

void JournalWriter::MarkApplied(Position end, absl::Span<const std::string> dirs) {
  assert(end.logical >= applied_.logical);
  applied_ = end;
  for (const std::string& d : dirs) dirs_.insert(d);
  if (!space_waiters_.empty() || used_bytes() > data_size_ / 2) {
    StartCheckpoint();
  } else {
    ArmTimer();
  }
}

void JournalWriter::WaitForSpace(absl::AnyInvocable<void()> fn) {
  space_waiters_.push_back(std::move(fn));
  StartCheckpoint();
}

void JournalWriter::ArmTimer() {
  if (timer_armed_ || checkpointing_ || applied_.logical == tail_.logical) return;
  timer_armed_ = true;
  std::weak_ptr<bool> alive = alive_;
  run_after_(interval_, [this, alive] {
    if (alive.expired()) return;
    timer_armed_ = false;
    StartCheckpoint();
  });
}

void JournalWriter::StartCheckpoint() {
  if (checkpointing_ || broken_) return;
  if (applied_.logical == tail_.logical) return;  // nothing to retire yet
  checkpointing_ = true;
  ++ops_in_flight_;
  Position target = applied_;
  std::vector<std::string> dirs(dirs_.begin(), dirs_.end());
  dirs_.clear();
  sync_(std::move(dirs), [this, target](int r) { CheckpointSynced(target, r); });
}

void JournalWriter::CheckpointSynced(Position target, int r) {
  if (r < 0) {
    log_(SyscallError("checkpoint syncfs", r));
    broken_ = true;
    return CheckpointDone();
  }
  // Record the new checkpoint durably before reusing the space: until then
  // recovery starts from the old checkpoint and must find the chain intact.
  JournalFile next = file_;
  next.checkpoint_offset = Phys(target.logical);
  next.checkpoint_seq = target.seq;
  next.generation = file_.generation + 1;
  auto slot = std::make_shared<std::string>(EncodeJournalHeader(next));
  uint64_t where = (next.generation % 2 == 0) ? 0 : kHeaderSlot1;
  io_->Write(file_.fd, slot->data(), slot->size(), where,
             [this, slot, next, target](int r) {
               if (r != static_cast<int>(slot->size())) {
                 log_(SyscallError("journal header pwrite", r < 0 ? r : -EIO));
                 broken_ = true;
                 return CheckpointDone();
               }
               io_->Fsync(file_.fd, true, [this, next, target](int r) {
                 if (r < 0) {
                   log_(SyscallError("journal header fdatasync", r));
                   broken_ = true;
                 } else {
                   file_ = next;
                   tail_ = target;
                   ++checkpoints_;
                 }
                 CheckpointDone();
               });
             });
}

void JournalWriter::CheckpointDone() {
  checkpointing_ = false;
  --ops_in_flight_;
  std::vector<absl::AnyInvocable<void()>> waiters = std::move(space_waiters_);
  space_waiters_.clear();
  for (auto& w : waiters) w();
  if (shutting_down_) {
    // Shutdown() found this checkpoint in progress and left the final one
    // to it, but its target was taken before the last batches were
    // applied: retire those too, else a clean restart has records to
    // replay. (Found by the durability simulation.)
    StartCheckpoint();
  } else if (!broken_) {
    if (used_bytes() > data_size_ / 2 && applied_.logical != tail_.logical) {
      StartCheckpoint();
    } else {
      ArmTimer();
    }
  }
  MaybeShutdownDone();
}

void JournalWriter::Shutdown(absl::AnyInvocable<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  StartCheckpoint();  // final checkpoint: a clean restart replays nothing
  MaybeShutdownDone();
}

void JournalWriter::MaybeShutdownDone() {
  if (!shutting_down_ || !shutdown_done_ || ops_in_flight_ > 0) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  int fd = file_.fd;
  file_.fd = -1;
  io_->Close(fd, [done = std::move(done)](int) mutable { done(); });
}

}  // namespace ringmail::storage
