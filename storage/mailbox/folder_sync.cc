#include "storage/mailbox/folder_sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/mailbox/index_file.h"
#include "storage/mailbox/index_store.h"

namespace ringmail::storage {
namespace {

absl::Status Sys(std::string_view what, const std::string& path, int err) {
  std::string msg = absl::StrCat(AbslView(what), "(", path,
                                 ") failed: ", ErrnoText(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

// Leading decimal number of `s` (advancing it); 0 if none.
uint64_t TakeNumber(std::string_view& s) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < s.size() && i < 19 && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  s.remove_prefix(i);
  return v;
}

absl::StatusOr<std::optional<Uidlist>> ReadUidlist(const std::string& folder,
                                                   const SyncLimits& limits) {
  absl::StatusOr<std::string> text =
      ReadSmallFile(absl::StrCat(folder, "/", AbslView(kUidlistFileName)),
                    limits.uidlist.max_file_bytes);
  if (absl::IsNotFound(text.status())) return std::optional<Uidlist>();
  if (!text.ok()) return text.status();
  absl::StatusOr<Uidlist> list = ParseUidlist(*text, limits.uidlist);
  if (!list.ok()) return list.status();
  return std::optional<Uidlist>(*std::move(list));
}

// Unknown files from which ResolveNewMessagesBlocking first looks them up
// in an unlocked read of the uidlist (see folder_sync.h).
constexpr size_t kUnlockedLookupMin = 64;

// New names from which ResolveNewMessagesBlocking stats them on
// kStatThreads threads (a first open of a large folder; a few thousand
// names take milliseconds on one).
constexpr size_t kParallelStatMin = 50'000;
constexpr size_t kStatThreads = 2;

}  // namespace

std::pair<uint64_t, uint64_t> MaildirTimeOf(std::string_view name) {
  uint64_t secs = TakeNumber(name);
  if (name.substr(0, 2) != ".M") return {secs, 0};
  name.remove_prefix(2);
  return {secs, TakeNumber(name)};
}

bool MaildirTimeLess(std::string_view a, std::string_view b) {
  auto ta = MaildirTimeOf(a), tb = MaildirTimeOf(b);
  if (ta != tb) return ta < tb;
  return a < b;
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ReadUidlistHeaderBlocking(
    const std::string& folder) {
  const std::string path = absl::StrCat(folder, "/", AbslView(kUidlistFileName));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Sys("open", path, errno);
  // The header is one short line: "3 V<validity> N<next> G<32 hex> ...".
  char buf[512];
  ssize_t n;
  do {
    n = pread(fd, buf, sizeof(buf), 0);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (n < 0) return Sys("read", path, err);
  std::string_view text(buf, static_cast<size_t>(n));
  size_t nl = text.find('\n');
  if (nl == std::string_view::npos) {
    if (static_cast<size_t>(n) == sizeof(buf)) {
      return absl::DataLossError("dovecot-uidlist corrupted at line 1: long header");
    }
  } else {
    text = text.substr(0, nl + 1);
  }
  absl::StatusOr<Uidlist> head = ParseUidlist(text, UidlistLimits());
  if (!head.ok()) return head.status();
  return std::make_pair(head->uid_validity, head->next_uid);
}

absl::StatusOr<FolderScan> ScanFolder(const std::string& folder, const ScanHints& hints,
                                      absl::Time now, const SyncLimits& limits) {
  FolderScan scan;
  // The uidlist first: a new UIDVALIDITY means every directory must be
  // listed again, whatever its stamp says.
  absl::StatusOr<DirStamp> us =
      StatStampBlocking(absl::StrCat(folder, "/", AbslView(kUidlistFileName)), now);
  if (!us.ok()) return us.status();
  scan.uidlist_stamp = *us;
  bool relist_all = false;
  if (!us->recorded()) {
    scan.uidlist = UidlistState::kMissing;
  } else if (hints.uidlist.recorded() && hints.uidlist.SameAs(*us)) {
    // Every writer of the uidlist replaces it (a new inode) or appends to
    // it (a larger size), so an equal stamp means an equal file; the
    // same-second rule is not needed here.
    scan.uidlist = UidlistState::kUnchanged;
  } else {
    absl::StatusOr<std::pair<uint32_t, uint32_t>> head = ReadUidlistHeaderBlocking(folder);
    if (absl::IsNotFound(head.status())) {
      scan.uidlist = UidlistState::kMissing;
      scan.uidlist_stamp = DirStamp();
    } else if (!head.ok()) {
      return head.status();
    } else {
      scan.uidlist = UidlistState::kRead;
      scan.uid_validity = head->first;
      scan.next_uid = head->second;
      relist_all = hints.uid_validity != 0 && head->first != hints.uid_validity;
    }
  }
  for (const char* sub : {"new", "cur"}) {
    const bool in_cur = sub[0] == 'c';
    std::string dir = absl::StrCat(folder, "/", sub);
    // The stamp is taken before the listing: a change that lands during
    // the listing moves the mtime past it, so the next sync lists again.
    absl::StatusOr<DirStamp> ds = StatStampBlocking(dir, now);
    if (!ds.ok()) return ds.status();
    if (!ds->recorded()) return Sys("stat", dir, ENOENT);
    (in_cur ? scan.cur_stamp : scan.new_stamp) = *ds;
    const DirStamp& recorded = in_cur ? hints.cur_dir : hints.new_dir;
    if (!relist_all && UnchangedSince(recorded, *ds)) continue;
    (in_cur ? scan.listed_cur : scan.listed_new) = true;
    // A directory's size grows with its entries (ext4: ~80 bytes for a
    // Maildir name): room for them up front instead of regrowing a vector
    // of a million names.
    scan.files.reserve(scan.files.size() +
                       std::min<uint64_t>(ds->size / 80, limits.max_messages));
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return Sys("opendir", dir, errno);
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;  // ".", "..", hidden temp files
      if (e->d_type == DT_DIR) continue;
      if (scan.files.size() >= limits.max_messages) {
        closedir(d);
        return absl::ResourceExhaustedError("too many messages in folder");
      }
      scan.files.push_back({std::string(e->d_name), in_cur});
    }
    closedir(d);
  }
  return scan;
}

absl::StatusOr<ResolveResult> ResolveNewMessagesBlocking(
    const std::string& folder, std::vector<PendingFile> pending,
    uint32_t known_validity, absl::Time now, const SyncLimits& limits) {
  ResolveResult result;
  result.uid_validity = known_validity;
  // Every name is stat'ed (internal date = mtime, size), relative to its
  // directory (a path walk per file was a fifth of a first open's time).
  // A first open of a large folder stats a million names, almost all of
  // it kernel time in the dentry lookup: split over kStatThreads threads.
  int dirs[2] = {-1, -1};  // new/, cur/
  struct CloseDirs {
    int* fds;
    ~CloseDirs() {
      for (int i = 0; i < 2; ++i) {
        if (fds[i] >= 0) close(fds[i]);
      }
    }
  } close_dirs{dirs};
  for (int k = 0; k < 2; ++k) {
    std::string dir = absl::StrCat(folder, k ? "/cur" : "/new");
    dirs[k] = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirs[k] < 0 && errno != ENOENT) return Sys("open", dir, errno);
  }
  struct Stat {
    int err = 0;  // 0, or the errno of a failed stat
    int64_t mtime = 0;
    uint64_t size = 0;
  };
  std::vector<Stat> stats(pending.size());
  auto stat_range = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const PendingFile& p = pending[i];
      struct stat st;
      const int dfd = dirs[p.in_cur ? 1 : 0];
      if (dfd < 0) {
        stats[i].err = ENOENT;
      } else if (fstatat(dfd, p.name.c_str(), &st, 0) != 0) {
        stats[i].err = errno;
      } else {
        stats[i].mtime = st.st_mtim.tv_sec;
        stats[i].size = static_cast<uint64_t>(st.st_size);
      }
    }
  };
  if (pending.size() >= kParallelStatMin) {
    std::vector<std::thread> threads;
    const size_t per = (pending.size() + kStatThreads - 1) / kStatThreads;
    for (size_t t = 1; t < kStatThreads; ++t) {
      threads.emplace_back(stat_range, std::min(pending.size(), t * per),
                           std::min(pending.size(), (t + 1) * per));
    }
    stat_range(0, std::min(pending.size(), per));
    for (std::thread& t : threads) t.join();
  } else {
    stat_range(0, pending.size());
  }
  std::vector<ResolvedFile> files;
  files.reserve(pending.size());
  size_t without_uid = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    PendingFile& p = pending[i];
    if (stats[i].err == ENOENT) continue;  // gone: the next sync sees why
    if (stats[i].err != 0) {
      return Sys("stat", absl::StrCat(folder, p.in_cur ? "/cur/" : "/new/", p.name),
                 stats[i].err);
    }
    ResolvedFile f;
    f.name = std::move(p.name);
    f.in_cur = p.in_cur;
    f.uid = p.uid_hint;
    f.mtime = stats[i].mtime;
    f.size = stats[i].size;
    without_uid += f.uid == 0 ? 1 : 0;
    files.push_back(std::move(f));
  }
  // Many unknown files: most likely a folder another program (Dovecot)
  // already gave UIDs to. Look them up without the lock first.
  if (without_uid >= kUnlockedLookupMin && known_validity != 0) {
    absl::StatusOr<std::optional<Uidlist>> read = ReadUidlist(folder, limits);
    if (!read.ok()) return read.status();
    if (read->has_value() && (*read)->uid_validity == known_validity) {
      absl::flat_hash_map<std::string_view, const UidlistRecord*> by_key;
      by_key.reserve((*read)->records.size());
      for (const UidlistRecord& r : (*read)->records) by_key.emplace(MaildirKey(r.filename), &r);
      for (ResolvedFile& f : files) {
        if (f.uid != 0) continue;
        auto it = by_key.find(MaildirKey(f.name));
        if (it == by_key.end()) continue;
        f.uid = it->second->uid;
        if (std::optional<std::string_view> w = it->second->Extension('W')) {
          uint64_t v = 0;
          if (absl::SimpleAtoi(AbslView(*w), &v)) f.vsize = v;
        }
        --without_uid;
      }
      result.next_uid = std::max(result.next_uid, (*read)->next_uid);
    }
  }
  const bool need_uids = without_uid > 0;
  if (need_uids || known_validity == 0) {
    absl::StatusOr<Dotlock> lock = Dotlock::Acquire(
        absl::StrCat(folder, "/", AbslView(kUidlistFileName)), limits.lock);
    if (!lock.ok()) return lock.status();
    absl::StatusOr<std::optional<Uidlist>> read = ReadUidlist(folder, limits);
    if (!read.ok()) return read.status();
    bool changed = !read->has_value();
    Uidlist list;
    if (read->has_value()) {
      list = **std::move(read);
    } else {
      list.uid_validity = static_cast<uint32_t>(absl::ToUnixSeconds(now));
      if (list.uid_validity == 0) list.uid_validity = 1;
      list.guid = NewUidlistGuid();
    }
    absl::flat_hash_map<std::string_view, size_t> by_key;
    by_key.reserve(list.records.size());
    for (size_t i = 0; i < list.records.size(); ++i) {
      by_key.emplace(MaildirKey(list.records[i].filename), i);
    }
    std::vector<ResolvedFile*> fresh;
    for (ResolvedFile& f : files) {
      auto it = by_key.find(MaildirKey(f.name));
      if (it != by_key.end()) {
        const UidlistRecord& r = list.records[it->second];
        f.uid = r.uid;
        if (std::optional<std::string_view> w = r.Extension('W')) {
          uint64_t v = 0;
          if (absl::SimpleAtoi(AbslView(*w), &v)) f.vsize = v;
        }
      } else {
        fresh.push_back(&f);
      }
    }
    // Maildir time order (MaildirTimeLess), with each name's time parsed
    // once instead of at every comparison.
    struct TimeKey {
      uint64_t secs, usecs;
      ResolvedFile* f;
    };
    std::vector<TimeKey> order;
    order.reserve(fresh.size());
    for (ResolvedFile* f : fresh) {
      auto [secs, usecs] = MaildirTimeOf(f->name);
      order.push_back({secs, usecs, f});
    }
    std::sort(order.begin(), order.end(), [](const TimeKey& a, const TimeKey& b) {
      if (a.secs != b.secs) return a.secs < b.secs;
      if (a.usecs != b.usecs) return a.usecs < b.usecs;
      return a.f->name < b.f->name;
    });
    // The same key twice (a file seen in new/ and cur/ mid-rename, or a
    // stray copy) gets one UID, the cur/ copy winning. Equal keys have
    // equal times, so only names within a run of equal times are compared
    // (runs are one or two names long).
    fresh.clear();
    size_t run = 0;  // where the current run of equal times starts in `fresh`
    for (size_t i = 0; i < order.size(); ++i) {
      const TimeKey& k = order[i];
      if (i == 0 || k.secs != order[i - 1].secs || k.usecs != order[i - 1].usecs) {
        run = fresh.size();
      }
      bool dup = false;
      for (size_t r = run; r < fresh.size() && !dup; ++r) {
        if (MaildirKey(fresh[r]->name) != MaildirKey(k.f->name)) continue;
        dup = true;
        if (k.f->in_cur && !fresh[r]->in_cur) fresh[r] = k.f;
      }
      if (!dup) fresh.push_back(k.f);
    }
    for (ResolvedFile* f : fresh) {
      if (list.next_uid == UINT32_MAX) {
        return absl::ResourceExhaustedError("UID space exhausted");
      }
      f->uid = list.next_uid++;
      f->newly_assigned = true;
      changed = true;
    }
    if (changed) {
      // The existing records, then the new ones (ascending: assigned in
      // order above), formatted straight from the names.
      std::string text = FormatUidlist(list);
      size_t more = 0;
      for (const ResolvedFile* f : fresh) more += f->name.size() + 14;
      text.reserve(text.size() + more);
      for (const ResolvedFile* f : fresh) absl::StrAppend(&text, f->uid, " :", f->name, "\n");
      struct stat written;
      absl::Status st = lock->Replace(text, &written);
      if (st.ok()) result.uidlist_stamp = StampOf(written, now);
      if (!st.ok()) return st;
    } else {
      // Unchanged under the lock: what it is now is what the index gets.
      absl::StatusOr<DirStamp> s =
          StatStampBlocking(absl::StrCat(folder, "/", AbslView(kUidlistFileName)), now);
      if (s.ok()) result.uidlist_stamp = *s;
      lock->Release();
    }
    result.uid_validity = list.uid_validity;
    result.next_uid = list.next_uid;
  }
  // Duplicates left without a UID (see above) are not messages of their own.
  files.erase(std::remove_if(files.begin(), files.end(),
                             [](const ResolvedFile& f) { return f.uid == 0; }),
              files.end());
  for (const ResolvedFile& f : files) {
    result.next_uid = std::max(result.next_uid, f.uid + 1);
  }
  // Ascending UIDs. Usually sorted already, or (a first open: every UID
  // new, given in time order) sorted by a pass that sorts the UIDs alone.
  if (!std::is_sorted(files.begin(), files.end(),
                      [](const ResolvedFile& a, const ResolvedFile& b) { return a.uid < b.uid; })) {
    std::vector<std::pair<uint32_t, uint32_t>> by_uid;  // uid, index in files
    by_uid.reserve(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      by_uid.emplace_back(files[i].uid, static_cast<uint32_t>(i));
    }
    std::sort(by_uid.begin(), by_uid.end());
    std::vector<ResolvedFile> sorted;
    sorted.reserve(files.size());
    for (const auto& [uid, i] : by_uid) sorted.push_back(std::move(files[i]));
    files = std::move(sorted);
  }
  result.files = std::move(files);
  return result;
}

absl::StatusOr<FolderIndex> LoadIndexFileBlocking(const std::string& folder,
                                                  const SyncLimits& limits) {
  const std::string path = absl::StrCat(folder, "/", AbslView(kIndexFileName));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Sys("open", path, errno);
  char magic[16] = {};
  ssize_t n;
  do {
    n = pread(fd, magic, sizeof(magic), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    close(fd);
    return Sys("read", path, err);
  }
  if (IsTextIndex(std::string_view(magic, static_cast<size_t>(n)))) {
    close(fd);
    absl::StatusOr<std::string> data = ReadSmallFile(path, limits.max_index_file_bytes);
    if (!data.ok()) {
      if (absl::IsResourceExhausted(data.status())) {
        return absl::DataLossError("ringmail-index too large");
      }
      return data.status();
    }
    return ParseTextIndex(*data, limits.max_messages);
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > limits.max_index_file_bytes) {
    close(fd);
    return absl::DataLossError("ringmail-index too large");
  }
  absl::StatusOr<std::shared_ptr<const IndexImage>> img =
      IndexImage::MapFd(fd, limits.max_messages);
  close(fd);  // the mapping keeps the file
  if (!img.ok()) return img.status();
  std::shared_ptr<const IndexImage> image = *std::move(img);
  absl::StatusOr<FolderIndex> index = FolderIndex::FromImage(image);
  // The hot columns are copies now: their pages need not stay mapped.
  image->ReleasePages();
  return index;
}

absl::StatusOr<std::shared_ptr<const IndexImage>> SaveIndexFileBlocking(
    const std::string& folder, const FolderIndex& index) {
  return WriteIndexFileBlocking(folder, index.SaveImage(), "");
}

absl::StatusOr<ApplyScanResult> SyncFolderBlocking(const std::string& folder,
                                                   FolderIndex& index,
                                                   absl::Time now,
                                                   const SyncLimits& limits) {
  absl::StatusOr<FolderScan> scan = ScanFolder(folder, index.hints(), now, limits);
  if (!scan.ok()) return scan.status();
  ApplyScanResult applied = index.ApplyScan(*scan);
  if (!applied.pending.empty() || index.uid_validity() == 0) {
    absl::StatusOr<ResolveResult> resolved = ResolveNewMessagesBlocking(
        folder, std::move(applied.pending), index.uid_validity(), now, limits);
    applied.pending.clear();
    if (!resolved.ok()) return resolved.status();
    ResolveResult stamp_of;
    stamp_of.uidlist_stamp = resolved->uidlist_stamp;
    absl::StatusOr<std::vector<uint32_t>> added = index.ApplyResolved(*std::move(resolved));
    if (!added.ok()) return added.status();
    index.CommitStamps(*scan, &stamp_of);
    return applied;
  }
  index.CommitStamps(*scan);
  return applied;
}

}  // namespace ringmail::storage
