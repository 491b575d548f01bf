// The answer cache behind engine/dns: (name, type) -> answer until it
// expires, bounded in entries. Pure: time is passed in.
#ifndef RINGMAIL_ENGINE_DNS_CACHE_H_
#define RINGMAIL_ENGINE_DNS_CACHE_H_

#include <cstddef>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/dns_reply.h"
#include "engine/tcp.h"

namespace ringmail::engine::dns {

// One lookup's outcome, whatever the record type (only the matching vector
// is filled).
struct Answer {
  absl::Status status;
  std::vector<MxRecord> mx;
  std::vector<SocketAddress> addresses;
  absl::Time expires;
};

struct Key {
  std::string name;  // normalized (NormalizeName)
  RecordType type;
  bool operator==(const Key&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const Key& k) {
    return H::combine(std::move(h), k.name, static_cast<uint16_t>(k.type));
  }
};

class Cache {
 public:
  explicit Cache(size_t max_entries) : max_entries_(max_entries) {}

  // The answer for `key` if it has not expired at `now`, else nullptr (a
  // stale entry is dropped). The pointer is valid until the next Store.
  const Answer* Find(const Key& key, absl::Time now);
  // Keeps `answer` until answer.expires; replaces an entry for the same key.
  // Evicts the oldest-stored entries to stay within max_entries. An answer
  // already expired at `now`, or a zero-sized cache, stores nothing.
  void Store(const Key& key, Answer answer, absl::Time now);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Answer answer;
    std::list<Key>::iterator order;
  };
  void Erase(absl::flat_hash_map<Key, Entry>::iterator it);

  const size_t max_entries_;
  absl::flat_hash_map<Key, Entry> entries_;
  std::list<Key> order_;  // oldest first
};

}  // namespace ringmail::engine::dns

#endif  // RINGMAIL_ENGINE_DNS_CACHE_H_
