// Selected-state basics: resolving message sets (ResolveSet), CHECK,
// CLOSE/UNSELECT and EXPUNGE / UID EXPUNGE with the shared expunge loop
// (RFC 3501 §6.4.1-3, RFC 3691, RFC 4315 §2.1). FETCH and STORE are in
// fetch_store_commands.cc, SEARCH in search_commands.cc, COPY and MOVE in
// copy_commands.cc.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/log.h"
#include "protocols/imap/args.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/message_ops.h"

namespace ringmail::server::imap {

bool ImapSession::ResolveSet(std::string_view text, bool uid,
                             std::vector<uint32_t>* uids) {
  ringmail::imap::SequenceSet set;
  bool saved = false;
  if (!ringmail::imap::SequenceSet::Parse(text, &set, &saved) || saved) {
    FinishBad("Invalid message set.");
    return false;
  }
  uids->clear();
  if (view_->exists() == 0) return true;
  if (uid) {
    ringmail::imap::ResolvedSet r(set.Resolve(view_->MaxUid()));
    // Normalised ranges, ascending: so is the result.
    for (const auto& range : r.ranges()) view_->AnnouncedUidsIn(range.first, range.last, uids);
    return true;
  }
  ringmail::imap::ResolvedSet r(set.Resolve(view_->exists()));
  // RFC 3501 §6.4.8 / §9: a sequence number beyond EXISTS is an error.
  bool bad = false;
  r.ForEach([&](uint32_t seq) {
    if (seq == 0 || seq > view_->exists()) {
      bad = true;
      return false;
    }
    uids->push_back(view_->UidAt(seq));
    return true;
  });
  if (bad) {
    FinishBad("Invalid messageset.");
    return false;
  }
  return true;
}

void ImapSession::CmdCheck() {
  view_->folder()->Sync([this, alive = gate_.token()](absl::Status) {
    if (alive) Finish(ringmail::imap::Status::kOk, "", "Check completed.");
  });
}

void ImapSession::CmdClose(bool expunge) {
  // RFC 4314 §4: without "e" CLOSE just closes.
  if (!expunge || view_->read_only() || !HasSelectedRight(storage::kAclExpunge)) {
    Unselect();
    return Finish(ringmail::imap::Status::kOk, "", expunge ? "Close completed." : "Unselect completed.");
  }
  // RFC 3501 §6.4.2: expunge silently, then leave the selected state.
  std::vector<uint32_t> deleted;
  const storage::FolderIndex& idx = view_->folder()->index();
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    auto pos = idx.PositionOfUid(view_->UidAt(seq));
    if (pos && (idx.flags(*pos) & storage::kFlagDeleted)) {
      deleted.push_back(view_->UidAt(seq));
    }
  }
  ExpungeUids(std::move(deleted), false, [this, alive = gate_.token()](bool) {
    if (!alive) return;
    Unselect();
    Finish(ringmail::imap::Status::kOk, "", "Close completed.");
  });
}

void ImapSession::CmdExpunge(const ringmail::imap::Command& cmd) {
  if (view_->read_only()) return FinishNo(ringmail::imap::kCodeReadOnly, "Mailbox is read-only.");
  // RFC 4314 §4: EXPUNGE needs "e".
  if (!HasSelectedRight(storage::kAclExpunge)) return FinishNo("NOPERM", "Permission denied.");
  std::vector<uint32_t> limit;
  if (uid_cmd_) {  // UID EXPUNGE <set> (RFC 4315 §2.1)
    if (cmd.args.size() != 1) return FinishBad("UID EXPUNGE takes a UID set.");
    if (!ResolveSet(cmd.args[0].text, true, &limit)) return;
  }
  std::vector<uint32_t> deleted;
  const storage::FolderIndex& idx = view_->folder()->index();
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    uint32_t uid = view_->UidAt(seq);
    if (uid_cmd_ && !std::binary_search(limit.begin(), limit.end(), uid)) continue;
    auto pos = idx.PositionOfUid(uid);
    if (pos && (idx.flags(*pos) & storage::kFlagDeleted)) deleted.push_back(uid);
  }
  ExpungeUids(std::move(deleted), true, [this, alive = gate_.token()](bool ok) {
    if (!alive) return;
    if (!ok) return FinishNo(ringmail::imap::kCodeServerBug, "Some messages could not be expunged.");
    Finish(ringmail::imap::Status::kOk, "", "Expunge completed.");
  });
}

void ImapSession::ExpungeUids(std::vector<uint32_t> uids, bool send_expunge,
                              absl::AnyInvocable<void(bool ok)> done) {
  struct State {
    std::vector<uint32_t> uids;
    size_t next = 0;
    bool ok = true;
    bool send;
    absl::AnyInvocable<void(bool)> done;
    uint64_t freed_bytes = 0;  // unlinked by us: maildirsize (quota)
    int64_t freed = 0;
    QuotaTarget quota;  // the folder owner's (a shared folder's owner)
  };
  auto st = std::make_shared<State>(State{std::move(uids), 0, true, send_expunge,
                                          std::move(done), 0, 0,
                                          selected_owner()->quota});
  // Unlink one at a time, in ascending UID order; each EXPUNGE is sent with
  // the sequence number the message has at that moment (RFC 3501 §7.4.1).
  auto step = std::make_shared<absl::AnyInvocable<void()>>();
  *step = [this, alive = gate_.token(), st, step]() {
    if (!alive) return;
    if (st->next >= st->uids.size() || !view_) {
      // Resetting *step destroys this closure: copy what is needed first.
      auto done = std::move(st->done);
      const bool ok = st->ok;
      const int64_t freed_bytes = static_cast<int64_t>(st->freed_bytes);
      const int64_t freed = st->freed;
      const QuotaTarget quota = st->quota;
      ImapSession* self = this;
      *step = nullptr;  // break the self-reference; no captures used below
      // maildirsize first: a client told the space is free can use it.
      self->NoteQuotaChange(-freed_bytes, -freed,
                            [done = std::move(done), ok]() mutable { done(ok); }, &quota);
      return;
    }
    uint32_t uid = st->uids[st->next++];
    FolderState* f = view_->folder();
    auto pos = f->index().PositionOfUid(uid);
    if (!pos) return (*step)();
    std::string path = storage::ExpungePath(f->path(), f->index().Entry(*pos));
    const uint64_t size = f->index().message_size(*pos);
    svc_->loop()->file_io().UnlinkAt(AT_FDCWD, path, 0,
                                     [this, alive, st, step, f, uid, size](int res) {
      if (!alive) return void(*step = nullptr);  // break the self-reference
      if (res < 0 && res != -ENOENT) {
        LOG_WARNING("imap: unlink in ", f->path(), " failed: ", strerror(-res));
        st->ok = false;
        return (*step)();
      }
      if (res == 0) {  // -ENOENT: whoever removed it accounts for it
        st->freed_bytes += size;
        ++st->freed;
      }
      f->NoteLocalChange();
      f->index().Remove(uid);
      f->PublishExpunge(uid, view_.get());
      if (view_) {
        uint32_t seq = view_->RemoveOwn(uid);
        if (st->send && seq != 0) ReportExpunged(seq, uid);  // or VANISHED
      }
      (*step)();
    });
  };
  if (st->uids.empty()) return (*step)();
  // Unlinks change the folder: claim its index first (once per lifetime).
  view_->folder()->WithClaim([alive = gate_.token(), step] {
    if (!alive) return void(*step = nullptr);  // break the self-reference
    (*step)();
  });
}

}  // namespace ringmail::server::imap
