#include "engine/dns_cache.h"

#include <cassert>

namespace ringmail::engine::dns {

const Answer* Cache::Find(const Key& key, absl::Time now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.answer.expires <= now) {
    Erase(it);
    return nullptr;
  }
  return &it->second.answer;
}

void Cache::Store(const Key& key, Answer answer, absl::Time now) {
  if (max_entries_ == 0 || answer.expires <= now) return;
  if (auto it = entries_.find(key); it != entries_.end()) Erase(it);
  while (entries_.size() >= max_entries_) {
    auto oldest = entries_.find(order_.front());
    assert(oldest != entries_.end());
    Erase(oldest);
  }
  order_.push_back(key);
  entries_.emplace(key, Entry{std::move(answer), std::prev(order_.end())});
  assert(entries_.size() == order_.size());
}

void Cache::Erase(absl::flat_hash_map<Key, Entry>::iterator it) {
  order_.erase(it->second.order);
  entries_.erase(it);
}

}  // namespace ringmail::engine::dns
