#include "engine/testing/fake_file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace ringmail::engine::testing {

std::string_view FakeFileIo::OpName(Op op) {
  switch (op) {
    case Op::kOpen: return "open";
    case Op::kWrite: return "write";
    case Op::kRead: return "read";
    case Op::kFsync: return "fsync";
    case Op::kFdatasync: return "fdatasync";
    case Op::kRename: return "rename";
    case Op::kLink: return "link";
    case Op::kUnlink: return "unlink";
    case Op::kMkdir: return "mkdir";
    case Op::kClose: return "close";
  }
  return "?";
}

FakeFileIo::~FakeFileIo() {
  for (const auto& [fd, path] : fd_paths_) ::close(fd);
}

std::string FakeFileIo::PathOf(int fd) const {
  auto it = fd_paths_.find(fd);
  return it == fd_paths_.end() ? std::string() : it->second;
}

std::string FakeFileIo::Resolve(int dirfd, std::string_view path) const {
  if (dirfd == AT_FDCWD || (!path.empty() && path.front() == '/')) {
    return std::string(path);
  }
  return PathOf(dirfd) + "/" + std::string(path);
}

int FakeFileIo::TakeFault(Op op, std::string_view path,
                          std::string_view path2) {
  int result = 0;
  for (auto it = faults_.begin(); it != faults_.end();) {
    bool matches =
        it->op == op &&
        (it->path_substring.empty() ||
         path.find(it->path_substring) != std::string_view::npos ||
         path2.find(it->path_substring) != std::string_view::npos);
    if (!matches) {
      ++it;
      continue;
    }
    if (it->skip > 0) {
      --it->skip;
      ++it;
      continue;
    }
    if (result == 0) {
      result = -it->err;
      if (--it->times <= 0) {
        it = faults_.erase(it);
        continue;
      }
    }
    ++it;
  }
  return result;
}

void FakeFileIo::Fail(Op op, int err, std::string_view path_substring,
                      int skip, int times) {
  faults_.push_back(Fault{op, err, std::string(path_substring),
                          std::max(skip, 0), std::max(times, 1)});
}

void FakeFileIo::Complete(Record record, IoCallback done) {
  queue_.emplace_back(std::move(done), record.result);
  records_.push_back(std::move(record));
}

void FakeFileIo::OpenAt(int dirfd, std::string_view path, int flags,
                        mode_t mode, IoCallback done) {
  Record r{Op::kOpen, -1, Resolve(dirfd, path)};
  if ((flags & O_TMPFILE) == O_TMPFILE) r.path += kTmpfileSuffix;
  r.result = TakeFault(Op::kOpen, r.path, "");
  if (r.result == 0) {
    std::string p(path);
    int fd = ::openat(dirfd, p.c_str(), flags, mode);
    r.result = fd >= 0 ? fd : -errno;
    if (fd >= 0) fd_paths_[fd] = r.path;
  }
  r.fd = r.result;
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::Write(int fd, const void* data, size_t len, uint64_t offset,
                       IoCallback done) {
  Record r{Op::kWrite, fd, PathOf(fd)};
  r.offset = offset;
  r.len = len;
  r.result = TakeFault(Op::kWrite, r.path, "");
  if (r.result == 0) {
    size_t n = max_write_bytes_ > 0 ? std::min(len, max_write_bytes_) : len;
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    r.result = w >= 0 ? static_cast<int>(w) : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::WriteV(int fd, absl::Span<const iovec> parts,
                        uint64_t offset, IoCallback done) {
  size_t total = 0;
  for (const iovec& p : parts) total += p.iov_len;
  Record r{Op::kWrite, fd, PathOf(fd)};
  r.offset = offset;
  r.len = total;
  r.result = TakeFault(Op::kWrite, r.path, "");
  if (r.result == 0) {
    // Cut the list at the short-write cap, possibly inside a part.
    size_t budget = max_write_bytes_ > 0 ? std::min(total, max_write_bytes_)
                                         : total;
    std::vector<iovec> cut;
    for (const iovec& p : parts) {
      if (budget == 0) break;
      size_t n = std::min(p.iov_len, budget);
      cut.push_back({p.iov_base, n});
      budget -= n;
    }
    ssize_t w = ::pwritev(fd, cut.data(), static_cast<int>(cut.size()),
                          static_cast<off_t>(offset));
    r.result = w >= 0 ? static_cast<int>(w) : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::Read(int fd, void* data, size_t len, uint64_t offset,
                      IoCallback done) {
  Record r{Op::kRead, fd, PathOf(fd)};
  r.offset = offset;
  r.len = len;
  r.result = TakeFault(Op::kRead, r.path, "");
  if (r.result == 0) {
    ssize_t n = ::pread(fd, data, len, static_cast<off_t>(offset));
    r.result = n >= 0 ? static_cast<int>(n) : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::Fsync(int fd, bool datasync, IoCallback done) {
  Op op = datasync ? Op::kFdatasync : Op::kFsync;
  Record r{op, fd, PathOf(fd)};
  r.result = TakeFault(op, r.path, "");
  if (r.result == 0) {
    int rc = datasync ? ::fdatasync(fd) : ::fsync(fd);
    r.result = rc == 0 ? 0 : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::RenameAt(int old_dirfd, std::string_view old_path,
                          int new_dirfd, std::string_view new_path,
                          IoCallback done) {
  Record r{Op::kRename, -1, Resolve(old_dirfd, old_path),
           Resolve(new_dirfd, new_path)};
  r.result = TakeFault(Op::kRename, r.path, r.path2);
  if (r.result == 0) {
    std::string a(old_path), b(new_path);
    int rc = ::renameat(old_dirfd, a.c_str(), new_dirfd, b.c_str());
    r.result = rc == 0 ? 0 : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::LinkAt(int old_dirfd, std::string_view old_path,
                        int new_dirfd, std::string_view new_path,
                        int flags, IoCallback done) {
  Record r{Op::kLink, -1, Resolve(old_dirfd, old_path),
           Resolve(new_dirfd, new_path)};
  constexpr std::string_view kProcFd = "/proc/self/fd/";
  int linked_fd = -1;
  if (old_dirfd == AT_FDCWD && old_path.substr(0, kProcFd.size()) == kProcFd) {
    std::string digits(old_path.substr(kProcFd.size()));
    char* end = nullptr;
    long n = strtol(digits.c_str(), &end, 10);
    if (!digits.empty() && *end == '\0' && n >= 0 && n < (1 << 30)) {
      linked_fd = static_cast<int>(n);
      r.fd = linked_fd;
    }
  }
  r.result = TakeFault(Op::kLink, r.path, r.path2);
  if (r.result == 0) {
    std::string a(old_path), b(new_path);
    int rc = ::linkat(old_dirfd, a.c_str(), new_dirfd, b.c_str(), flags);
    r.result = rc == 0 ? 0 : -errno;
  }
  if (r.result == 0 && linked_fd >= 0 && (flags & AT_SYMLINK_FOLLOW) != 0) {
    auto it = fd_paths_.find(linked_fd);
    if (it != fd_paths_.end()) it->second = r.path2;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::UnlinkAt(int dirfd, std::string_view path, int flags,
                          IoCallback done) {
  Record r{Op::kUnlink, -1, Resolve(dirfd, path)};
  r.result = TakeFault(Op::kUnlink, r.path, "");
  if (r.result == 0) {
    std::string p(path);
    int rc = ::unlinkat(dirfd, p.c_str(), flags);
    r.result = rc == 0 ? 0 : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::MkdirAt(int dirfd, std::string_view path, mode_t mode,
                         IoCallback done) {
  Record r{Op::kMkdir, -1, Resolve(dirfd, path)};
  r.result = TakeFault(Op::kMkdir, r.path, "");
  if (r.result == 0) {
    std::string p(path);
    int rc = ::mkdirat(dirfd, p.c_str(), mode);
    r.result = rc == 0 ? 0 : -errno;
  }
  Complete(std::move(r), std::move(done));
}

void FakeFileIo::Close(int fd, IoCallback done) {
  Record r{Op::kClose, fd, PathOf(fd)};
  int fault = TakeFault(Op::kClose, r.path, "");
  // close(2) releases the fd even when it reports an error.
  int rc = ::close(fd);
  r.result = fault != 0 ? fault : (rc == 0 ? 0 : -errno);
  fd_paths_.erase(fd);
  Complete(std::move(r), std::move(done));
}

bool FakeFileIo::RunOne() {
  if (queue_.empty()) return false;
  auto [done, result] = std::move(queue_.front());
  queue_.pop_front();
  done(result);
  return true;
}

size_t FakeFileIo::RunQueued() {
  size_t n = queue_.size();
  for (size_t i = 0; i < n; ++i) RunOne();
  return n;
}

size_t FakeFileIo::RunUntilIdle(size_t max_steps) {
  size_t steps = 0;
  while (RunOne()) {
    if (++steps > max_steps) {
      fprintf(stderr, "FakeFileIo::RunUntilIdle: more than %zu steps\n",
              max_steps);
      abort();
    }
  }
  return steps;
}

std::vector<FakeFileIo::Record> FakeFileIo::RecordsOf(Op op) const {
  std::vector<Record> out;
  for (const Record& r : records_) {
    if (r.op == op) out.push_back(r);
  }
  return out;
}

int FakeFileIo::IndexOf(Op op, std::string_view substring,
                        size_t start) const {
  for (size_t i = start; i < records_.size(); ++i) {
    const Record& r = records_[i];
    if (r.op != op) continue;
    if (r.path.find(substring) != std::string::npos ||
        r.path2.find(substring) != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

size_t FakeFileIo::Count(Op op, std::string_view substring) const {
  size_t n = 0;
  for (const Record& r : records_) {
    if (r.op == op && (r.path.find(substring) != std::string::npos ||
                       r.path2.find(substring) != std::string::npos)) {
      ++n;
    }
  }
  return n;
}

}  // namespace ringmail::engine::testing
