// LoadCoreSpool and ListSpoolCores (spool.h).
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_fs.h"

namespace ringmail::storage::queue {
namespace {

using engine::BlockingFs;
using engine::FsFd;
using internal::DirEntry;

// Lines of a damaged log worth logging one by one; the rest are counted.
constexpr size_t kMaxLoggedBadRecords = 10;
constexpr size_t kStateLogReadBytes = 1 << 20;
// new/, tmp/ and corrupt/ entries read per directory (beyond max_messages
// this only matters for tmp/ and corrupt/).
constexpr size_t kMaxTmpEntries = 10'000'000;

enum class ReadResult { kOk, kCorrupt, kUnreadable, kGone };

// Reads the prefix of `dir/name`. On kCorrupt/kUnreadable `why` says why.
// `buf` is scratch space, reused across files.
ReadResult ReadQueueFile(BlockingFs& fs, int dirfd, const std::string& name,
                         std::string& buf, LoadedMessage* out, std::string* why) {
  FsFd fd(fs, fs.Open(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW, 0));
  if (fd.get() < 0) {
    if (fd.get() == -ENOENT) return ReadResult::kGone;
    *why = absl::StrCat("open: ", ErrnoText(-fd.get()));
    return fd.get() == -ELOOP ? ReadResult::kCorrupt : ReadResult::kUnreadable;
  }
  struct stat st;
  if (int e = fs.Fstat(fd.get(), &st); e != 0) {
    *why = absl::StrCat("fstat: ", ErrnoText(-e));
    return ReadResult::kUnreadable;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = "not a regular file";
    return ReadResult::kCorrupt;
  }
  const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
  buf.resize(std::min<uint64_t>(kQueuePrefixReadBytes, file_bytes));
  auto read_at = [&](size_t from) -> bool {
    while (from < buf.size()) {
      ssize_t n = fs.Pread(fd.get(), buf.data() + from, buf.size() - from,
                           static_cast<off_t>(from));
      if (n == -EINTR) continue;
      if (n < 0) {
        *why = absl::StrCat("pread: ", ErrnoText(static_cast<int>(-n)));
        return false;
      }
      if (n == 0) {  // shrank under us: read what is there
        buf.resize(from);
        return true;
      }
      from += static_cast<size_t>(n);
    }
    return true;
  };
  if (!read_at(0)) return ReadResult::kUnreadable;
  absl::StatusOr<size_t> prefix = QueuePrefixSize(buf);
  if (prefix.ok() && *prefix > buf.size() && *prefix <= file_bytes) {
    size_t had = buf.size();
    buf.resize(*prefix);
    if (!read_at(had)) return ReadResult::kUnreadable;
  }
  absl::StatusOr<ParsedPrefix> parsed = ParseQueuePrefix(buf);
  if (!parsed.ok()) {
    *why = parsed.status().code() == absl::StatusCode::kOutOfRange
               ? absl::StrCat("truncated (", file_bytes, " bytes)")
               : std::string(parsed.status().message());
    return ReadResult::kCorrupt;
  }
  out->file = name;
  out->content_offset = parsed->content_offset;
  out->file_bytes = file_bytes;
  out->recipients.assign(parsed->envelope.recipients.size(), RecipientStatus());
  out->envelope = std::move(parsed->envelope);
  return ReadResult::kOk;
}

// Calls `line_fn` for each complete line of `path` (without its LF) and
// reports whether the file ended with a partial line. A missing file is an
// empty log. Lines longer than kMaxStateLineBytes go to `line_fn` cut short
// (so they fail to decode) rather than being buffered whole.
template <typename LineFn>
absl::StatusOr<bool> ForEachLine(BlockingFs& fs, const std::string& path,
                                 LineFn line_fn) {
  FsFd fd(fs, fs.Open(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0));
  if (fd.get() < 0) {
    if (fd.get() == -ENOENT) return false;
    return internal::SysError("open", path, -fd.get());
  }
  std::string buf(kStateLogReadBytes, '\0');
  std::string line;
  bool overlong = false;
  off_t offset = 0;
  while (true) {
    ssize_t n = fs.Pread(fd.get(), buf.data(), buf.size(), offset);
    if (n == -EINTR) continue;
    if (n < 0) return internal::SysError("pread", path, static_cast<int>(-n));
    if (n == 0) break;
    offset += n;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    while (!chunk.empty()) {
      size_t nl = chunk.find('\n');
      std::string_view part = chunk.substr(0, nl);
      if (!overlong) {
        if (line.size() + part.size() > kMaxStateLineBytes) {
          overlong = true;
        } else {
          line.append(part);
        }
      }
      if (nl == std::string_view::npos) break;
      chunk.remove_prefix(nl + 1);
      line_fn(overlong ? std::string_view("overlong") : std::string_view(line));
      line.clear();
      overlong = false;
    }
  }
  return !line.empty() || overlong;
}

// Moves new/<name> to corrupt/, under a free name.
absl::Status MoveAside(BlockingFs& fs, const std::string& core_dir,
                       const std::string& name, bool* corrupt_dir_ready) {
  const std::string corrupt = absl::StrCat(core_dir, "/", AbslView(kCorruptDirName));
  if (!*corrupt_dir_ready) {
    absl::StatusOr<bool> made = internal::EnsureDir(fs, corrupt);
    if (!made.ok()) return made.status();
    *corrupt_dir_ready = true;
  }
  const std::string from = absl::StrCat(core_dir, "/new/", name);
  for (int i = 0; i < 100; ++i) {
    std::string to = i == 0 ? absl::StrCat(corrupt, "/", name)
                            : absl::StrCat(corrupt, "/", name, ".", i);
    absl::Status s = internal::RenameNoReplace(fs, from, to);
    if (s.code() != absl::StatusCode::kAlreadyExists) return s;
  }
  return absl::AlreadyExistsError(absl::StrCat("no free name in ", corrupt));
}

}  // namespace

absl::StatusOr<std::vector<int>> ListSpoolCores(const std::string& root,
                                                engine::BlockingFs& fs) {
  absl::StatusOr<std::vector<DirEntry>> entries =
      internal::ListDir(fs, root, 4 * kMaxSpoolCores + 1000);
  if (!entries.ok()) {
    if (absl::IsNotFound(entries.status())) return std::vector<int>();
    return entries.status();
  }
  std::vector<int> cores;
  for (const DirEntry& e : *entries) {
    std::optional<int> core = ParseCoreDirName(e.name);
    if (core && e.is_dir) cores.push_back(*core);
  }
  std::sort(cores.begin(), cores.end());
  return cores;
}

absl::StatusOr<std::vector<LoadedMessage>> LoadCoreSpool(
    const std::string& root, int core, const LoadOptions& options) {
  LoadStats local_stats;
  LoadStats& stats = options.stats != nullptr ? *options.stats : local_stats;
  stats = LoadStats();
  const LogFn& log = options.log;
  BlockingFs& fs = options.fs != nullptr ? *options.fs : engine::DefaultBlockingFs();
  const std::string dir = CoreSpoolDir(root, core);
  std::vector<LoadedMessage> messages;
  if (!internal::IsDirectory(fs, dir)) return messages;

  // 1. Leftovers of the previous run.
  if (!options.read_only) {
    const std::string tmp = dir + "/tmp";
    absl::StatusOr<std::vector<DirEntry>> stale = internal::ListDir(fs, tmp, kMaxTmpEntries);
    if (!stale.ok() && !absl::IsNotFound(stale.status())) return stale.status();
    if (stale.ok()) {
      for (const DirEntry& e : *stale) {
        if (e.is_dir) continue;
        std::string path = absl::StrCat(tmp, "/", e.name);
        if (int e = fs.Unlink(AT_FDCWD, path.c_str(), 0); e != 0 && e != -ENOENT) {
          return internal::SysError("unlink", path, -e);
        }
        ++stats.tmp_removed;
      }
    }
    const std::string half = absl::StrCat(dir, "/", AbslView(kStateLogNewName));
    if (int e = fs.Unlink(AT_FDCWD, half.c_str(), 0); e != 0 && e != -ENOENT) {
      return internal::SysError("unlink", half, -e);
    }
  }

  // 2. Queue files.
  const std::string new_dir = dir + "/new";
  std::vector<DirEntry> entries;
  {
    absl::StatusOr<std::vector<DirEntry>> listed =
        internal::ListDir(fs, new_dir, options.max_messages + kMaxTmpEntries);
    if (!listed.ok() && !absl::IsNotFound(listed.status())) return listed.status();
    if (listed.ok()) entries = std::move(*listed);
  }
  FsFd new_fd(fs, fs.Open(AT_FDCWD, new_dir.c_str(),
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0));
  if (new_fd.get() < 0 && new_fd.get() != -ENOENT) {
    return internal::SysError("open", new_dir, -new_fd.get());
  }
  std::vector<std::string> corrupt;
  // Present but unreadable (I/O error): their records are kept as they are.
  // Ordered: the compacted log lists them in the same order on every run.
  std::map<std::string, std::vector<StateRecord>> unreadable;
  std::string scratch;
  for (const DirEntry& e : entries) {
    if (e.name.empty() || e.name[0] == '.') continue;
    if (e.is_dir) {
      log(absl::StrCat(new_dir, "/", e.name, ": directory in the queue; ignored"));
      continue;
    }
    LoadedMessage m;
    std::string why;
    switch (ReadQueueFile(fs, new_fd.get(), e.name, scratch, &m, &why)) {
      case ReadResult::kOk:
        if (messages.size() >= options.max_messages) {
          return absl::ResourceExhaustedError(absl::StrCat(
              new_dir, ": more than ", options.max_messages, " queue files"));
        }
        messages.push_back(std::move(m));
        break;
      case ReadResult::kCorrupt:
        log(absl::StrCat(new_dir, "/", e.name, ": not a valid queue file (", why,
                         ")", options.read_only ? "" : "; moving it to corrupt/"));
        corrupt.push_back(e.name);
        break;
      case ReadResult::kUnreadable:
        log(absl::StrCat(new_dir, "/", e.name, ": cannot read (", why,
                         "); left in place, not scheduled"));
        unreadable[e.name];
        break;
      case ReadResult::kGone:
        break;
    }
  }
  stats.corrupt = corrupt.size();
  stats.unreadable = unreadable.size();

  // 3. Replay.
  absl::flat_hash_map<std::string, size_t> index;
  index.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) index[messages[i].file] = i;
  std::vector<bool> removed(messages.size(), false);
  std::vector<std::string> removed_unreadable;
  std::set<std::string> removed_absent;  // `removed` records of absent files
  // Other records of absent (or corrupt) files, kept with
  // keep_removed_records: a journal not recovered yet may write the file
  // back, and its outcomes (a recipient delivered) must still apply then.
  std::vector<StateRecord> kept_absent;
  const std::string log_path = absl::StrCat(dir, "/", AbslView(kStateLogName));
  absl::StatusOr<bool> torn = ForEachLine(fs, log_path, [&](std::string_view line) {
    absl::StatusOr<StateRecord> rec = DecodeStateRecord(line);
    if (!rec.ok()) {
      if (++stats.bad_records <= kMaxLoggedBadRecords) {
        log(absl::StrCat(log_path, ": skipping a damaged record (",
                         rec.status().message(), ")"));
      }
      return;
    }
    ++stats.records;
    auto it = index.find(rec->file);
    if (it == index.end()) {
      auto u = unreadable.find(rec->file);
      if (u == unreadable.end()) {
        ++stats.orphan_records;
        if (rec->kind == StateRecord::Kind::kRemoved) {
          removed_absent.insert(rec->file);
        } else if (options.keep_removed_records) {
          kept_absent.push_back(std::move(*rec));
        }
      } else if (rec->kind == StateRecord::Kind::kRemoved) {
        removed_unreadable.push_back(rec->file);
        unreadable.erase(u);
      } else {
        u->second.push_back(std::move(*rec));
      }
      return;
    }
    const size_t i = it->second;
    if (removed[i]) return;  // finished: nothing may follow
    LoadedMessage& m = messages[i];
    switch (rec->kind) {
      case StateRecord::Kind::kRecipient:
        if (rec->rcpt >= m.recipients.size()) {
          ++stats.bad_records;
          log(absl::StrCat(log_path, ": record for recipient ", rec->rcpt,
                           " of ", m.file, " which has ", m.recipients.size()));
          return;
        }
        m.recipients[rec->rcpt] = std::move(rec->status);
        break;
      case StateRecord::Kind::kHold:
        m.held = true;
        break;
      case StateRecord::Kind::kRelease:
        m.held = false;
        break;
      case StateRecord::Kind::kDelayWarned:
        m.delay_warned = true;
        break;
      case StateRecord::Kind::kSize:
        m.size = rec->size;
        break;
      case StateRecord::Kind::kRemoved:
        removed[i] = true;
        break;
    }
  });
  if (!torn.ok()) return torn.status();
  stats.torn_tail = *torn;
  if (*torn) log(absl::StrCat(log_path, ": torn last line ignored"));
  if (stats.bad_records > kMaxLoggedBadRecords) {
    log(absl::StrCat(log_path, ": ", stats.bad_records, " damaged records skipped"));
  }

  // Finished files leave; the rest is returned sorted by (arrival, file).
  // Sorting indices moves each (large) LoadedMessage only once.
  std::vector<std::string> finished = std::move(removed_unreadable);
  std::vector<size_t> order;
  order.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    if (removed[i]) {
      finished.push_back(messages[i].file);
    } else {
      order.push_back(i);
    }
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const LoadedMessage& x = messages[a];
    const LoadedMessage& y = messages[b];
    if (x.envelope.arrival != y.envelope.arrival) {
      return x.envelope.arrival < y.envelope.arrival;
    }
    return x.file < y.file;
  });
  std::vector<LoadedMessage> live;
  live.reserve(order.size());
  for (size_t i : order) live.push_back(std::move(messages[i]));
  messages.clear();
  messages.shrink_to_fit();
  stats.removed_unlinked = finished.size();

  // 4. Apply the outcome to the disk.
  if (!options.read_only) {
    for (const std::string& name : finished) {
      std::string path = absl::StrCat(new_dir, "/", name);
      if (int e = fs.Unlink(AT_FDCWD, path.c_str(), 0); e != 0 && e != -ENOENT) {
        return internal::SysError("unlink", path, -e);
      }
    }
    bool corrupt_dir_ready = false;
    for (const std::string& name : corrupt) {
      absl::Status s = MoveAside(fs, dir, name, &corrupt_dir_ready);
      if (!s.ok()) return s;
    }
    // The unlinks and moves must be durable before the compacted log drops
    // the records that explain them (a resurrected `removed` file would be
    // delivered again).
    if (!finished.empty() || !corrupt.empty()) {
      absl::Status s = internal::FsyncDir(fs, new_dir);
      if (s.ok() && corrupt_dir_ready) {
        s = internal::FsyncDir(fs, absl::StrCat(dir, "/", AbslView(kCorruptDirName)));
      }
      if (!s.ok()) return s;
    }
    std::vector<StateRecord> snapshot;
    for (const LoadedMessage& m : live) {
      AppendFileStateRecords(m.file, m.recipients, m.held, m.delay_warned,
                             m.size, &snapshot);
    }
    for (auto& [name, records] : unreadable) {
      for (StateRecord& r : records) snapshot.push_back(std::move(r));
    }
    if (options.keep_removed_records) {
      // A journal that was not recovered may still write finished files
      // back when it is: their `removed` records must be there to unlink
      // them again.
      // The other records of files absent now (corrupt ones included: a
      // queue file truncated by a power cut is written back whole) must
      // be there too, or a recipient already delivered would be sent again.
      for (StateRecord& r : kept_absent) {
        if (!removed_absent.count(r.file)) snapshot.push_back(std::move(r));
      }
      for (const std::string& name : finished) removed_absent.insert(name);
      for (const std::string& name : removed_absent) {
        StateRecord r;
        r.kind = StateRecord::Kind::kRemoved;
        r.file = name;
        snapshot.push_back(std::move(r));
      }
    }
    absl::Status s = internal::RewriteStateLog(fs, dir, snapshot);
    if (!s.ok()) return s;
  }

  stats.messages = live.size();
  return live;
}

}  // namespace ringmail::storage::queue
