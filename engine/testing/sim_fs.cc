#include "engine/testing/sim_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ringmail::engine::testing {
namespace {

constexpr uint64_t kSector = 512;
constexpr std::string_view kProcFd = "/proc/self/fd";

uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Path components, skipping empty ones ("a//b", trailing '/').
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool IsProcFdPath(std::string_view path, int* fd) {
  if (path.size() <= kProcFd.size() + 1 || path.substr(0, kProcFd.size()) != kProcFd ||
      path[kProcFd.size()] != '/') {
    return false;
  }
  std::string_view num = path.substr(kProcFd.size() + 1);
  int n = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  *fd = n;
  return true;
}

}  // namespace

// ---- SimRng

SimRng::SimRng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = SplitMix(&x);
}

uint64_t SimRng::Next() {
  uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t SimRng::Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

double SimRng::Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

bool SimRng::Chance(double p) { return p > 0 && Unit() < p; }

std::string_view SimCutModeName(SimCutMode mode) {
  switch (mode) {
    case SimCutMode::kDropVolatile: return "drop-volatile";
    case SimCutMode::kPrefix: return "prefix";
    case SimCutMode::kScatter: return "scatter";
  }
  return "?";
}

// ---- SimFs: bookkeeping

SimFs::SimFs(SimRng* rng) : rng_(rng) {
  inodes_[kRoot].dir = true;
  inodes_[kRoot].nlink = 1;
  durable_dirs_[kRoot];
}

uint64_t SimFs::NewInode(bool dir) {
  uint64_t ino = next_ino_++;
  Inode& in = inodes_[ino];
  in.dir = dir;
  in.mtime_ns = absl::ToUnixNanos(now_);
  return ino;
}

const SimFs::Fd* SimFs::GetFd(int fd) const {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : &it->second;
}

std::string SimFs::FdPath(int fd) const {
  const Fd* f = GetFd(fd);
  return f == nullptr ? std::string() : f->path;
}

SimFs::Where SimFs::Resolve(int dirfd, std::string_view path) const {
  Where w;
  uint64_t cur = kRoot;
  if (path.empty()) {
    w.err = -ENOENT;
    return w;
  }
  if (path.front() != '/' && dirfd != AT_FDCWD) {
    const Fd* f = GetFd(dirfd);
    if (f == nullptr) {
      w.err = -EBADF;
      return w;
    }
    if (f->kind != FdKind::kDir) {
      w.err = -ENOTDIR;
      return w;
    }
    cur = f->ino;
  }
  std::vector<std::string_view> parts = Split(path);
  if (parts.empty()) {  // "/" itself
    w.parent = kRoot;
    w.name = "";
    w.ino = kRoot;
    return w;
  }
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto it = inodes_.find(cur);
    if (it == inodes_.end() || !it->second.dir) {
      w.err = -ENOTDIR;
      return w;
    }
    auto e = it->second.entries.find(std::string(parts[i]));
    if (e == it->second.entries.end()) {
      w.err = -ENOENT;
      return w;
    }
    cur = e->second;
  }
  auto it = inodes_.find(cur);
  if (it == inodes_.end() || !it->second.dir) {
    w.err = -ENOTDIR;
    return w;
  }
  w.parent = cur;
  w.name = std::string(parts.back());
  auto e = it->second.entries.find(w.name);
  w.ino = e == it->second.entries.end() ? 0 : e->second;
  return w;
}

int SimFs::Lookup(int dirfd, std::string_view path, uint64_t* ino) const {
  Where w = Resolve(dirfd, path);
  if (w.err != 0) return w.err;
  if (w.ino == 0) return -ENOENT;
  *ino = w.ino;
  return 0;
}

void SimFs::AddEntry(uint64_t dir, const std::string& name, uint64_t ino) {
  inodes_[dir].entries[name] = ino;
  inodes_[dir].mtime_ns = absl::ToUnixNanos(now_);
  ++inodes_[ino].nlink;
}

void SimFs::RemoveEntry(uint64_t dir, const std::string& name) {
  Inode& d = inodes_[dir];
  auto it = d.entries.find(name);
  if (it == d.entries.end()) return;
  --inodes_[it->second].nlink;
  d.entries.erase(it);
  d.mtime_ns = absl::ToUnixNanos(now_);
}

void SimFs::LogMeta(MetaOp op) { meta_log_.push_back(std::move(op)); }

void SimFs::ApplyDurable(const MetaOp& op) {
  auto ensure_dir = [&](uint64_t ino) {
    auto it = inodes_.find(ino);
    if (it != inodes_.end() && it->second.dir) durable_dirs_[ino];
  };
  switch (op.kind) {
    case MetaOp::kLink:
      durable_dirs_[op.dir1][op.name1] = op.ino;
      ensure_dir(op.ino);
      break;
    case MetaOp::kUnlink: {
      auto& d = durable_dirs_[op.dir1];
      auto it = d.find(op.name1);
      if (it != d.end() && it->second == op.ino) d.erase(it);
      break;
    }
    case MetaOp::kRename: {
      auto& from = durable_dirs_[op.dir1];
      auto it = from.find(op.name1);
      if (it != from.end() && it->second == op.ino) from.erase(it);
      durable_dirs_[op.dir2][op.name2] = op.ino;
      ensure_dir(op.ino);
      break;
    }
  }
}

void SimFs::TouchData(Inode& in) { in.mtime_ns = absl::ToUnixNanos(now_); }

void SimFs::ApplyData(std::string* content, const DataOp& op) {
  if (op.truncate) {
    content->resize(op.offset, '\0');
    return;
  }
  uint64_t end = op.offset + op.bytes.size();
  if (content->size() < end) content->resize(end, '\0');
  std::memcpy(content->data() + op.offset, op.bytes.data(), op.bytes.size());
}

void SimFs::ScatterPending(Inode& in, double keep) {
  for (const DataOp& op : in.pending) {
    if (op.truncate) {
      if (rng_->Chance(keep)) ApplyData(&in.disk, op);
      continue;
    }
    // Sector pieces, each kept or not on its own.
    uint64_t pos = op.offset;
    const uint64_t end = op.offset + op.bytes.size();
    while (pos < end) {
      uint64_t next = std::min(end, (pos / kSector + 1) * kSector);
      if (rng_->Chance(keep)) {
        DataOp piece;
        piece.offset = pos;
        piece.bytes = op.bytes.substr(pos - op.offset, next - pos);
        ApplyData(&in.disk, piece);
      }
      pos = next;
    }
  }
  in.pending.clear();
}

SimFs::Inode* SimFs::FileOf(int fd, bool for_write, int* err) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) {
    *err = -EBADF;
    return nullptr;
  }
  if (it->second.kind != FdKind::kFile) {
    *err = for_write ? -EBADF : -EISDIR;
    return nullptr;
  }
  if (for_write && (it->second.flags & O_ACCMODE) == O_RDONLY) {
    *err = -EBADF;
    return nullptr;
  }
  if (!for_write && (it->second.flags & O_ACCMODE) == O_WRONLY) {
    *err = -EBADF;
    return nullptr;
  }
  return &inodes_[it->second.ino];
}

// ---- SimFs: operations

int SimFs::Open(int dirfd, std::string_view path, int flags, mode_t mode) {
  if (path == kProcFd || path == std::string(kProcFd) + "/") {
    int fd = next_fd_++;
    fds_[fd] = Fd{FdKind::kProc, 0, flags, std::string(kProcFd)};
    return fd;
  }
  Where w = Resolve(dirfd, path);
  if (w.err != 0) return w.err;
  const std::string full = path.front() == '/' || dirfd == AT_FDCWD
                               ? std::string(path)
                               : absl::StrCat(FdPath(dirfd), "/", std::string(path));
  if ((flags & O_TMPFILE) == O_TMPFILE) {
    if (w.ino == 0) return -ENOENT;
    if (!inodes_[w.ino].dir) return -ENOTDIR;
    if ((flags & O_ACCMODE) == O_RDONLY) return -EINVAL;
    uint64_t ino = NewInode(false);
    inodes_[ino].tmpfile = true;
    int fd = next_fd_++;
    fds_[fd] = Fd{FdKind::kFile, ino, flags, full + "/(tmpfile)", 0};
    return fd;
  }
  uint64_t ino = w.ino;
  if (ino != 0 && (flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
  if (ino == 0) {
    if (!(flags & O_CREAT)) return -ENOENT;
    if (flags & O_DIRECTORY) return -EINVAL;
    ino = NewInode(false);
    AddEntry(w.parent, w.name, ino);
    LogMeta({MetaOp::kLink, w.parent, w.name, 0, "", ino});
  }
  Inode& in = inodes_[ino];
  if (in.dir) {
    if ((flags & O_ACCMODE) != O_RDONLY) return -EISDIR;
    int fd = next_fd_++;
    fds_[fd] = Fd{FdKind::kDir, ino, flags, full};
    return fd;
  }
  if (flags & O_DIRECTORY) return -ENOTDIR;
  if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY && !in.data.empty()) {
    DataOp op;
    op.truncate = true;
    op.offset = 0;
    ApplyData(&in.data, op);
    in.pending.push_back(std::move(op));
    TouchData(in);
  }
  int fd = next_fd_++;
  fds_[fd] = Fd{FdKind::kFile, ino, flags, full, in.wb_err};
  return fd;
}

int SimFs::Close(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  fds_.erase(it);
  return 0;
}

ssize_t SimFs::Pread(int fd, void* buf, size_t len, uint64_t offset) {
  int err = 0;
  Inode* in = FileOf(fd, false, &err);
  if (in == nullptr) return err;
  if (offset >= in->data.size()) return 0;
  size_t n = std::min<uint64_t>(len, in->data.size() - offset);
  std::memcpy(buf, in->data.data() + offset, n);
  return static_cast<ssize_t>(n);
}

ssize_t SimFs::Pwrite(int fd, const void* buf, size_t len, uint64_t offset) {
  int err = 0;
  Inode* in = FileOf(fd, true, &err);
  if (in == nullptr) return err;
  if (len == 0) return 0;
  DataOp op;
  op.offset = offset;
  op.bytes.assign(static_cast<const char*>(buf), len);
  ApplyData(&in->data, op);
  in->pending.push_back(std::move(op));
  TouchData(*in);
  return static_cast<ssize_t>(len);
}

int SimFs::Fsync(int fd, bool datasync) {
  (void)datasync;  // the model keeps no separate inode metadata
  auto it = fds_.find(fd);
  if (it == fds_.end()) return -EBADF;
  const Fd& f = it->second;
  if (f.kind == FdKind::kProc) return 0;
  if (f.kind == FdKind::kDir) {
    // Every pending operation touching this directory, and transitively
    // every earlier one sharing a directory with those, in log order.
    std::set<uint64_t> dirs{f.ino};
    std::vector<bool> take(meta_log_.size(), false);
    for (size_t i = meta_log_.size(); i-- > 0;) {
      const MetaOp& op = meta_log_[i];
      bool touches = dirs.count(op.dir1) > 0 ||
                     (op.kind == MetaOp::kRename && dirs.count(op.dir2) > 0);
      if (!touches) continue;
      take[i] = true;
      dirs.insert(op.dir1);
      if (op.kind == MetaOp::kRename) dirs.insert(op.dir2);
    }
    std::deque<MetaOp> rest;
    for (size_t i = 0; i < meta_log_.size(); ++i) {
      if (take[i]) {
        ApplyDurable(meta_log_[i]);
      } else {
        rest.push_back(std::move(meta_log_[i]));
      }
    }
    meta_log_ = std::move(rest);
    return 0;
  }
  Inode& in = inodes_[f.ino];
  for (const DataOp& op : in.pending) ApplyData(&in.disk, op);
  in.pending.clear();
  if (in.wb_err > f.wb_err_seen) {
    it->second.wb_err_seen = in.wb_err;  // reported once per fd
    return -EIO;
  }
  return 0;
}

int SimFs::Syncfs() {
  for (const MetaOp& op : meta_log_) ApplyDurable(op);
  meta_log_.clear();
  for (auto& [ino, in] : inodes_) {
    for (const DataOp& op : in.pending) ApplyData(&in.disk, op);
    in.pending.clear();
  }
  return 0;
}

void SimFs::FsyncFailed(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != FdKind::kFile) return;
  Inode& in = inodes_[it->second.ino];
  ScatterPending(in, rng_->Unit());
  ++in.wb_err;
  it->second.wb_err_seen = in.wb_err;  // this fsync reports it
}

void SimFs::SyncfsFailed() {
  size_t k = rng_->Below(meta_log_.size() + 1);
  for (size_t i = 0; i < k; ++i) ApplyDurable(meta_log_[i]);
  meta_log_.erase(meta_log_.begin(), meta_log_.begin() + static_cast<long>(k));
  for (auto& [ino, in] : inodes_) {
    if (in.pending.empty()) continue;
    if (rng_->Chance(0.5)) {
      for (const DataOp& op : in.pending) ApplyData(&in.disk, op);
      in.pending.clear();
    } else {
      ScatterPending(in, rng_->Unit());
      ++in.wb_err;  // the next fsync of each open fd reports it
    }
  }
}

int SimFs::Ftruncate(int fd, uint64_t size) {
  int err = 0;
  Inode* in = FileOf(fd, true, &err);
  if (in == nullptr) return err == -EBADF ? -EINVAL : err;
  DataOp op;
  op.truncate = true;
  op.offset = size;
  ApplyData(&in->data, op);
  in->pending.push_back(std::move(op));
  TouchData(*in);
  return 0;
}

namespace {
void FillStat(uint64_t ino, bool dir, uint64_t size, uint32_t nlink,
              int64_t mtime_ns, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_dev = 1;
  st->st_ino = ino;
  st->st_mode = dir ? (S_IFDIR | 0700) : (S_IFREG | 0600);
  st->st_nlink = dir ? 2 : nlink;
  st->st_size = dir ? 4096 : static_cast<off_t>(size);
  st->st_blksize = 4096;
  st->st_mtim.tv_sec = mtime_ns / 1'000'000'000;
  st->st_mtim.tv_nsec = mtime_ns % 1'000'000'000;
  st->st_ctim = st->st_mtim;
  st->st_atim = st->st_mtim;
}
}  // namespace

int SimFs::Fstat(int fd, struct stat* st) {
  const Fd* f = GetFd(fd);
  if (f == nullptr) return -EBADF;
  if (f->kind == FdKind::kProc) {
    FillStat(0, true, 0, 2, 0, st);
    return 0;
  }
  const Inode& in = inodes_[f->ino];
  FillStat(f->ino, in.dir, in.data.size(), in.nlink, in.mtime_ns, st);
  return 0;
}

int SimFs::Stat(int dirfd, std::string_view path, struct stat* st) {
  uint64_t ino = 0;
  if (int e = Lookup(dirfd, path, &ino); e < 0) return e;
  const Inode& in = inodes_[ino];
  FillStat(ino, in.dir, in.data.size(), in.nlink, in.mtime_ns, st);
  return 0;
}

int SimFs::Mkdir(int dirfd, std::string_view path, mode_t mode) {
  (void)mode;
  Where w = Resolve(dirfd, path);
  if (w.err != 0) return w.err;
  if (w.ino != 0) return -EEXIST;
  uint64_t ino = NewInode(true);
  AddEntry(w.parent, w.name, ino);
  LogMeta({MetaOp::kLink, w.parent, w.name, 0, "", ino});
  return 0;
}

int SimFs::Rename(int old_dirfd, std::string_view old_path, int new_dirfd,
                  std::string_view new_path, unsigned flags) {
  Where from = Resolve(old_dirfd, old_path);
  if (from.err != 0) return from.err;
  if (from.ino == 0) return -ENOENT;
  Where to = Resolve(new_dirfd, new_path);
  if (to.err != 0) return to.err;
  if (from.ino == kRoot || to.name.empty()) return -EBUSY;
  if (to.ino != 0) {
    if (flags & RENAME_NOREPLACE) return -EEXIST;
    if (to.ino == from.ino) return 0;
    const Inode& src = inodes_[from.ino];
    const Inode& dst = inodes_[to.ino];
    if (dst.dir && !src.dir) return -EISDIR;
    if (!dst.dir && src.dir) return -ENOTDIR;
    if (dst.dir && !dst.entries.empty()) return -ENOTEMPTY;
  }
  if (to.ino != 0) {
    RemoveEntry(to.parent, to.name);
    // The replaced entry's removal is part of the same atomic rename.
  }
  RemoveEntry(from.parent, from.name);
  AddEntry(to.parent, to.name, from.ino);
  LogMeta({MetaOp::kRename, from.parent, from.name, to.parent, to.name, from.ino});
  return 0;
}

int SimFs::Link(int old_dirfd, std::string_view old_path, int new_dirfd,
                std::string_view new_path, int flags) {
  uint64_t ino = 0;
  int proc_fd = -1;
  if ((flags & AT_SYMLINK_FOLLOW) && old_dirfd == AT_FDCWD &&
      IsProcFdPath(old_path, &proc_fd)) {
    const Fd* f = GetFd(proc_fd);
    if (f == nullptr) return -ENOENT;
    if (f->kind != FdKind::kFile) return -EPERM;
    ino = f->ino;
    const Inode& in = inodes_[ino];
    if (in.nlink == 0 && !in.tmpfile) return -ENOENT;  // unlinked file
  } else {
    if (int e = Lookup(old_dirfd, old_path, &ino); e < 0) return e;
    if (inodes_[ino].dir) return -EPERM;
  }
  Where to = Resolve(new_dirfd, new_path);
  if (to.err != 0) return to.err;
  if (to.ino != 0) return -EEXIST;
  inodes_[ino].tmpfile = false;
  AddEntry(to.parent, to.name, ino);
  LogMeta({MetaOp::kLink, to.parent, to.name, 0, "", ino});
  return 0;
}

int SimFs::Unlink(int dirfd, std::string_view path, int flags) {
  Where w = Resolve(dirfd, path);
  if (w.err != 0) return w.err;
  if (w.ino == 0) return -ENOENT;
  if (w.ino == kRoot) return -EBUSY;
  const Inode& in = inodes_[w.ino];
  if (flags & AT_REMOVEDIR) {
    if (!in.dir) return -ENOTDIR;
    if (!in.entries.empty()) return -ENOTEMPTY;
  } else if (in.dir) {
    return -EISDIR;
  }
  uint64_t ino = w.ino;
  RemoveEntry(w.parent, w.name);
  LogMeta({MetaOp::kUnlink, w.parent, w.name, 0, "", ino});
  return 0;
}

int SimFs::ReadDir(int dirfd, std::string_view path,
                   std::vector<std::pair<std::string, unsigned char>>* out) {
  out->clear();
  if (path == kProcFd) return 0;
  uint64_t ino = 0;
  if (int e = Lookup(dirfd, path, &ino); e < 0) return e;
  const Inode& d = inodes_[ino];
  if (!d.dir) return -ENOTDIR;
  for (const auto& [name, child] : d.entries) {
    out->emplace_back(name, inodes_[child].dir ? DT_DIR : DT_REG);
  }
  return 0;
}

// ---- Power cut

void SimFs::PowerCut(SimCutMode mode) {
  fds_.clear();
  // Metadata: a prefix of the log (none when dropping everything volatile).
  size_t k = 0;
  if (mode != SimCutMode::kDropVolatile && !meta_log_.empty()) {
    switch (rng_->Below(4)) {
      case 0: k = 0; break;
      case 1: k = meta_log_.size(); break;
      default: k = rng_->Below(meta_log_.size() + 1); break;
    }
  }
  for (size_t i = 0; i < k; ++i) ApplyDurable(meta_log_[i]);
  meta_log_.clear();
  // Data of every file, durable part plus what the mode lets through.
  const double keep = rng_->Unit();
  for (auto& [ino, in] : inodes_) {
    if (in.dir || in.pending.empty()) continue;
    switch (mode) {
      case SimCutMode::kDropVolatile:
        in.pending.clear();
        break;
      case SimCutMode::kPrefix: {
        size_t n = rng_->Below(in.pending.size() + 1);
        for (size_t i = 0; i < n; ++i) ApplyData(&in.disk, in.pending[i]);
        if (n < in.pending.size() && rng_->Chance(0.5)) {
          DataOp torn = in.pending[n];
          if (!torn.truncate) {
            torn.bytes.resize(rng_->Below(torn.bytes.size()));
            ApplyData(&in.disk, torn);
          }
        }
        in.pending.clear();
        break;
      }
      case SimCutMode::kScatter:
        ScatterPending(in, keep);
        break;
    }
  }
  // Rebuild from the durable namespace: what is reachable survives.
  std::map<uint64_t, Inode> kept;
  std::map<uint64_t, std::map<std::string, uint64_t>> kept_dirs;
  std::vector<uint64_t> queue{kRoot};
  while (!queue.empty()) {
    uint64_t ino = queue.back();
    queue.pop_back();
    if (kept.count(ino)) continue;
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) continue;
    Inode in = std::move(it->second);
    in.pending.clear();
    in.tmpfile = false;
    in.nlink = 0;
    in.entries.clear();
    if (in.dir) {
      auto& dentries = durable_dirs_[ino];
      for (auto e = dentries.begin(); e != dentries.end();) {
        if (inodes_.count(e->second) == 0 && kept.count(e->second) == 0) {
          e = dentries.erase(e);
          continue;
        }
        in.entries[e->first] = e->second;
        queue.push_back(e->second);
        ++e;
      }
      kept_dirs[ino] = dentries;
    } else {
      in.data = in.disk;
    }
    kept.emplace(ino, std::move(in));
  }
  for (auto& [ino, in] : kept) {
    for (const auto& [name, child] : in.entries) ++kept[child].nlink;
  }
  kept[kRoot].nlink = 1;
  inodes_ = std::move(kept);
  durable_dirs_ = std::move(kept_dirs);
}

// ---- Inspection

bool SimFs::ReadFile(std::string_view path, std::string* out) const {
  uint64_t ino = 0;
  if (Lookup(AT_FDCWD, path, &ino) < 0) return false;
  const Inode& in = inodes_.at(ino);
  if (in.dir) return false;
  *out = in.data;
  return true;
}

bool SimFs::IsDir(std::string_view path) const {
  uint64_t ino = 0;
  return Lookup(AT_FDCWD, path, &ino) == 0 && inodes_.at(ino).dir;
}

bool SimFs::Exists(std::string_view path) const {
  uint64_t ino = 0;
  return Lookup(AT_FDCWD, path, &ino) == 0;
}

std::vector<std::string> SimFs::List(std::string_view path) const {
  std::vector<std::string> out;
  uint64_t ino = 0;
  if (Lookup(AT_FDCWD, path, &ino) < 0) return out;
  const Inode& d = inodes_.at(ino);
  for (const auto& [name, child] : d.entries) out.push_back(name);
  return out;
}

uint64_t SimFs::pending_data_bytes() const {
  uint64_t n = 0;
  for (const auto& [ino, in] : inodes_) {
    for (const DataOp& op : in.pending) n += op.bytes.size();
  }
  return n;
}

std::string SimFs::Summary() const {
  size_t files = 0, dirs = 0;
  for (const auto& [ino, in] : inodes_) (in.dir ? dirs : files) += 1;
  return absl::StrCat(files, " inodes of files, ", dirs, " directories, ",
                      fds_.size(), " open fds, ", meta_log_.size(),
                      " pending metadata ops, ", pending_data_bytes(),
                      " pending data bytes");
}

// ---- SimLoop

SimLoop::SimLoop(SimRng* rng, absl::Time start) : rng_(rng), now_(start) {}

void SimLoop::RunAfter(absl::Duration delay, absl::AnyInvocable<void()> fn) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  timers_.emplace(std::make_pair(now_ + delay, seq_++), std::move(fn));
}

void SimLoop::AddIo(std::string key, absl::AnyInvocable<int()> run,
                    IoCallback done) {
  Io io{std::move(key), seq_++, std::move(run), std::move(done)};
  auto pos = std::upper_bound(io_.begin(), io_.end(), io,
                              [](const Io& a, const Io& b) {
                                if (a.key != b.key) return a.key < b.key;
                                return a.seq < b.seq;
                              });
  io_.insert(pos, std::move(io));
}

void SimLoop::Mix(std::string_view s, int64_t v) {
  for (char c : s) {
    trace_ ^= static_cast<unsigned char>(c);
    trace_ *= 0x100000001b3ull;
  }
  trace_ ^= static_cast<uint64_t>(v);
  trace_ *= 0x100000001b3ull;
}

bool SimLoop::Step() {
  if (io_.empty() && timers_.empty()) return false;
  now_ += absl::Nanoseconds(static_cast<int64_t>(
      rng_->Below(static_cast<uint64_t>(absl::ToInt64Nanoseconds(max_advance_)) + 1)));
  bool timer_due = !timers_.empty() && timers_.begin()->first.first <= now_;
  if (io_.empty() && !timer_due) {
    now_ = timers_.begin()->first.first;  // idle: jump to the next timer
    timer_due = true;
  }
  ++steps_;
  uint64_t pick = rng_->Below(io_.size() + (timer_due ? 1 : 0));
  if (pick == io_.size()) {
    auto it = timers_.begin();
    absl::AnyInvocable<void()> fn = std::move(it->second);
    timers_.erase(it);
    Mix("timer", 0);
    if (trace_fn_) trace_fn_("timer");
    fn();
    return true;
  }
  Io io = std::move(io_[pick]);
  io_.erase(io_.begin() + static_cast<long>(pick));
  int r = io.run();
  Mix(io.key, r);
  if (trace_fn_) trace_fn_(absl::StrCat(io.key, " = ", r));
  io.done(r);
  return true;
}

uint64_t SimLoop::RunUntilIdle(absl::Time until, uint64_t max_steps) {
  uint64_t n = 0;
  while (n < max_steps) {
    if (io_.empty() && (timers_.empty() || timers_.begin()->first.first > until)) break;
    if (!Step()) break;
    ++n;
  }
  return n;
}

void SimLoop::Clear() {
  // Move out first: destroying a callback may not touch the containers.
  std::vector<Io> io = std::move(io_);
  io_.clear();
  auto timers = std::move(timers_);
  timers_.clear();
}

// ---- SimFileIo

SimFileIo::SimFileIo(SimFs* fs, SimLoop* loop) : fs_(fs), loop_(loop) {}

std::string SimFileIo::FdKey(int fd) const {
  return absl::StrCat(fs_->FdPath(fd), "#", fd);
}

int SimFileIo::MetaFault(bool creates) {
  if (!fs_->rng().Chance(faults_.meta_error)) return 0;
  ++faults_injected_;
  return creates && fs_->rng().Chance(0.5) ? -ENOSPC : -EIO;
}

void SimFileIo::OpenAt(int dirfd, std::string_view path, int flags,
                       mode_t mode, IoCallback done) {
  std::string p(path);
  std::string key = absl::StrCat("open|", dirfd == AT_FDCWD ? "" : FdKey(dirfd),
                                 "|", p, "|", flags);
  loop_->AddIo(std::move(key),
               [this, dirfd, p, flags, mode]() {
                 fs_->set_now(loop_->now());
                 if (int e = MetaFault((flags & (O_CREAT | O_TMPFILE)) != 0); e < 0) {
                   return e;
                 }
                 return fs_->Open(dirfd, p, flags, mode);
               },
               std::move(done));
}

int SimFileIo::WriteBytes(int fd, std::string bytes, uint64_t offset) {
  fs_->set_now(loop_->now());
  SimRng& rng = fs_->rng();
  if (rng.Chance(faults_.write_error)) {
    ++faults_injected_;
    return rng.Chance(0.5) ? -ENOSPC : -EIO;
  }
  if (bytes.size() > 1 && rng.Chance(faults_.short_write)) {
    ++faults_injected_;
    bytes.resize(1 + rng.Below(bytes.size() - 1));
  }
  return static_cast<int>(fs_->Pwrite(fd, bytes.data(), bytes.size(), offset));
}

void SimFileIo::Write(int fd, const void* data, size_t len, uint64_t offset,
                      IoCallback done) {
  std::string key = absl::StrCat("write|", FdKey(fd), "|", offset, "|", len);
  loop_->AddIo(std::move(key),
               [this, fd, data, len, offset]() {
                 // The buffer is valid until `done` (FileIo contract): read
                 // it at completion, as the kernel may.
                 return WriteBytes(fd, std::string(static_cast<const char*>(data), len),
                                   offset);
               },
               std::move(done));
}

void SimFileIo::WriteV(int fd, absl::Span<const iovec> parts, uint64_t offset,
                       IoCallback done) {
  assert(parts.size() <= kMaxWriteParts);
  std::vector<iovec> copy(parts.begin(), parts.end());
  size_t len = 0;
  for (const iovec& v : copy) len += v.iov_len;
  std::string key = absl::StrCat("write|", FdKey(fd), "|", offset, "|", len);
  loop_->AddIo(std::move(key),
               [this, fd, copy = std::move(copy), offset]() {
                 std::string bytes;
                 for (const iovec& v : copy) {
                   bytes.append(static_cast<const char*>(v.iov_base), v.iov_len);
                 }
                 return WriteBytes(fd, std::move(bytes), offset);
               },
               std::move(done));
}

void SimFileIo::Read(int fd, void* data, size_t len, uint64_t offset,
                     IoCallback done) {
  std::string key = absl::StrCat("read|", FdKey(fd), "|", offset, "|", len);
  loop_->AddIo(std::move(key),
               [this, fd, data, len, offset]() {
                 if (fs_->rng().Chance(faults_.read_error)) {
                   ++faults_injected_;
                   return -EIO;
                 }
                 return static_cast<int>(fs_->Pread(fd, data, len, offset));
               },
               std::move(done));
}

void SimFileIo::Fsync(int fd, bool datasync, IoCallback done) {
  std::string key = absl::StrCat(datasync ? "fdatasync|" : "fsync|", FdKey(fd));
  loop_->AddIo(std::move(key),
               [this, fd, datasync]() {
                 if (fs_->FdPath(fd).empty()) return -EBADF;
                 if (fs_->rng().Chance(faults_.fsync_error)) {
                   ++faults_injected_;
                   fs_->FsyncFailed(fd);
                   return -EIO;
                 }
                 return fs_->Fsync(fd, datasync);
               },
               std::move(done));
}

void SimFileIo::RenameAt(int old_dirfd, std::string_view old_path,
                         int new_dirfd, std::string_view new_path,
                         IoCallback done) {
  std::string a(old_path), b(new_path);
  std::string key = absl::StrCat("rename|", a, "|", b);
  loop_->AddIo(std::move(key),
               [this, old_dirfd, a, new_dirfd, b]() {
                 fs_->set_now(loop_->now());
                 if (int e = MetaFault(true); e < 0) return e;
                 return fs_->Rename(old_dirfd, a, new_dirfd, b, 0);
               },
               std::move(done));
}

void SimFileIo::LinkAt(int old_dirfd, std::string_view old_path,
                       int new_dirfd, std::string_view new_path, int flags,
                       IoCallback done) {
  std::string a(old_path), b(new_path);
  std::string key = absl::StrCat("link|", b, "|", a);
  loop_->AddIo(std::move(key),
               [this, old_dirfd, a, new_dirfd, b, flags]() {
                 fs_->set_now(loop_->now());
                 if (int e = MetaFault(true); e < 0) return e;
                 return fs_->Link(old_dirfd, a, new_dirfd, b, flags);
               },
               std::move(done));
}

void SimFileIo::UnlinkAt(int dirfd, std::string_view path, int flags,
                         IoCallback done) {
  std::string p(path);
  std::string key = absl::StrCat("unlink|", p, "|", flags);
  loop_->AddIo(std::move(key),
               [this, dirfd, p, flags]() {
                 fs_->set_now(loop_->now());
                 if (int e = MetaFault(false); e < 0) return e;
                 return fs_->Unlink(dirfd, p, flags);
               },
               std::move(done));
}

void SimFileIo::MkdirAt(int dirfd, std::string_view path, mode_t mode,
                        IoCallback done) {
  std::string p(path);
  std::string key = absl::StrCat("mkdir|", p);
  loop_->AddIo(std::move(key),
               [this, dirfd, p, mode]() {
                 fs_->set_now(loop_->now());
                 struct stat st;
                 // An existing name is found before anything could fail.
                 if (fs_->Stat(dirfd, p, &st) == 0) return -EEXIST;
                 if (int e = MetaFault(true); e < 0) return e;
                 return fs_->Mkdir(dirfd, p, mode);
               },
               std::move(done));
}

void SimFileIo::Close(int fd, IoCallback done) {
  std::string key = absl::StrCat("close|", FdKey(fd));
  loop_->AddIo(std::move(key),
               [this, fd]() {
                 int r = fs_->Close(fd);
                 if (r == 0 && fs_->rng().Chance(faults_.close_error)) {
                   ++faults_injected_;
                   return -EIO;  // closed anyway, as close(2)
                 }
                 return r;
               },
               std::move(done));
}

void SimFileIo::SyncFs(IoCallback done) {
  loop_->AddIo("syncfs|",
               [this]() {
                 if (fs_->rng().Chance(faults_.syncfs_error)) {
                   ++faults_injected_;
                   fs_->SyncfsFailed();
                   return -EIO;
                 }
                 return fs_->Syncfs();
               },
               std::move(done));
}

// ---- SimBlockingFs

int SimBlockingFs::Enter() {
  if (dead_) return -EIO;
  ++ops_;
  if (hook_ && hook_(ops_)) {
    dead_ = true;
    return -EIO;
  }
  return 0;
}

int SimBlockingFs::Planned(std::string_view op, std::string_view path) {
  for (auto it = fail_once_.begin(); it != fail_once_.end(); ++it) {
    if (it->op == op && it->path == path) {
      int err = it->err;
      fail_once_.erase(it);
      return -err;
    }
  }
  return 0;
}

int SimBlockingFs::Open(int dirfd, const char* path, int flags, mode_t mode) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("open", path); e < 0) return e;
  if (Fault(faults_.meta_error)) return (flags & O_CREAT) ? -ENOSPC : -EIO;
  return fs_->Open(dirfd, path, flags, mode);
}

int SimBlockingFs::Close(int fd) {
  if (dead_) {
    fs_->Close(fd);
    return -EIO;
  }
  int r = fs_->Close(fd);
  if (r == 0 && Fault(faults_.close_error)) return -EIO;
  return r;
}

ssize_t SimBlockingFs::Pread(int fd, void* buf, size_t len, off_t offset) {
  if (int e = Enter(); e < 0) return e;
  if (Fault(faults_.read_error)) return -EIO;
  return fs_->Pread(fd, buf, len, static_cast<uint64_t>(offset));
}

ssize_t SimBlockingFs::Pwrite(int fd, const void* buf, size_t len,
                              off_t offset) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("pwrite", fs_->FdPath(fd)); e < 0) return e;
  if (Fault(faults_.write_error)) return fs_->rng().Chance(0.5) ? -ENOSPC : -EIO;
  if (len > 1 && Fault(faults_.short_write)) len = 1 + fs_->rng().Below(len - 1);
  return fs_->Pwrite(fd, buf, len, static_cast<uint64_t>(offset));
}

int SimBlockingFs::Fsync(int fd) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("fsync", fs_->FdPath(fd)); e < 0) return e;
  if (Fault(faults_.fsync_error)) {
    fs_->FsyncFailed(fd);
    return -EIO;
  }
  return fs_->Fsync(fd, false);
}

int SimBlockingFs::Fdatasync(int fd) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("fsync", fs_->FdPath(fd)); e < 0) return e;
  if (Fault(faults_.fsync_error)) {
    fs_->FsyncFailed(fd);
    return -EIO;
  }
  return fs_->Fsync(fd, true);
}

int SimBlockingFs::Syncfs(int fd) {
  if (int e = Enter(); e < 0) return e;
  if (fs_->FdPath(fd).empty()) return -EBADF;
  if (Fault(faults_.syncfs_error)) {
    fs_->SyncfsFailed();
    return -EIO;
  }
  return fs_->Syncfs();
}

int SimBlockingFs::Ftruncate(int fd, off_t size) {
  if (int e = Enter(); e < 0) return e;
  if (Fault(faults_.write_error)) return -EIO;
  return fs_->Ftruncate(fd, static_cast<uint64_t>(size));
}

int SimBlockingFs::Fstat(int fd, struct stat* st) {
  if (int e = Enter(); e < 0) return e;
  return fs_->Fstat(fd, st);
}

int SimBlockingFs::Stat(int dirfd, const char* path, struct stat* st,
                        int flags) {
  (void)flags;  // no symlinks in the model
  if (int e = Enter(); e < 0) return e;
  return fs_->Stat(dirfd, path, st);
}

int SimBlockingFs::Mkdir(int dirfd, const char* path, mode_t mode) {
  if (int e = Enter(); e < 0) return e;
  struct stat st;
  // An existing name is found before anything could fail.
  if (fs_->Stat(dirfd, path, &st) == 0) return -EEXIST;
  if (int e = Planned("mkdir", path); e < 0) return e;
  if (Fault(faults_.meta_error)) return -ENOSPC;
  return fs_->Mkdir(dirfd, path, mode);
}

int SimBlockingFs::Rename(int old_dirfd, const char* old_path, int new_dirfd,
                          const char* new_path, unsigned flags) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("rename", old_path); e < 0) return e;
  if (Fault(faults_.meta_error)) return -EIO;
  return fs_->Rename(old_dirfd, old_path, new_dirfd, new_path, flags);
}

int SimBlockingFs::Link(int old_dirfd, const char* old_path, int new_dirfd,
                        const char* new_path, int flags) {
  if (int e = Enter(); e < 0) return e;
  if (Fault(faults_.meta_error)) return -EIO;
  return fs_->Link(old_dirfd, old_path, new_dirfd, new_path, flags);
}

int SimBlockingFs::Unlink(int dirfd, const char* path, int flags) {
  if (int e = Enter(); e < 0) return e;
  if (int e = Planned("unlink", path); e < 0) return e;
  if (Fault(faults_.meta_error)) return -EIO;
  return fs_->Unlink(dirfd, path, flags);
}

int SimBlockingFs::ListDir(
    const char* path,
    absl::FunctionRef<bool(int dirfd, std::string_view name,
                           unsigned char d_type)>
        fn) {
  if (int e = Enter(); e < 0) return e;
  if (Fault(faults_.read_error)) return -EIO;
  std::vector<std::pair<std::string, unsigned char>> entries;
  if (int e = fs_->ReadDir(AT_FDCWD, path, &entries); e < 0) return e;
  int dfd = fs_->Open(AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
  if (dfd < 0) return dfd;
  for (const auto& [name, type] : entries) {
    if (!fn(dfd, name, type)) break;
  }
  fs_->Close(dfd);
  return 0;
}

}  // namespace ringmail::engine::testing
