// A bounded LRU map from directory path to an open directory fd, used to
// fsync new/ directories without reopening them for every batch.
//
// Pure bookkeeping: it never opens or closes anything. The owner opens fds,
// inserts them, and closes whatever Insert() evicts and TakeAll() returns.
// Single-threaded.
#ifndef RINGMAIL_STORAGE_MAILDIR_DIR_FD_CACHE_H_
#define RINGMAIL_STORAGE_MAILDIR_DIR_FD_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace ringmail::storage {

class DirFdCache {
 public:
  // `capacity` >= 1 entries.
  explicit DirFdCache(size_t capacity);

  // The cached fd for `path` (marking it most recently used), or -1.
  int Lookup(std::string_view path);

  // Caches `fd` for `path` (which must not be cached yet). Returns the fd
  // of the least recently used entry if one had to be evicted (the caller
  // closes it), else -1.
  int Insert(std::string_view path, int fd);

  // Removes `path`; returns its fd (caller closes) or -1 if not cached.
  int Erase(std::string_view path);

  // Empties the cache; the caller closes the returned fds.
  std::vector<int> TakeAll();

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    int fd;
    uint64_t last_used;
  };
  size_t capacity_;
  uint64_t tick_ = 0;
  absl::flat_hash_map<std::string, Entry> entries_;
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_DIR_FD_CACHE_H_
