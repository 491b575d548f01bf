#include "server/imap/folder_state.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "server/imap/blocking.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/index_store.h"
#include "storage/mailbox/modseq.h"

namespace ringmail::server::imap {
namespace {

// Parsed structures kept per open folder. A structure is a few hundred
// bytes for typical mail, so this bounds the cache to a few MiB.
constexpr size_t kMaxCachedStructures = 4096;

// How long directory events are collected before one sync runs: a client
// moving a batch of files (mutt expunging, procmail delivering) causes a
// burst of events and should cost one rescan, not one per file.
constexpr absl::Duration kWatchSyncDelay = absl::Milliseconds(10);

// The kernel's inotify watch limit is per user and shared with every other
// program; running out is logged once per process, not once per folder.
std::atomic<bool> watch_limit_logged{false};

struct LoadResult {
  absl::StatusOr<storage::FolderScan> scan;
  std::optional<storage::OpenedIndex> opened;  // only on the first load
  absl::StatusOr<storage::MaildirKeywords> keywords;
};

}  // namespace

// The index writes of one FolderState, run one at a time in the order
// given so the closing write comes last. Shared with the running job, so
// it outlives the FolderState.
struct IndexWriteQueue : std::enable_shared_from_this<IndexWriteQueue> {
  IndexWriteQueue(engine::Loop* l, engine::HelperPool* p, std::string f)
      : loop(l), pool(p), folder(std::move(f)) {}

  void Push(absl::AnyInvocable<absl::Status()> job) {
    jobs.push_back(std::move(job));
    if (!running) RunNext();
  }

  void RunNext() {
    if (next == jobs.size()) {
      // Drained: give the memory back (an idle folder holds none).
      std::vector<absl::AnyInvocable<absl::Status()>>().swap(jobs);
      next = 0;
      running = false;
      return;
    }
    running = true;
    absl::AnyInvocable<absl::Status()> job = std::move(jobs[next++]);
    if (next >= 64 && next * 2 >= jobs.size()) {
      // A queue that never drains must not keep its moved-from head.
      jobs.erase(jobs.begin(), jobs.begin() + static_cast<ptrdiff_t>(next));
      next = 0;
    }
    RunBlocking<absl::Status>(pool, loop, std::move(job),
                              [self = shared_from_this()](absl::Status s) {
                                if (!s.ok()) {
                                  LOG_WARNING("imap: saving index of ", self->folder,
                                              ": ", s.ToString());
                                }
                                self->RunNext();
                              });
  }

  engine::Loop* loop;
  engine::HelperPool* pool;
  std::string folder;
  // Pending jobs from `next` on. A vector, not a deque: libstdc++'s deque
  // allocates ~576 bytes on construction, and every open folder has a queue.
  std::vector<absl::AnyInvocable<absl::Status()>> jobs;
  size_t next = 0;
  bool running = false;
};

FolderState::FolderState(engine::Loop* loop, engine::HelperPool* pool,
                         engine::FsWatcher* watcher, std::string name,
                         std::string path, bool guest)
    : loop_(loop),
      pool_(pool),
      watcher_(watcher),
      name_(std::move(name)),
      path_(std::move(path)),
      guest_(guest),
      writes_(std::make_shared<IndexWriteQueue>(loop, pool, path_)) {}

FolderState::~FolderState() {
  *alive_ = false;
  assert(views_.empty());
  StopWatching();
  CloseIndex();
  // Normally none are left (MailUser::Forget waits for Forgettable); when
  // the whole MailUser goes, a waiter still gets its answer, never silence.
  for (auto* waiters : {&running_waiters_, &next_waiters_}) {
    for (auto& w : *waiters) {
      loop_->Defer([w = std::move(w)]() mutable { w(absl::AbortedError("folder closed")); });
    }
  }
}

void FolderState::CloseIndex() {
  // A guest never writes the owner's index (guest mode, folder_state.h).
  if (!loaded_ || guest_) return;
  if (owner_token_.empty()) {
    if (!index_.dirty()) return;
    writes_->Push([path = path_, bytes = index_.Serialize()]() {
      return storage::WriteIndexFileBlocking(path, bytes);
    });
    return;
  }
  // Untouched since a clean open: the file on disk is exactly what was
  // loaded, so handing the owner file back to the previous token makes
  // the next open clean without rewriting the index.
  const bool untouched = opened_clean_ && !index_.dirty() && !index_written_;
  std::string bytes = untouched ? std::string() : index_.Serialize(owner_token_);
  writes_->Push([path = path_, token = owner_token_, bytes = std::move(bytes),
                 previous = previous_owner_token_]() {
    return storage::CloseIndexBlocking(path, token, bytes, previous);
  });
}

void FolderState::AddView(FolderView* v) {
  views_.push_back(v);
  if (v->live() && ++live_views_ == 1) StartWatching();
}

void FolderState::RemoveView(FolderView* v) {
  views_.erase(std::remove(views_.begin(), views_.end(), v), views_.end());
  if (v->live() && --live_views_ == 0) StopWatching();
}

void FolderState::StartWatching() {
  if (watcher_ == nullptr || !watch_ids_.empty()) return;
  // tmp/ is not watched: a file there is not a message yet (Maildir
  // delivery renames it into new/ when complete).
  for (const char* sub : {"/new", "/cur"}) {
    auto id = watcher_->Add(absl::StrCat(path_, sub),
                            [this](engine::FsWatcher::WatchId) { OnDirChanged(); });
    if (id.ok()) {
      watch_ids_.push_back(*id);
    } else if (absl::IsResourceExhausted(id.status())) {
      if (!watch_limit_logged.exchange(true)) {
        LOG_WARNING("imap: ", id.status().message(),
                    "; folders beyond the limit see outside changes only on "
                    "the next command (raise fs.inotify.max_user_watches)");
      }
    } else if (!absl::IsNotFound(id.status())) {
      // NotFound: the folder is not there (yet); its Sync reports that.
      LOG_WARNING("imap: ", id.status().message());
    }
  }
}

void FolderState::StopWatching() {
  for (engine::FsWatcher::WatchId id : watch_ids_) watcher_->Remove(id);
  watch_ids_.clear();
  if (watch_sync_timer_ != 0) {
    loop_->CancelTimer(watch_sync_timer_);
    watch_sync_timer_ = 0;
  }
}

void FolderState::OnDirChanged() {
  // Our own renames and unlinks come back here too; the sync they cause
  // finds nothing new. A running sync absorbs this one (Sync() merges).
  if (watch_sync_timer_ != 0 || views_.empty()) return;
  watch_sync_timer_ = loop_->AddTimer(kWatchSyncDelay, [this] {
    // The timer is cancelled when the watches go (StopWatching).
    watch_sync_timer_ = 0;
    if (!views_.empty()) Sync([](absl::Status) {});
  });
}

void FolderState::Sync(absl::AnyInvocable<void(absl::Status)> done) {
  if (syncing_) {
    next_waiters_.push_back(std::move(done));
    return;
  }
  running_waiters_.push_back(std::move(done));
  StartSync();
}

void FolderState::StartSync() {
  syncing_ = true;
  // A guest does not become the index's owner (guest mode).
  bool first = !loaded_ && !guest_;
  std::string path = path_;
  storage::SyncLimits limits;
  uint64_t changes_at_start = local_changes_;
  uint64_t keywords_at_start = keywords_generation_;
  RunBlocking<LoadResult>(
      pool_, loop_,
      [path, first, limits]() {
        LoadResult r;
        r.keywords = storage::ReadKeywordsFile(path);
        r.scan = storage::ScanFolder(path, limits);
        // Only an existing folder gets an owner file.
        if (first && r.scan.ok()) r.opened = storage::OpenIndexBlocking(path, limits);
        return r;
      },
      [this, alive = alive_, limits, changes_at_start, keywords_at_start](LoadResult r) mutable {
        if (!*alive) return;
        // Our own rename/unlink finished while the helper listed the
        // directory: the listing may predate it. Look again (bounded, so a
        // folder under constant change still syncs).
        if (local_changes_ != changes_at_start && stale_rescans_ < 3 && loaded_) {
          ++stale_rescans_;
          StartSync();
          return;
        }
        stale_rescans_ = 0;
        if (!r.scan.ok()) {
          if (absl::IsNotFound(r.scan.status())) {
            FinishSync(absl::NotFoundError("no such folder"));
            return;
          }
          LOG_WARNING("imap: scan of ", path_, " failed: ", r.scan.status().ToString());
          FinishSync(absl::UnavailableError("folder unavailable"));
          return;
        }
        if (r.opened) AdoptOpenedIndex(std::move(*r.opened), r.scan->uidlist.has_value());
        // A STORE or APPEND installed a newer table while the helper read
        // the file: keep it (the next sync reads the file again).
        if (r.keywords.ok() && keywords_generation_ == keywords_at_start) {
          keywords_ = std::move(*r.keywords);
        }
        loaded_ = true;
        storage::ApplyScanResult applied = index_.ApplyScan(*r.scan);
        if (applied.uid_validity_changed) {
          // Views hold UIDs of the old validity: drop them all.
          for (FolderView* v : views_) {
            for (uint32_t seq = v->size_with_unannounced(); seq >= 1; --seq) {
              v->OnExpunge(v->UidAt(seq));
            }
          }
        }
        for (uint32_t uid : applied.expunged_uids) PublishExpunge(uid, nullptr);
        for (uint32_t uid : applied.flag_changed_uids) PublishFlags(uid, nullptr);
        // An empty folder never seen before still needs a UIDVALIDITY:
        // resolving creates dovecot-uidlist, as Dovecot does on first use.
        if (applied.pending.empty() && index_.uid_validity() != 0) {
          FinishSync(absl::OkStatus());
          return;
        }
        uint32_t validity = index_.uid_validity();
        RunBlocking<absl::StatusOr<storage::ResolveResult>>(
            pool_, loop_,
            [path = path_, pending = std::move(applied.pending), validity,
             limits]() mutable {
              return storage::ResolveNewMessagesBlocking(
                  path, std::move(pending), validity, absl::Now(), limits);
            },
            [this, alive = alive_](absl::StatusOr<storage::ResolveResult> res) {
              if (!*alive) return;
              if (!res.ok()) {
                LOG_WARNING("imap: uidlist update of ", path_, " failed: ",
                            res.status().ToString());
                FinishSync(absl::UnavailableError("folder unavailable"));
                return;
              }
              auto added = index_.ApplyResolved(*res);
              if (!added.ok()) {
                // UIDVALIDITY changed under us: start over from scratch.
                LOG_WARNING("imap: ", path_, ": ", added.status().ToString(),
                            "; rebuilding the index");
                // Mod-sequences still never go down.
                const uint64_t highest = index_.highest_modseq();
                index_ = storage::FolderIndex();
                index_.RaiseModSeqFloor(highest);
                for (FolderView* v : views_) {
                  for (uint32_t seq = v->size_with_unannounced(); seq >= 1; --seq) {
                    v->OnExpunge(v->UidAt(seq));
                  }
                }
                StartSync();
                return;
              }
              PublishNew(*added);
              FinishSync(absl::OkStatus());
            });
      });
}

void FolderState::FinishSync(absl::Status status) {
  syncing_ = false;
  auto waiters = std::move(running_waiters_);
  running_waiters_.clear();
  if (!next_waiters_.empty()) {
    running_waiters_ = std::move(next_waiters_);
    next_waiters_.clear();
    StartSync();
  }
  for (auto& w : waiters) w(status);
}

void FolderState::PublishNew(const std::vector<uint32_t>& uids) {
  for (uint32_t uid : uids) {
    auto pos = index_.PositionOfUid(uid);
    // RFC 3501 §2.3.2: \Recent belongs to one session only: the first
    // read-write view claims it. With none, it stays unclaimed for the
    // next SELECT (and STATUS RECENT counts it); EXAMINE views see it.
    const FolderView* claimer = nullptr;
    if (pos && index_.at(*pos).recent) {
      for (FolderView* v : views_) {
        if (v->ClaimsRecent()) {
          claimer = v;
          index_.ClaimRecent(*pos);
          break;
        }
      }
    }
    const bool unclaimed = pos && index_.at(*pos).recent;
    for (FolderView* v : views_) {
      v->OnNew(uid, v == claimer || (unclaimed && v->live()));
    }
  }
}

void FolderState::PublishFlags(uint32_t uid, const FolderView* origin) {
  for (FolderView* v : views_) {
    if (v != origin) v->OnFlags(uid);
  }
}

void FolderState::PublishExpunge(uint32_t uid, const FolderView* origin) {
  structures_.erase(uid);
  for (FolderView* v : views_) {
    if (v != origin) v->OnExpunge(uid);
  }
}

const mime::Structure* FolderState::CachedStructure(uint32_t uid) const {
  auto it = structures_.find(uid);
  return it == structures_.end() ? nullptr : &it->second;
}

void FolderState::CacheStructure(uint32_t uid, mime::Structure s) {
  if (structures_.contains(uid)) return;
  while (structures_.size() >= kMaxCachedStructures && !structure_order_.empty()) {
    structures_.erase(structure_order_.front());
    structure_order_.pop_front();
  }
  structures_.emplace(uid, std::move(s));
  structure_order_.push_back(uid);
}

void FolderState::SaveIfDirty() {
  if (!loaded_ || guest_ || !index_.dirty()) return;
  // No close token: until the closing write, a load treats this file as
  // possibly stale (index_store.h).
  std::string bytes = index_.Serialize();
  index_.MarkClean();
  index_written_ = true;
  writes_->Push([path = path_, token = owner_token_, bytes = std::move(bytes)]() {
    return storage::WriteOwnedIndexBlocking(path, token, bytes);
  });
}

void FolderState::AdoptOpenedIndex(storage::OpenedIndex opened, bool has_uidlist) {
  if (!opened.warning.empty()) LOG_WARNING("imap: index of ", path_, ": ", opened.warning);
  if (opened.index) index_ = std::move(*opened.index);
  owner_token_ = std::move(opened.token);
  previous_owner_token_ = std::move(opened.previous_token);
  opened_clean_ = opened.clean;
  // Clients may have seen mod-sequences above what the file holds (the
  // process died before its closing write, or the file is gone): jump
  // above anything handed out before, ahead of the first scan so the
  // changes it finds are numbered above it too. A folder without a
  // dovecot-uidlist gets a new UIDVALIDITY, so no old value matters.
  if (!opened.clean && has_uidlist) {
    index_.RaiseModSeqFloor(storage::ModSeqTimeFloor(absl::Now()));
  }
}

}  // namespace ringmail::server::imap
