// An open Maildir folder on its user's home core, and the views of the
// sessions that have it selected.
//
// FolderState owns the folder's index (UIDs, flags, names) and keeps it in
// step with the directory: scans and uidlist updates run on the helper
// pool, the index itself is touched only by the home core. Every change is
// published to each FolderView, which turns it into the untagged EXISTS /
// EXPUNGE / FETCH responses of RFC 3501 §7 when its session may send them.
//
// While at least one view exists the folder's new/ and cur/ are watched
// (engine::FsWatcher), so changes made by other programs (mutt, procmail,
// Dovecot) reach selected and idling sessions without waiting for a command.
//
// A sync stats new/ and cur/ (and dovecot-uidlist) and lists only a
// directory whose stamp does not prove it unchanged since the index
// recorded it (storage/mailbox/dir_stamp.h: the same-second rule), so a
// folder nobody touched reopens without a listing, from the index file.
//
// Mod-sequences (RFC 7162) live in the index. One FolderState lifetime
// (from its first sync until it is destroyed) opens the index file without
// writing anything, and *claims* it (a durable new owner token,
// storage/mailbox/index_store.h) before its first change: commands that
// change messages wait for that once (WithClaim), and a sync that listed a
// directory claims before applying what it found. The destructor writes
// the final state with the close token; an index that was not closed
// cleanly (a crash) gets its counter raised to a time floor before
// anything is reported. Every access to the index file of one folder
// (open, claim, saves, close) runs in one queue per folder and core, so a
// lifetime that starts while the previous one is still closing loads the
// file that closing wrote.
//
// Guest mode (a shared folder opened on a core that is not its owner's home
// core): the folder is handled like an outside Maildir program would, so
// two cores never share memory. UIDs are assigned under the dovecot-uidlist
// dotlock (re-read first), flag changes are renames, and the owner's core
// sees both through its inotify watch. A guest never opens, writes or
// closes ringmail-index (a second owner would take the index from the
// owner's core): its index is rebuilt from the directory and the uidlist,
// and mod-sequences are not persistent (NOMODSEQ, RFC 7162 §3.1.2.2).
#ifndef RINGMAIL_SERVER_IMAP_FOLDER_STATE_H_
#define RINGMAIL_SERVER_IMAP_FOLDER_STATE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "engine/fs_watch.h"
#include "engine/gate.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "protocols/mime/structure.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/index_store.h"
#include "storage/mailbox/keywords.h"

namespace ringmail::server::imap {

class FolderView;
class FolderJobQueue;

// Keeps a FolderState from being forgotten (MailUser::Forget) while a
// command that holds no view of it (APPEND, a COPY/MOVE target) works on it
// across asynchronous steps. Like a Seastar gate holder, it may outlive the
// FolderState: it only shares a counter with it. Move-only.
class FolderPin {
 public:
  FolderPin() = default;
  explicit FolderPin(std::shared_ptr<uint32_t> count) : count_(std::move(count)) {
    ++*count_;
  }
  FolderPin(FolderPin&&) = default;
  FolderPin& operator=(FolderPin&& o) {
    Release();
    count_ = std::move(o.count_);
    return *this;
  }
  FolderPin(const FolderPin&) = delete;
  FolderPin& operator=(const FolderPin&) = delete;
  ~FolderPin() { Release(); }

 private:
  void Release() {
    if (count_) --*std::exchange(count_, nullptr);
  }
  std::shared_ptr<uint32_t> count_;
};

class FolderState {
 public:
  // `path` is the folder's Maildir directory. `watcher` (may be null: sync
  // on command only) is the core's inotify instance; it must outlive this.
  // `guest`: see guest mode above.
  FolderState(engine::Loop* loop, engine::HelperPool* pool,
              engine::FsWatcher* watcher, std::string name, std::string path,
              bool guest = false);
  ~FolderState();
  FolderState(const FolderState&) = delete;
  FolderState& operator=(const FolderState&) = delete;

  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  storage::FolderIndex& index() { return index_; }
  const storage::FolderIndex& index() const { return index_; }
  // The folder's keyword table. Replaced whole by a sync and by
  // SetKeywords: names taken from it are valid within one synchronous step.
  const storage::MaildirKeywords& keywords() const { return keywords_; }
  // Installs a table that storage::AssignKeywordsBlocking returned (it
  // holds every keyword of the file at that moment), and makes a sync that
  // read the file before this call keep it instead of its older copy.
  void SetKeywords(storage::MaildirKeywords table) {
    keywords_ = std::move(table);
    ++keywords_generation_;
  }
  bool loaded() const { return loaded_; }
  bool guest() const { return guest_; }
  // Mod-sequences survive restarts (HIGHESTMODSEQ); false means the owner
  // file could not be opened for writing, and SELECT answers NOMODSEQ (RFC
  // 7162 §3.1.2.2). Meaningful once loaded.
  bool persistent_modseqs() const { return persistent_; }

  // Brings the index up to date with the directory (loading the index file
  // first on the first call), publishes what changed to every view, then
  // calls `done`. Concurrent calls share one sync; a call made while a sync
  // runs gets a fresh one after it, so it sees every change made before it.
  void Sync(absl::AnyInvocable<void(absl::Status)> done);

  // Runs `cont` once this lifetime may hand out new mod-sequences: at once
  // when it has claimed the index file already (or never will: a guest, a
  // folder without persistent mod-sequences), otherwise after the claim
  // (one helper round trip and an fdatasync, once per lifetime). Every
  // command that changes messages (a rename, an unlink) calls it before
  // the change. `cont` must check its own session is still alive.
  void WithClaim(absl::AnyInvocable<void()> cont);
  // True when a change needs no claim first (WithClaim would run at once).
  bool MayChange() const { return !NeedsClaim(); }

  // Records that this server just renamed or unlinked one of the folder's
  // files. A directory scan that started before it may show the old names,
  // so such a scan is taken again instead of being applied.
  void NoteLocalChange() { ++local_changes_; }

  // Bookkeeping for changes this server made itself; each is published to
  // every view except `origin` (whose session reports it in its own reply).
  void PublishFlags(uint32_t uid, const FolderView* origin);
  void PublishExpunge(uint32_t uid, const FolderView* origin);

  // Parsed MIME structure of a message, cached (bounded) by UID.
  const mime::Structure* CachedStructure(uint32_t uid) const;
  void CacheStructure(uint32_t uid, mime::Structure s);

  // The first view starts watching the directory, the last one to go stops.
  void AddView(FolderView* v);
  void RemoveView(FolderView* v);
  size_t view_count() const { return views_.size(); }

  FolderPin Pin() { return FolderPin(pins_); }
  // Nobody depends on this object staying: no view, no pin, no sync
  // running or waiting (its waiters would otherwise never be called).
  bool Forgettable() const {
    return views_.empty() && *pins_ == 0 && !syncing_ && running_waiters_.empty() &&
           next_waiters_.empty();
  }

  // Writes the index file if it changed (on a helper), e.g. when the last
  // view closes. Fire and forget. Once written, the index reads its cold
  // fields from the new file and frees their in-memory copies (Rebase).
  void SaveIfDirty();

 private:
  struct LoadResult;
  struct Resolved;
  // The final write of this owner (from the destructor).
  void CloseIndex();
  void WriteIndex(storage::IndexSave save, bool closing);
  // Takes the index the first sync opened; raises the mod-sequence floor
  // when it was not closed cleanly, and checks the file's cold columns on
  // a helper (a damaged file sends the folder to a rebuild).
  void AdoptOpenedIndex(storage::OpenedIndex opened, bool has_uidlist);
  // Drops the index and every view's messages and syncs from scratch (the
  // UIDVALIDITY changed during a sync, `in_sync`, or the index file was
  // found damaged); mod-sequences still never go down.
  void Rebuild(bool in_sync);
  bool NeedsClaim() const {
    return loaded_ && !guest_ && persistent_ && !claimed_ && !claim_failed_;
  }
  void StartSync();
  void OnScanned(LoadResult r, uint64_t changes_at_start, uint64_t keywords_at_start);
  void ApplyScanned(storage::FolderScan scan);
  void FinishSync(absl::Status status);
  void PublishNew(const std::vector<uint32_t>& uids);
  void StartWatching();
  void StopWatching();
  // An inotify event for new/ or cur/: schedules one Sync shortly after,
  // however many events arrive meanwhile.
  void OnDirChanged();

  engine::Loop* loop_;
  engine::HelperPool* pool_;
  engine::FsWatcher* watcher_;
  std::vector<engine::FsWatcher::WatchId> watch_ids_;  // new/ and cur/
  int live_views_ = 0;  // views that want outside changes pushed (IMAP)
  engine::Loop::TimerId watch_sync_timer_ = 0;         // 0: none pending
  std::string name_;
  std::string path_;
  bool guest_;
  storage::FolderIndex index_;
  storage::MaildirKeywords keywords_;
  uint64_t keywords_generation_ = 0;  // SetKeywords calls
  std::shared_ptr<uint32_t> pins_ = std::make_shared<uint32_t>(0);
  bool loaded_ = false;
  // The index file's owner (index_store.h): the owner file's token at the
  // open (`token_`), the one this lifetime claims with (`claim_token_`),
  // and how the claim went. `persistent_`: the owner file is writable.
  std::string token_;
  std::string claim_token_;
  bool persistent_ = false;
  bool claimed_ = false;
  bool claim_failed_ = false;  // could not claim: never write a close token
  bool claiming_ = false;
  bool index_away_ = false;  // moved to a helper by a first open
  // The running sync's start, end of its scan and names listed (for the
  // slow-sync log line).
  absl::Time sync_started_, sync_scanned_;
  size_t sync_listed_ = 0;
  std::vector<absl::AnyInvocable<void()>> claim_waiters_;
  // Index file jobs of this folder on this core, in order (see above).
  std::shared_ptr<FolderJobQueue> jobs_;
  bool syncing_ = false;
  uint64_t local_changes_ = 0;
  int stale_rescans_ = 0;  // consecutive rescans of one sync
  std::vector<absl::AnyInvocable<void(absl::Status)>> running_waiters_;
  std::vector<absl::AnyInvocable<void(absl::Status)>> next_waiters_;
  std::vector<FolderView*> views_;
  // Structure cache: bounded by entries, oldest evicted first.
  absl::flat_hash_map<uint32_t, mime::Structure> structures_;
  std::list<uint32_t> structure_order_;
  // Guards helper callbacks against this object's destruction (closed first
  // thing in the destructor).
  engine::Gate gate_;
};

// What one selected session knows of its folder (folder_view.cc): its own
// message sequence (RFC 3501 §2.3.1.2 numbers are per session) and the
// changes it has not reported yet.
class FolderView {
 public:
  // `live`: the session wants outside changes pushed as they happen (IMAP
  // selected/IDLE); a POP3 maildrop is a snapshot (RFC 1939) and does not,
  // so its views do not make the folder watched.
  FolderView(FolderState* folder, bool read_only, bool live = true);
  bool live() const { return live_; }
  // Whether this view takes \Recent from messages it sees first (RFC 3501
  // §2.3.2): IMAP SELECT does; EXAMINE and POP3 do not.
  bool ClaimsRecent() const { return live_ && !read_only_; }
  ~FolderView();
  FolderView(const FolderView&) = delete;
  FolderView& operator=(const FolderView&) = delete;

  FolderState* folder() const { return folder_; }
  bool read_only() const { return read_only_; }

  // The messages the client knows of: those announced by the last EXISTS
  // (or SELECT). Sequence numbers, "*" and every message set resolve
  // against these only, so no "* n FETCH" goes out before "* n EXISTS"
  // (RFC 3501 §7.4.1, §9 seq-number); newer ones wait for the next Flush.
  uint32_t exists() const { return static_cast<uint32_t>(uids_.size()) - new_count_; }
  // Every message of the view, the unannounced ones last.
  uint32_t size_with_unannounced() const { return static_cast<uint32_t>(uids_.size()); }
  // 1-based sequence number <-> UID, in this session's numbering.
  uint32_t UidAt(uint32_t seq) const { return uids_[seq - 1]; }
  uint32_t SeqOfUid(uint32_t uid) const;  // 0 if not in the view
  // The highest announced UID (UID "*").
  uint32_t MaxUid() const { return exists() == 0 ? 0 : uids_[exists() - 1]; }
  // Appends the announced UIDs in [lo, hi], ascending (two binary
  // searches: a UID range costs what it holds, not the folder's size).
  void AnnouncedUidsIn(uint64_t lo, uint64_t hi, std::vector<uint32_t>* out) const;
  bool IsRecent(uint32_t uid) const { return recent_.contains(uid); }
  uint32_t recent_count() const { return static_cast<uint32_t>(recent_.size()); }

  // Called by FolderState.
  void OnNew(uint32_t uid, bool recent);
  void OnExpunge(uint32_t uid);
  void OnFlags(uint32_t uid);

  // Removes `uid` from this view right away (this session's own EXPUNGE or
  // MOVE) and returns the sequence number it had, for "* n EXPUNGE"; 0 if
  // it is not in the view or was never announced by EXISTS (so the client
  // has nothing to remove).
  uint32_t RemoveOwn(uint32_t uid);

  // Appends the pending untagged responses. EXPUNGE is sent only when
  // `allow_expunge` (RFC 3501 §7.4.1: not during FETCH/STORE/SEARCH).
  void Flush(std::string* out, bool allow_expunge);
  bool HasPending() const {
    return !pending_expunge_.empty() || !pending_flags_.empty() || new_count_ > 0;
  }
  // Called when something is pending; an IDLE session flushes at once.
  void SetChangeListener(absl::AnyInvocable<void()> fn) { listener_ = std::move(fn); }

  // RFC 7162: once CONDSTORE is enabled, flag updates carry MODSEQ
  // (§3.1.4); with QRESYNC, expunges are sent as "* VANISHED <uids>"
  // instead of "* n EXPUNGE" (§3.2.10).
  void SetModSeqReporting(bool condstore, bool qresync) {
    condstore_ = condstore;
    qresync_ = qresync;
  }
  // Expunges not reported yet (held back during FETCH, STORE, SEARCH).
  bool HasPendingExpunge() const { return !pending_expunge_.empty(); }
  // The highest MODSEQ Flush sent since the last call; resets it.
  uint64_t TakeModSeqSent() { return std::exchange(modseq_sent_, 0); }

 private:
  void Notify();

  FolderState* folder_;
  bool read_only_;
  bool live_;
  std::vector<uint32_t> uids_;                 // ascending
  absl::flat_hash_set<uint32_t> recent_;
  std::vector<uint32_t> pending_expunge_;      // UIDs still in uids_
  absl::flat_hash_set<uint32_t> pending_flags_;
  uint32_t new_count_ = 0;                     // appended since last EXISTS
  absl::AnyInvocable<void()> listener_;
  bool condstore_ = false;
  bool qresync_ = false;
  uint64_t modseq_sent_ = 0;
};

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_FOLDER_STATE_H_
