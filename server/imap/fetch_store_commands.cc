// FETCH (RFC 3501 §6.4.5: rendering, \Seen on BODY[], bounded output
// queue) and STORE (§6.4.6, RFC 4314 §4 flag rights, RFC 7162
// UNCHANGEDSINCE).
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/log.h"
#include "protocols/imap/args.h"
#include "server/imap/blocking.h"
#include "server/imap/fetch_render.h"
#include "server/imap/file_reader.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "server/imap/message_lookup.h"
#include "server/imap/message_view.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/keywords.h"
#include "storage/mailbox/message_ops.h"

namespace ringmail::server::imap {
namespace {

// Output queued for one client above which FETCH waits for the socket to
// drain before rendering more (bounds memory per session).
constexpr size_t kMaxQueuedOutput = 4 << 20;

}  // namespace

struct FetchJob {
  ringmail::imap::FetchRequest request;
  std::vector<uint32_t> uids;
  size_t next = 0;
  FetchNeeds needs;
  AscendingLookup lookup;  // `uids` are ascending
};

// ------------------------------------------------------------ FETCH

void ImapSession::CmdFetch(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() < 2) return FinishBad("FETCH takes a set and items.");
  auto job = std::make_shared<FetchJob>();
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseFetch(cmd.args.From(1), &job->request, &err)) return FinishBad(err.text);
  if (!ResolveSet(cmd.args[0].text, uid_cmd_, &job->uids)) return;
  // RFC 7162: MODSEQ, CHANGEDSINCE, VANISHED.
  if (!PrepareModSeqFetch(cmd.args[0].text, &job->request, &job->uids)) return;
  job->needs = NeedsOf(job->request);
  FetchNext(std::move(job));
}

void ImapSession::FetchNext(std::shared_ptr<FetchJob> job) {
  if (gone_) return;
  if (stream_->pending_output() > kMaxQueuedOutput) {
    FlushOutput();
    svc_->loop()->AddTimer(absl::Milliseconds(2), [this, alive = gate_.token(), job] {
      if (alive) FetchNext(job);
    });
    return;
  }
  FolderState* f = view_->folder();
  while (job->next < job->uids.size()) {
    uint32_t uid = job->uids[job->next];
    auto pos = job->lookup.Position(f->index(), uid);
    if (!pos) {  // expunged meanwhile by another session: skip it
      ++job->next;
      continue;
    }
    // FETCH BODY[...] sets \Seen (RFC 3501 §6.4.5) unless read-only.
    // RFC 4314 §4: only with the "s" right.
    const bool may_set_seen = !view_->read_only() && HasSelectedRight(storage::kAclWriteSeen);
    if (job->request.sets_seen && may_set_seen && !(f->index().flags(*pos) & storage::kFlagSeen)) {
      if (!f->MayChange()) {
        // The first change of this folder's lifetime: claim the index
        // (folder_state.h), then look at this message again.
        f->WithClaim([this, alive = gate_.token(), job] {
          if (alive) FetchNext(job);
        });
        return;
      }
      const storage::MessageEntry e = f->index().Entry(*pos);
      auto move = storage::PlanFlagChange(f->path(), e, e.flags | storage::kFlagSeen,
                                          e.keywords);
      if (move) {
        svc_->loop()->file_io().RenameAt(
            AT_FDCWD, move->from, AT_FDCWD, move->to,
            [this, alive = gate_.token(), job, f, uid, name = move->new_filename](int res) {
              if (!alive) return;
              if (res == 0) {
                f->NoteLocalChange();
                f->index().ApplyRename(uid, name, true);
                f->PublishFlags(uid, view_.get());
              }
              // Render next time round with the flag in place (or not,
              // if another client moved the file: the data still goes out).
              FetchNext(job);
            });
        return;
      }
    }
    MessageView mv = IndexViewOf(*view_, *pos, job->lookup.Seq(*view_, uid), job->needs.cold);
    FetchRenderOptions opts;
    opts.uid_command = uid_cmd_;
    opts.add_flags = job->request.sets_seen && may_set_seen;
    mv.structure = f->CachedStructure(uid);
    bool need_content = job->needs.content || (job->needs.structure && !mv.structure);
    if (!need_content) {
      RenderFetch(job->request, mv, opts, &out());
      ++job->next;
      // Items from the index need no I/O, so nothing else would stop this
      // loop: FETCH 1:* (FLAGS) of a million messages queued ~30 MB at once.
      if (stream_->pending_output() > kMaxQueuedOutput) return FetchNext(std::move(job));
      continue;
    }
    // `mv` borrows the keyword table and the structure cache, which may be
    // replaced or evicted while the read runs: only the UID crosses it.
    ReadWholeFile(&svc_->loop()->file_io(), MessagePathOf(*f, *pos), mv.size,
                  svc_->ctx().config->imap.max_message_size * 2,
                  [this, alive = gate_.token(), job, f, uid, opts](
                      absl::StatusOr<std::string> data) {
                    if (!alive) return;
                    ++job->next;
                    std::optional<MessageView> now =
                        data.ok() ? CurrentViewOf(*view_, uid) : std::nullopt;
                    if (now) {
                      now->content = *data;
                      if (now->vsize == 0 || now->vsize == now->size) {
                        now->vsize = CrlfSize(*data);
                      }
                      if (!f->CachedStructure(uid) && job->needs.structure) {
                        auto s = mime::ParseStructure(*data);
                        if (s.ok()) f->CacheStructure(uid, std::move(*s));
                      }
                      now->structure = f->CachedStructure(uid);
                      RenderFetch(job->request, *now, opts, &out());
                    } else if (!data.ok() && !absl::IsNotFound(data.status())) {
                      LOG_WARNING("imap: FETCH read failed: ", data.status().ToString());
                    }
                    // A vanished file: another client expunged it; the next
                    // sync reports the EXPUNGE.
                    FetchNext(job);
                  });
    return;
  }
  FlushOutput();
  Finish(ringmail::imap::Status::kOk, "", uid_cmd_ ? "UID FETCH completed." : "Fetch completed.");
}

// ------------------------------------------------------------ STORE

void ImapSession::CmdStore(const ringmail::imap::Command& cmd) {
  if (view_->read_only()) return FinishNo(ringmail::imap::kCodeReadOnly, "Mailbox is read-only.");
  auto args = std::make_shared<ringmail::imap::StoreArgs>();
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseStore(cmd.args, args.get(), &err)) return FinishBad(err.text);
  // RFC 4314 §4: \Seen needs "s", \Deleted "t", any other flag "w". A
  // replacing STORE (FLAGS) may change every flag, so it needs all three.
  {
    storage::AclRights needed = 0;
    if (args->mode == ringmail::imap::StoreMode::kReplace) {
      needed = storage::kAclWriteSeen | storage::kAclWriteDeleted | storage::kAclWrite;
    } else {
      if (args->flags.system & ringmail::imap::kFlagSeen) needed |= storage::kAclWriteSeen;
      if (args->flags.system & ringmail::imap::kFlagDeleted) needed |= storage::kAclWriteDeleted;
      if ((args->flags.system & ~(ringmail::imap::kFlagSeen | ringmail::imap::kFlagDeleted)) ||
          !args->flags.keywords.empty()) {
        needed |= storage::kAclWrite;
      }
    }
    if (!HasSelectedRight(needed)) return FinishNo("NOPERM", "Permission denied.");
  }
  if (args->unchangedsince && !StartModSeqCommand()) return;  // RFC 7162 §3.1.3
  auto uids = std::make_shared<std::vector<uint32_t>>();
  if (!ResolveSet(args->set, uid_cmd_, uids.get())) return;
  // UNCHANGEDSINCE failures: sequence numbers (UIDs for UID STORE).
  auto modified = std::make_shared<std::vector<uint32_t>>();
  args->set = {};  // a view into the command; not needed past here
  FolderState* f = view_->folder();
  std::vector<std::string> unknown = UnknownKeywords(args->flags, f->keywords());
  auto apply = [this, alive = gate_.token(), args, uids, f, modified]() {
    if (!alive) return;
    auto next = std::make_shared<size_t>(0);
    auto retried = std::make_shared<bool>(false);
    auto step = std::make_shared<absl::AnyInvocable<void()>>();
    *step = [this, alive, args, uids, f, next, retried, step, modified]() {
      if (!alive) return;
      while (*next < uids->size()) {
        uint32_t uid = (*uids)[(*next)++];
        auto pos = f->index().PositionOfUid(uid);
        // RFC 7162 §3.1.3: a message changed since UNCHANGEDSINCE (or
        // expunged meanwhile) is left alone and listed in MODIFIED.
        if (args->unchangedsince &&
            (!pos || f->index().modseq(*pos) > *args->unchangedsince)) {
          modified->push_back(uid_cmd_ || !view_ ? uid : view_->SeqOfUid(uid));
          continue;
        }
        if (!pos) continue;
        const storage::MessageEntry e = f->index().Entry(*pos);
        StoreOutcome o = ApplyStore(e.flags, e.keywords, args->mode, args->flags, f->keywords());
        auto report = [this, args, uid](bool changed) {
          ReportStore(uid, args->silent, changed);  // FLAGS, UID, MODSEQ
        };
        auto move = o.changed ? storage::PlanFlagChange(f->path(), e, o.flags, o.keywords)
                              : std::nullopt;
        if (!move) {
          report(false);
          continue;
        }
        svc_->loop()->file_io().RenameAt(
            AT_FDCWD, move->from, AT_FDCWD, move->to,
            [this, alive, step, f, uid, report, next, retried,
             name = move->new_filename](int res) {
              // The session is gone: break the step's self-reference (this
              // callback is not the step closure, so resetting it is safe).
              if (!alive) return void(*step = nullptr);
              if (res == -ENOENT && !*retried) {
                // Another client renamed the file (flags) meanwhile: learn
                // its current name, then apply this STORE to it once more.
                *retried = true;
                --*next;
                f->Sync([alive, step](absl::Status) {
                  if (!alive) return void(*step = nullptr);
                  if (*step) (*step)();
                });
                return;
              }
              *retried = false;
              if (res == 0) {
                f->NoteLocalChange();
                f->index().ApplyRename(uid, name, true);
                f->PublishFlags(uid, view_.get());
              } else {
                LOG_WARNING("imap: STORE rename in ", f->path(), " failed: ",
                            strerror(-res));
              }
              report(res == 0);
              (*step)();
            });
        return;
      }
      ImapSession* self = this;  // *step = nullptr destroys this closure
      std::vector<uint32_t> failed = std::move(*modified);
      *step = nullptr;
      if (failed.empty()) {
        return self->Finish(ringmail::imap::Status::kOk, "", "Store completed.");
      }
      std::sort(failed.begin(), failed.end());
      self->Finish(ringmail::imap::Status::kOk, ringmail::imap::CodeModified(failed),
                   "Conditional STORE failed.");
    };
    (*step)();
  };
  // Renames change the folder: claim its index first (once per lifetime).
  if (unknown.empty()) return f->WithClaim(std::move(apply));
  RunBlocking<absl::StatusOr<storage::MaildirKeywords>>(
      svc_->ctx().pool, svc_->loop(),
      [path = f->path(), unknown]() {
        return storage::AssignKeywordsBlocking(path, unknown, storage::DotlockOptions{});
      },
      [this, alive = gate_.token(), f, apply = std::move(apply)](
          absl::StatusOr<storage::MaildirKeywords> kw) mutable {
        if (!alive) return;
        if (!kw.ok()) return FinishNo(ringmail::imap::kCodeLimit, "Too many keywords.");
        f->SetKeywords(std::move(*kw));
        f->WithClaim(std::move(apply));
      });
}

}  // namespace ringmail::server::imap
