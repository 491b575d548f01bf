#include "storage/mailbox/folder_sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
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

}  // namespace

bool MaildirTimeLess(std::string_view a, std::string_view b) {
  std::string_view ra = a, rb = b;
  uint64_t sa = TakeNumber(ra), sb = TakeNumber(rb);
  if (sa != sb) return sa < sb;
  auto usecs = [](std::string_view r) -> uint64_t {
    if (r.substr(0, 2) != ".M") return 0;
    r.remove_prefix(2);
    return TakeNumber(r);
  };
  uint64_t ua = usecs(ra), ub = usecs(rb);
  if (ua != ub) return ua < ub;
  return a < b;
}

absl::StatusOr<FolderScan> ScanFolder(const std::string& folder,
                                      const SyncLimits& limits) {
  FolderScan scan;
  for (const char* sub : {"new", "cur"}) {
    std::string dir = absl::StrCat(folder, "/", sub);
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return Sys("opendir", dir, errno);
    bool in_cur = sub[0] == 'c';
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
  absl::StatusOr<std::optional<Uidlist>> list = ReadUidlist(folder, limits);
  if (!list.ok()) return list.status();
  scan.uidlist = *std::move(list);
  return scan;
}

absl::StatusOr<ResolveResult> ResolveNewMessagesBlocking(
    const std::string& folder, std::vector<PendingFile> pending,
    uint32_t known_validity, absl::Time now, const SyncLimits& limits) {
  ResolveResult result;
  result.uid_validity = known_validity;
  std::vector<ResolvedFile> files;
  files.reserve(pending.size());
  bool need_uids = false;
  for (PendingFile& p : pending) {
    std::string path =
        absl::StrCat(folder, p.in_cur ? "/cur/" : "/new/", p.name);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return Sys("stat", path, errno);
    }
    ResolvedFile f;
    f.name = std::move(p.name);
    f.in_cur = p.in_cur;
    f.uid = p.uid_hint;
    f.mtime = st.st_mtim.tv_sec;
    f.size = static_cast<uint64_t>(st.st_size);
    need_uids |= f.uid == 0;
    files.push_back(std::move(f));
  }
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
    std::sort(fresh.begin(), fresh.end(),
              [](const ResolvedFile* a, const ResolvedFile* b) {
                return MaildirTimeLess(a->name, b->name);
              });
    for (ResolvedFile* f : fresh) {
      if (list.next_uid == UINT32_MAX) {
        return absl::ResourceExhaustedError("UID space exhausted");
      }
      f->uid = list.next_uid++;
      f->newly_assigned = true;
      list.records.push_back({f->uid, {}, f->name});
      changed = true;
    }
    if (changed) {
      absl::Status st = lock->Replace(FormatUidlist(list));
      if (!st.ok()) return st;
    } else {
      lock->Release();
    }
    result.uid_validity = list.uid_validity;
    result.next_uid = list.next_uid;
  }
  for (const ResolvedFile& f : files) {
    result.next_uid = std::max(result.next_uid, f.uid + 1);
  }
  std::sort(files.begin(), files.end(),
            [](const ResolvedFile& a, const ResolvedFile& b) {
              return a.uid < b.uid;
            });
  result.files = std::move(files);
  return result;
}

absl::StatusOr<FolderIndex> LoadIndexFileBlocking(const std::string& folder,
                                                  const SyncLimits& limits) {
  absl::StatusOr<std::string> data =
      ReadSmallFile(absl::StrCat(folder, "/", AbslView(kIndexFileName)),
                    limits.max_index_file_bytes);
  if (!data.ok()) {
    if (absl::IsResourceExhausted(data.status())) {
      return absl::DataLossError("ringmail-index too large");
    }
    return data.status();
  }
  return FolderIndex::Deserialize(*data, limits.max_messages);
}

absl::Status SaveIndexFileBlocking(const std::string& folder,
                                   const FolderIndex& index) {
  return WriteIndexFileBlocking(folder, index.Serialize());
}

absl::StatusOr<ApplyScanResult> SyncFolderBlocking(const std::string& folder,
                                                   FolderIndex& index,
                                                   absl::Time now,
                                                   const SyncLimits& limits) {
  absl::StatusOr<FolderScan> scan = ScanFolder(folder, limits);
  if (!scan.ok()) return scan.status();
  ApplyScanResult applied = index.ApplyScan(*scan);
  if (applied.pending.empty() && index.uid_validity() != 0) return applied;
  absl::StatusOr<ResolveResult> resolved = ResolveNewMessagesBlocking(
      folder, std::move(applied.pending), index.uid_validity(), now, limits);
  applied.pending.clear();
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<std::vector<uint32_t>> added = index.ApplyResolved(*resolved);
  if (!added.ok()) return added.status();
  return applied;
}

}  // namespace ringmail::storage
