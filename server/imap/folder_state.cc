#include "server/imap/folder_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <vector>

#include "absl/container/flat_hash_map.h"
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

// Messages added by one sync above which the index is saved at once: the
// save maps the new file and frees the in-memory copies of the new
// messages' names, dates and sizes (FolderIndex::Rebase), which a first
// open of a large folder would otherwise hold (~130 bytes a message)
// until the last view closes.
constexpr size_t kSaveAfterAdded = 10'000;

// New messages from which a first open builds the index on the helper
// (ApplyScanned): below it the inserts take less than a millisecond.
constexpr size_t kBuildOnHelperMin = 10'000;

// Syncs that take longer are logged with what they listed.
constexpr absl::Duration kSlowSyncLog = absl::Seconds(1);

// FolderJobQueues by folder path, per core thread: a FolderState that
// starts while the previous one of the same folder is still closing joins
// its queue. Expired entries are swept when the map has doubled.
struct QueueRegistry {
  absl::flat_hash_map<std::string, std::weak_ptr<FolderJobQueue>> by_path;
  size_t swept_at = 64;
};
thread_local QueueRegistry queue_registry;

bool IsDirBlocking(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

// What the resolve step hands back: the resolver's result to apply on the
// core, or (for a first open done on the helper) the index it was applied
// to there.
struct FolderState::Resolved {
  absl::Status status;  // the resolver failed
  std::optional<storage::ResolveResult> result;
  std::optional<storage::FolderIndex> index;
  absl::StatusOr<std::vector<uint32_t>> added = std::vector<uint32_t>();
  storage::DirStamp uidlist_stamp;
};

struct FolderState::LoadResult {
  absl::StatusOr<storage::FolderScan> scan;
  std::optional<storage::OpenedIndex> opened;  // only on the first load
  std::string claim_token;                     // only on the first load
  absl::StatusOr<storage::MaildirKeywords> keywords;
};

// The index file jobs of one folder on one core (open, claim, saves, the
// close), run one at a time in the order given so the closing write comes
// last and a later lifetime's open after it. Shared with the running job
// and with a later FolderState of the same folder, so it outlives the
// FolderState that made it.
class FolderJobQueue : public std::enable_shared_from_this<FolderJobQueue> {
 public:
  FolderJobQueue(engine::Loop* l, engine::HelperPool* p, std::string f)
      : loop_(l), pool_(p), folder_(std::move(f)) {}

  static std::shared_ptr<FolderJobQueue> For(engine::Loop* loop, engine::HelperPool* pool,
                                             const std::string& folder) {
    QueueRegistry& reg = queue_registry;
    auto& slot = reg.by_path[folder];
    if (auto q = slot.lock()) return q;
    auto q = std::make_shared<FolderJobQueue>(loop, pool, folder);
    slot = q;
    if (reg.by_path.size() >= 2 * reg.swept_at) {
      absl::erase_if(reg.by_path, [](const auto& kv) { return kv.second.expired(); });
      reg.swept_at = std::max<size_t>(64, reg.by_path.size());
    }
    return q;
  }

  // Runs `work` on a helper after every job pushed before it, then
  // `done(result)` on the loop.
  template <typename T>
  void Run(absl::AnyInvocable<T()> work, absl::AnyInvocable<void(T)> done) {
    // A waiting job does not own the queue (that would be a cycle, leaked
    // when the process stops with jobs waiting); the job in flight does.
    jobs_.push_back([work = std::move(work), done = std::move(done)](
                        std::shared_ptr<FolderJobQueue> self) mutable {
      RunBlocking<T>(self->pool_, self->loop_, std::move(work),
                     [self, done = std::move(done)](T result) mutable {
                       done(std::move(result));
                       self->RunNext();
                     });
    });
    if (!running_) RunNext();
  }

 private:
  void RunNext() {
    if (next_ == jobs_.size()) {
      // Drained: give the memory back (an idle folder holds none).
      std::vector<absl::AnyInvocable<void(std::shared_ptr<FolderJobQueue>)>>().swap(jobs_);
      next_ = 0;
      running_ = false;
      return;
    }
    running_ = true;
    absl::AnyInvocable<void(std::shared_ptr<FolderJobQueue>)> job = std::move(jobs_[next_++]);
    if (next_ >= 64 && next_ * 2 >= jobs_.size()) {
      // A queue that never drains must not keep its moved-from head.
      jobs_.erase(jobs_.begin(), jobs_.begin() + static_cast<ptrdiff_t>(next_));
      next_ = 0;
    }
    job(shared_from_this());
  }

  engine::Loop* loop_;
  engine::HelperPool* pool_;
  std::string folder_;
  // Pending jobs from `next_` on. A vector, not a deque: libstdc++'s deque
  // allocates ~576 bytes on construction, and every open folder has a queue.
  std::vector<absl::AnyInvocable<void(std::shared_ptr<FolderJobQueue>)>> jobs_;
  size_t next_ = 0;
  bool running_ = false;
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
      jobs_(guest_ ? std::make_shared<FolderJobQueue>(loop, pool, path_)
                   : FolderJobQueue::For(loop, pool, path_)) {}

FolderState::~FolderState() {
  gate_.Close();
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
  // Claim waiters check their session (gone by now) and only let go of
  // what they hold; never dropped unrun, which would leak a command's
  // self-referencing step.
  for (auto& w : claim_waiters_) loop_->Defer(std::move(w));
}

void FolderState::CloseIndex() {
  // A guest never writes the owner's index (guest mode, folder_state.h);
  // an index away on a helper (a first open in progress) is not here to
  // write, and the open starts over next time.
  if (!loaded_ || guest_ || index_away_) return;
  // A lifetime that claimed writes its close token even when nothing
  // changed since its last save (that save carried none); one that never
  // claimed writes only what changed.
  if (!claimed_ && !index_.dirty()) return;
  WriteIndex(std::move(index_).TakeSaveImage(), /*closing=*/true);
}

void FolderState::WriteIndex(storage::IndexSave save, bool closing) {
  // index_store.h: the owner token this lifetime writes under, and the
  // close token that makes the file clean for the next open.
  std::string owner = claimed_ ? claim_token_ : token_;
  std::string close;
  if (claimed_) {
    if (closing) close = claim_token_;
  } else if (!claim_failed_) {
    close = token_;
  }
  const uint64_t generation = save.generation;
  jobs_->Run<absl::StatusOr<std::shared_ptr<const storage::IndexImage>>>(
      [path = path_, persistent = persistent_, owner = std::move(owner),
       close = std::move(close), save = std::move(save)]() {
        return storage::WriteOwnedIndexBlocking(path, persistent, owner, close, save);
      },
      // The queue outlives this object (the save at close completes after
      // it), so the failure is logged with a copy of the path.
      [this, alive = gate_.token(), generation, path = path_](
          absl::StatusOr<std::shared_ptr<const storage::IndexImage>> img) {
        if (!img.ok()) {
          LOG_WARNING("imap: saving index of ", path, ": ", img.status().ToString());
          return;
        }
        // Nothing changed since the save: read the cold fields from the
        // file just written and free their copies.
        if (alive && *img) index_.Rebase(*std::move(img), generation);
      });
}

void FolderState::WithClaim(absl::AnyInvocable<void()> cont) {
  if (!NeedsClaim()) return cont();
  claim_waiters_.push_back(std::move(cont));
  if (claiming_) return;
  claiming_ = true;
  struct Outcome {
    storage::ClaimResult result;
    std::string error;
  };
  jobs_->Run<Outcome>(
      [path = path_, token = token_, new_token = claim_token_]() {
        Outcome o;
        o.result = storage::ClaimIndexBlocking(path, token, new_token, &o.error);
        return o;
      },
      [this, alive = gate_.token()](Outcome o) {
        if (!alive) return;
        claiming_ = false;
        switch (o.result) {
          case storage::ClaimResult::kClaimed:
            claimed_ = true;
            break;
          case storage::ClaimResult::kLost:
            // Another lifetime claimed the folder since our open and may
            // have handed out mod-sequences above ours: jump past them.
            // Our writes are dropped from now on (not the owner).
            LOG_WARNING("imap: index of ", path_, " was claimed by another owner");
            index_.RaiseModSeqFloor(storage::ModSeqTimeFloor(loop_->now()));
            claim_failed_ = true;
            break;
          case storage::ClaimResult::kFailed:
            // A crash could go unnoticed: never mark the file clean.
            LOG_WARNING("imap: claiming index of ", path_, ": ", o.error,
                        "; mod-sequences of this folder are not crash-safe until it reopens");
            claim_failed_ = true;
            break;
        }
        auto waiters = std::move(claim_waiters_);
        claim_waiters_.clear();
        for (auto& w : waiters) w();
      });
}

void FolderState::AddView(FolderView* v) {
  views_.push_back(v);
  if (v->live() && ++live_views_ == 1) StartWatching();
}

void FolderState::RemoveView(FolderView* v) {
  views_.erase(std::remove(views_.begin(), views_.end(), v), views_.end());
  if (v->live() && --live_views_ == 0) StopWatching();
  if (views_.empty()) {
    // Nobody reads the folder now: what the sessions read of the mapped
    // index leaves the process (the page cache keeps it; a FolderState
    // nobody reads holds its columns only, docs/mailbox-index.md).
    if (std::shared_ptr<const storage::IndexImage> image = index_.image()) {
      RunBlocking<bool>(
          pool_, loop_, [image]() {
            image->ReleasePages();
            return true;
          },
          [](bool) {});
    }
  }
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
  sync_started_ = loop_->steady_now();
  sync_listed_ = 0;
  // A guest does not become the index's owner (guest mode).
  const bool first = !loaded_ && !guest_;
  storage::SyncLimits limits;
  const uint64_t changes_at_start = local_changes_;
  const uint64_t keywords_at_start = keywords_generation_;
  absl::AnyInvocable<LoadResult()> work = [path = path_, first, hints = index_.hints(),
                                           limits]() {
    LoadResult r;
    r.keywords = storage::ReadKeywordsFile(path);
    storage::ScanHints h = hints;
    if (first) {
      // Only an existing folder gets an owner file.
      if (!IsDirBlocking(path + "/cur") || !IsDirBlocking(path + "/new")) {
        r.scan = absl::NotFoundError("no such folder");
        return r;
      }
      r.opened = storage::OpenIndexBlocking(path, limits);
      if (r.opened->index) h = r.opened->index->hints();
      r.claim_token = storage::NewUidlistGuid();
    }
    // Not the loop's clock: the same-second rule compares this with the
    // kernel's file timestamps, so it must be the kernel's coarse clock read
    // here, after the hop (dir_stamp.h), never a fake or an earlier reading.
    r.scan = storage::ScanFolder(path, h, storage::CoarseNow(), limits);
    return r;
  };
  absl::AnyInvocable<void(LoadResult)> done =
      [this, alive = gate_.token(), changes_at_start, keywords_at_start](LoadResult r) mutable {
        if (!alive) return;
        OnScanned(std::move(r), changes_at_start, keywords_at_start);
      };
  // The first load opens the index file: after whatever a previous
  // lifetime of this folder still has queued (its closing write).
  if (first) {
    jobs_->Run<LoadResult>(std::move(work), std::move(done));
  } else {
    RunBlocking<LoadResult>(pool_, loop_, std::move(work), std::move(done));
  }
}

void FolderState::OnScanned(LoadResult r, uint64_t changes_at_start,
                            uint64_t keywords_at_start) {
  // Our own rename/unlink finished while the helper listed the directory:
  // the listing may predate it. Look again (bounded, so a folder under
  // constant change still syncs).
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
  if (r.opened) {
    claim_token_ = std::move(r.claim_token);
    AdoptOpenedIndex(std::move(*r.opened), r.scan->uidlist_exists());
  }
  // A STORE or APPEND installed a newer table while the helper read
  // the file: keep it (the next sync reads the file again).
  if (r.keywords.ok() && keywords_generation_ == keywords_at_start) {
    keywords_ = std::move(*r.keywords);
  }
  loaded_ = true;
  sync_scanned_ = loop_->steady_now();
  sync_listed_ = r.scan->files.size();
  // What a listing finds takes mod-sequences: claim the index first.
  if ((r.scan->listed_new || r.scan->listed_cur) && NeedsClaim()) {
    WithClaim([this, alive = gate_.token(), scan = std::move(*r.scan)]() mutable {
      if (alive) ApplyScanned(std::move(scan));
    });
    return;
  }
  ApplyScanned(std::move(*r.scan));
}

void FolderState::ApplyScanned(storage::FolderScan scan) {
  storage::ApplyScanResult applied = index_.ApplyScan(scan);
  if (applied.uid_validity_changed) {
    // Views hold UIDs of the old validity: drop them all.
    for (FolderView* v : views_) {
      for (uint32_t seq = v->exists(); seq >= 1; --seq) v->OnExpunge(v->UidAt(seq));
    }
  }
  for (uint32_t uid : applied.expunged_uids) PublishExpunge(uid, nullptr);
  for (uint32_t uid : applied.flag_changed_uids) PublishFlags(uid, nullptr);
  // Recorded once everything the listing found is applied (a failed
  // resolve must not leave stamps that hide unresolved names).
  scan.files.clear();
  scan.files.shrink_to_fit();
  // An empty folder never seen before still needs a UIDVALIDITY:
  // resolving creates dovecot-uidlist, as Dovecot does on first use.
  if (applied.pending.empty() && index_.uid_validity() != 0) {
    index_.CommitStamps(scan);
    FinishSync(absl::OkStatus());
    return;
  }
  const uint32_t validity = index_.uid_validity();
  // A first open of a large folder adds every message: done on the helper
  // with the (empty) index moved there, so the core does not spend
  // hundreds of milliseconds on a million inserts. Only while no view
  // exists (nobody can look at the index meanwhile); `index_away_` keeps
  // the destructor from writing the empty stand-in.
  const bool on_helper = index_.size() == 0 && views_.empty() &&
                         applied.pending.size() >= kBuildOnHelperMin;
  std::optional<storage::FolderIndex> away;
  if (on_helper) {
    away = std::move(index_);
    index_ = storage::FolderIndex();
    index_away_ = true;
  }
  RunBlocking<Resolved>(
      pool_, loop_,
      // The core's time, taken before the hop (the helper has no loop): the
      // UIDVALIDITY of a new uidlist, and the check time of the uidlist's
      // stamp: on the real clock it is earlier than the write, which can
      // only make the stamp look unsettled (one more listing), never
      // settled too soon.
      [path = path_, pending = std::move(applied.pending), validity, away = std::move(away),
       limits = storage::SyncLimits(), now = loop_->now()]() mutable {
        Resolved r;
        absl::StatusOr<storage::ResolveResult> res = storage::ResolveNewMessagesBlocking(
            path, std::move(pending), validity, now, limits);
        if (!res.ok()) {
          r.status = res.status();
        } else {
          r.uidlist_stamp = res->uidlist_stamp;
          if (away) r.added = away->ApplyResolved(*std::move(res));
          else r.result = *std::move(res);
        }
        r.index = std::move(away);
        return r;
      },
      [this, alive = gate_.token(), stamps = std::move(scan)](Resolved r) mutable {
        if (!alive) return;
        if (r.index) {
          index_ = *std::move(r.index);
          index_away_ = false;
        }
        if (!r.status.ok()) {
          LOG_WARNING("imap: uidlist update of ", path_, " failed: ", r.status.ToString());
          FinishSync(absl::UnavailableError("folder unavailable"));
          return;
        }
        if (r.result) r.added = index_.ApplyResolved(*std::move(r.result));
        if (!r.added.ok()) {
          // UIDVALIDITY changed under us: start over from scratch.
          LOG_WARNING("imap: ", path_, ": ", r.added.status().ToString(),
                      "; rebuilding the index");
          Rebuild(/*in_sync=*/true);
          return;
        }
        storage::ResolveResult stamp_of;  // only its uidlist stamp, for CommitStamps
        stamp_of.uidlist_stamp = r.uidlist_stamp;
        index_.CommitStamps(stamps, &stamp_of);
        PublishNew(*r.added);
        if (r.added->size() >= kSaveAfterAdded) SaveIfDirty();
        FinishSync(absl::OkStatus());
      });
}

void FolderState::Rebuild(bool in_sync) {
  // Mod-sequences still never go down.
  const uint64_t highest = index_.highest_modseq();
  index_ = storage::FolderIndex();
  index_.RaiseModSeqFloor(highest);
  for (FolderView* v : views_) {
    for (uint32_t seq = v->exists(); seq >= 1; --seq) v->OnExpunge(v->UidAt(seq));
  }
  if (in_sync) return StartSync();
  // A sync in flight scanned against the old index: counted as a local
  // change, its result is dropped and the folder scanned again, in full
  // (the empty index has no stamps).
  ++local_changes_;
  Sync([](absl::Status) {});
}

void FolderState::FinishSync(absl::Status status) {
  syncing_ = false;
  // Slow syncs (large folders listed, first opens) are worth a line in the
  // log: what was listed and where the time went.
  const absl::Duration took = loop_->steady_now() - sync_started_;
  if (took >= kSlowSyncLog) {
    LOG_INFO("imap: sync of ", path_, " took ", absl::ToInt64Milliseconds(took), " ms (",
             index_.size(), " messages, ", sync_listed_, " names listed; scan done after ",
             absl::ToInt64Milliseconds(sync_scanned_ - sync_started_), " ms)");
  }
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
    if (pos && index_.recent(*pos)) {
      for (FolderView* v : views_) {
        if (v->ClaimsRecent()) {
          claimer = v;
          index_.ClaimRecent(*pos);
          break;
        }
      }
    }
    const bool unclaimed = pos && index_.recent(*pos);
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
  if (!loaded_ || guest_ || index_away_ || !index_.dirty()) return;
  storage::IndexSave save = index_.SaveImage();
  index_.MarkClean();
  WriteIndex(std::move(save), /*closing=*/false);
}

void FolderState::AdoptOpenedIndex(storage::OpenedIndex opened, bool has_uidlist) {
  if (!opened.warning.empty()) LOG_WARNING("imap: index of ", path_, ": ", opened.warning);
  if (opened.index) index_ = std::move(*opened.index);
  token_ = std::move(opened.token);
  persistent_ = opened.persistent;
  // Clients may have seen mod-sequences above what the file holds (the
  // process died before its closing write, or the file is gone): jump
  // above anything handed out before, ahead of the first scan so the
  // changes it finds are numbered above it too. A folder without a
  // dovecot-uidlist gets a new UIDVALIDITY, so no old value matters.
  if (!opened.clean && has_uidlist) {
    index_.RaiseModSeqFloor(storage::ModSeqTimeFloor(loop_->now()));
  }
  // The open checked only the columns it copied; the rest of the file is
  // checked in the background. Until then a damaged name or size could be
  // served (every access is bounds-checked); after, the folder rebuilds.
  std::shared_ptr<const storage::IndexImage> image = index_.image();
  if (image && !image->ColdVerified()) {
    RunBlocking<absl::Status>(
        pool_, loop_, [image]() { return image->VerifyColdBlocking(); },
        [this, alive = gate_.token(), image](absl::Status st) {
          if (!alive || st.ok() || index_.image() != image) return;
          LOG_WARNING("imap: index of ", path_, ": ", st.ToString(), "; rebuilding it");
          Rebuild(/*in_sync=*/false);
        });
  }
}

}  // namespace ringmail::server::imap
