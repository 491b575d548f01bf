// Names of the files and directories of the outbound spool (docs/queue.md):
//
//   <root>/c<N>/tmp/ new/ cur/   Maildir-shaped; queue files are written by
//                                the DeliveryQueue into tmp/, renamed into
//                                new/; cur/ is unused
//   <root>/c<N>/state.log        the core's append-only state log
//   <root>/c<N>/state.log.new    a compaction in progress (never read)
//   <root>/c<N>/corrupt/         unreadable queue files set aside
#ifndef RINGMAIL_STORAGE_QUEUE_SPOOL_LAYOUT_H_
#define RINGMAIL_STORAGE_QUEUE_SPOOL_LAYOUT_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "storage/queue/queue_text.h"

namespace ringmail::storage::queue {

inline constexpr std::string_view kStateLogName = "state.log";
inline constexpr std::string_view kStateLogNewName = "state.log.new";
inline constexpr std::string_view kCorruptDirName = "corrupt";
// Core directories PrepareSpool/ListSpoolCores consider (c0..c4095).
inline constexpr int kMaxSpoolCores = 4096;

// "<root>/c<core>": the Maildir passed as DeliveryTarget::maildir.
inline std::string CoreSpoolDir(std::string_view root, int core) {
  return absl::StrCat(absl::string_view(root.data(), root.size()), "/c", core);
}

// The core number of a directory name "c<N>" (canonical decimal, below
// kMaxSpoolCores), else nullopt.
inline std::optional<int> ParseCoreDirName(std::string_view name) {
  if (name.size() < 2 || name[0] != 'c') return std::nullopt;
  std::optional<uint64_t> n = ParseDecimal(name.substr(1), kMaxSpoolCores - 1);
  if (!n) return std::nullopt;
  return static_cast<int>(*n);
}

}  // namespace ringmail::storage::queue

#endif  // RINGMAIL_STORAGE_QUEUE_SPOOL_LAYOUT_H_
