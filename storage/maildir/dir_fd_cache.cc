#include "storage/maildir/dir_fd_cache.h"

#include <cassert>
#include <string>

#include "storage/maildir/errors.h"

namespace ringmail::storage {

DirFdCache::DirFdCache(size_t capacity)
    : capacity_(capacity < 1 ? 1 : capacity) {}

int DirFdCache::Lookup(std::string_view path) {
  auto it = entries_.find(AbslView(path));
  if (it == entries_.end()) return -1;
  it->second.last_used = ++tick_;
  return it->second.fd;
}

int DirFdCache::Insert(std::string_view path, int fd) {
  assert(fd >= 0);
  assert(!entries_.contains(AbslView(path)));
  int evicted = -1;
  if (entries_.size() >= capacity_) {
    // Linear scan: the capacity is small (tens), and eviction is rare.
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    evicted = oldest->second.fd;
    entries_.erase(oldest);
  }
  entries_.emplace(std::string(path), Entry{fd, ++tick_});
  assert(entries_.size() <= capacity_);
  return evicted;
}

int DirFdCache::Erase(std::string_view path) {
  auto it = entries_.find(AbslView(path));
  if (it == entries_.end()) return -1;
  int fd = it->second.fd;
  entries_.erase(it);
  return fd;
}

std::vector<int> DirFdCache::TakeAll() {
  std::vector<int> fds;
  fds.reserve(entries_.size());
  for (const auto& [path, e] : entries_) fds.push_back(e.fd);
  entries_.clear();
  return fds;
}

}  // namespace ringmail::storage
