// Selected-state commands: CHECK, CLOSE, UNSELECT, EXPUNGE, FETCH, STORE,
// SEARCH, COPY and MOVE (RFC 3501 §6.4, RFC 4315, RFC 6851).
#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "protocols/imap/args.h"
#include "protocols/imap/esearch.h"
#include "server/imap/blocking.h"
#include "server/imap/fetch_render.h"
#include "server/imap/file_reader.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "server/imap/message_lookup.h"
#include "server/imap/message_view.h"
#include "server/imap/search_eval.h"
#include "server/imap/unique_name.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/keywords.h"
#include "storage/mailbox/message_ops.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::server::imap {
namespace {

// Output queued for one client above which FETCH waits for the socket to
// drain before rendering more (bounds memory per session).
constexpr size_t kMaxQueuedOutput = 4 << 20;

std::string MessagePath(const FolderState& f, const storage::MessageEntry& e) {
  return absl::StrCat(f.path(), "/", e.RelativePath());
}

// What the index knows of a message, in this session's numbering; the
// content is filled in by the caller when a FETCH or SEARCH needs it.
MessageView IndexView(const FolderView& view, const storage::MessageEntry& e) {
  MessageView mv;
  mv.seq = view.SeqOfUid(e.uid);
  mv.uid = e.uid;
  SetViewFlags(e, view.folder()->keywords(), &mv);
  if (view.IsRecent(e.uid)) mv.imap_flags |= ringmail::imap::kFlagRecent;
  mv.internal_date = e.internal_date;
  mv.size = e.size;
  mv.vsize = e.vsize == storage::kUnknownSize ? e.size : e.vsize;
  mv.modseq = e.modseq;
  return mv;
}


}  // namespace

MessageView IndexViewOf(const FolderView& view, const storage::MessageEntry& e) {
  return IndexView(view, e);
}
std::string MessagePathOf(const FolderState& folder, const storage::MessageEntry& e) {
  return MessagePath(folder, e);
}

struct FetchJob {
  ringmail::imap::FetchRequest request;
  std::vector<uint32_t> uids;
  size_t next = 0;
  FetchNeeds needs;
};

struct SearchJob {
  ringmail::imap::SearchReturn ret;  // RETURN (...): answer with ESEARCH
  ringmail::imap::SearchProgram program;
  std::vector<uint32_t> candidates;  // UIDs in the view
  size_t next = 0;
  SearchNeeds needs = SearchNeeds::kIndex;
  std::vector<uint32_t> hits;        // sequence numbers or UIDs
  bool report_modseq = false;        // MODSEQ key: "(MODSEQ n)", RFC 7162 §3.1.5
};

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
    for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
      if (r.Contains(view_->UidAt(seq))) uids->push_back(view_->UidAt(seq));
    }
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
  view_->folder()->Sync([this, alive = alive_](absl::Status) {
    if (*alive) Finish(ringmail::imap::Status::kOk, "", "Check completed.");
  });
}

void ImapSession::CmdClose(bool expunge) {
  if (!expunge || view_->read_only()) {
    Unselect();
    return Finish(ringmail::imap::Status::kOk, "", expunge ? "Close completed." : "Unselect completed.");
  }
  // RFC 3501 §6.4.2: expunge silently, then leave the selected state.
  std::vector<uint32_t> deleted;
  const storage::FolderIndex& idx = view_->folder()->index();
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    auto pos = idx.PositionOfUid(view_->UidAt(seq));
    if (pos && (idx.at(*pos).flags & storage::kFlagDeleted)) {
      deleted.push_back(view_->UidAt(seq));
    }
  }
  ExpungeUids(std::move(deleted), false, [this, alive = alive_](bool) {
    if (!*alive) return;
    Unselect();
    Finish(ringmail::imap::Status::kOk, "", "Close completed.");
  });
}

void ImapSession::CmdExpunge(const ringmail::imap::Command& cmd) {
  if (view_->read_only()) return FinishNo(ringmail::imap::kCodeReadOnly, "Mailbox is read-only.");
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
    if (pos && (idx.at(*pos).flags & storage::kFlagDeleted)) deleted.push_back(uid);
  }
  ExpungeUids(std::move(deleted), true, [this, alive = alive_](bool ok) {
    if (!*alive) return;
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
  };
  auto st = std::make_shared<State>(State{std::move(uids), 0, true, send_expunge,
                                          std::move(done)});
  // Unlink one at a time, in ascending UID order; each EXPUNGE is sent with
  // the sequence number the message has at that moment (RFC 3501 §7.4.1).
  auto step = std::make_shared<absl::AnyInvocable<void()>>();
  *step = [this, alive = alive_, st, step]() {
    if (!*alive) return;
    if (st->next >= st->uids.size() || !view_) {
      // Resetting *step destroys this closure: copy what is needed first.
      auto done = std::move(st->done);
      const bool ok = st->ok;
      const int64_t freed_bytes = static_cast<int64_t>(st->freed_bytes);
      const int64_t freed = st->freed;
      ImapSession* self = this;
      *step = nullptr;  // break the self-reference; no captures used below
      // maildirsize first: a client told the space is free can use it.
      self->NoteQuotaChange(-freed_bytes, -freed,
                            [done = std::move(done), ok]() mutable { done(ok); });
      return;
    }
    uint32_t uid = st->uids[st->next++];
    FolderState* f = view_->folder();
    auto pos = f->index().PositionOfUid(uid);
    if (!pos) return (*step)();
    std::string path = storage::ExpungePath(f->path(), f->index().at(*pos));
    const uint64_t size = f->index().at(*pos).size;
    svc_->loop()->file_io().UnlinkAt(AT_FDCWD, path, 0,
                                     [this, alive, st, step, f, uid, size](int res) {
      if (!*alive) return;
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
  (*step)();
}

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
    svc_->loop()->AddTimer(absl::Milliseconds(2), [this, alive = alive_, job] {
      if (*alive) FetchNext(job);
    });
    return;
  }
  FolderState* f = view_->folder();
  while (job->next < job->uids.size()) {
    uint32_t uid = job->uids[job->next];
    auto pos = f->index().PositionOfUid(uid);
    if (!pos) {  // expunged meanwhile by another session: skip it
      ++job->next;
      continue;
    }
    const storage::MessageEntry& e = f->index().at(*pos);
    // FETCH BODY[...] sets \Seen (RFC 3501 §6.4.5) unless read-only.
    if (job->request.sets_seen && !view_->read_only() &&
        !(e.flags & storage::kFlagSeen)) {
      auto move = storage::PlanFlagChange(f->path(), e, e.flags | storage::kFlagSeen,
                                          e.keywords);
      if (move) {
        svc_->loop()->file_io().RenameAt(
            AT_FDCWD, move->from, AT_FDCWD, move->to,
            [this, alive = alive_, job, f, uid, name = move->new_filename](int res) {
              if (!*alive) return;
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
    MessageView mv = IndexView(*view_, e);
    FetchRenderOptions opts;
    opts.uid_command = uid_cmd_;
    opts.add_flags = job->request.sets_seen && !view_->read_only();
    mv.structure = f->CachedStructure(uid);
    bool need_content = job->needs.content || (job->needs.structure && !mv.structure);
    if (!need_content) {
      RenderFetch(job->request, mv, opts, &out());
      ++job->next;
      continue;
    }
    ReadWholeFile(&svc_->loop()->file_io(), MessagePath(*f, e), e.size,
                  svc_->ctx().config->imap.max_message_size * 2,
                  [this, alive = alive_, job, f, uid, mv, opts](
                      absl::StatusOr<std::string> data) mutable {
                    if (!*alive) return;
                    ++job->next;
                    if (data.ok()) {
                      mv.content = *data;
                      if (mv.vsize == 0 || mv.vsize == mv.size) mv.vsize = CrlfSize(*data);
                      if (!f->CachedStructure(uid) && job->needs.structure) {
                        auto s = mime::ParseStructure(*data);
                        if (s.ok()) f->CacheStructure(uid, std::move(*s));
                      }
                      mv.structure = f->CachedStructure(uid);
                      RenderFetch(job->request, mv, opts, &out());
                    } else if (!absl::IsNotFound(data.status())) {
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
  if (args->unchangedsince && !StartModSeqCommand()) return;  // RFC 7162 §3.1.3
  auto uids = std::make_shared<std::vector<uint32_t>>();
  if (!ResolveSet(args->set, uid_cmd_, uids.get())) return;
  // UNCHANGEDSINCE failures: sequence numbers (UIDs for UID STORE).
  auto modified = std::make_shared<std::vector<uint32_t>>();
  args->set = {};  // a view into the command; not needed past here
  FolderState* f = view_->folder();
  std::vector<std::string> unknown = UnknownKeywords(args->flags, f->keywords());
  auto apply = [this, alive = alive_, args, uids, f, modified]() {
    if (!*alive) return;
    auto next = std::make_shared<size_t>(0);
    auto retried = std::make_shared<bool>(false);
    auto step = std::make_shared<absl::AnyInvocable<void()>>();
    *step = [this, alive, args, uids, f, next, retried, step, modified]() {
      if (!*alive) return;
      while (*next < uids->size()) {
        uint32_t uid = (*uids)[(*next)++];
        auto pos = f->index().PositionOfUid(uid);
        // RFC 7162 §3.1.3: a message changed since UNCHANGEDSINCE (or
        // expunged meanwhile) is left alone and listed in MODIFIED.
        if (args->unchangedsince &&
            (!pos || f->index().at(*pos).modseq > *args->unchangedsince)) {
          modified->push_back(uid_cmd_ || !view_ ? uid : view_->SeqOfUid(uid));
          continue;
        }
        if (!pos) continue;
        const storage::MessageEntry& e = f->index().at(*pos);
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
              if (!*alive) return;
              if (res == -ENOENT && !*retried) {
                // Another client renamed the file (flags) meanwhile: learn
                // its current name, then apply this STORE to it once more.
                *retried = true;
                --*next;
                f->Sync([alive, step](absl::Status) {
                  if (*alive && *step) (*step)();
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
  if (unknown.empty()) return apply();
  RunBlocking<absl::StatusOr<storage::MaildirKeywords>>(
      svc_->ctx().pool, svc_->loop(),
      [path = f->path(), unknown]() {
        return storage::AssignKeywordsBlocking(path, unknown, storage::DotlockOptions{});
      },
      [this, alive = alive_, f, apply = std::move(apply)](
          absl::StatusOr<storage::MaildirKeywords> kw) mutable {
        if (!*alive) return;
        if (!kw.ok()) return FinishNo(ringmail::imap::kCodeLimit, "Too many keywords.");
        f->keywords() = std::move(*kw);
        apply();
      });
}

// ------------------------------------------------------------ SEARCH

void ImapSession::CmdSearch(const ringmail::imap::Command& cmd) {
  auto job = std::make_shared<SearchJob>();
  ringmail::imap::ArgError err;
  ringmail::imap::ArgList keys;
  if (!ringmail::imap::ParseSearchReturn(cmd.args, &job->ret, &keys, &err)) {
    return FinishBad(err.text);
  }
  switch (ringmail::imap::ParseSearch(keys, &job->program, &err)) {
    case ringmail::imap::SearchStatus::kOk: break;
    case ringmail::imap::SearchStatus::kBad: return FinishBad(err.text);
    case ringmail::imap::SearchStatus::kBadCharset:
      return Finish(ringmail::imap::Status::kNo, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
  }
  if (ringmail::imap::HasModSeqKey(job->program.root)) {
    if (!StartModSeqCommand()) return;
    job->report_modseq = true;
  }
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    job->candidates.push_back(view_->UidAt(seq));
  }
  job->needs = NeedsOf(job->program.root);
  SearchNext(std::move(job));
}

void ImapSession::SearchNext(std::shared_ptr<SearchJob> job) {
  FolderState* f = view_->folder();
  SearchContext ctx;
  ctx.max_seq = view_->exists();
  ctx.max_uid = view_->MaxUid();
  ctx.now = absl::ToUnixSeconds(absl::Now());
  while (job->next < job->candidates.size()) {
    uint32_t uid = job->candidates[job->next];
    auto pos = f->index().PositionOfUid(uid);
    if (!pos) {
      ++job->next;
      continue;
    }
    const storage::MessageEntry& e = f->index().at(*pos);
    MessageView mv = IndexView(*view_, e);
    if (job->needs == SearchNeeds::kIndex) {
      if (Matches(job->program.root, mv, ctx)) job->hits.push_back(uid_cmd_ ? uid : mv.seq);
      ++job->next;
      continue;
    }
    ReadWholeFile(&svc_->loop()->file_io(), MessagePath(*f, e), e.size,
                  svc_->ctx().config->imap.max_message_size * 2,
                  [this, alive = alive_, job, f, uid, mv, ctx](
                      absl::StatusOr<std::string> data) mutable {
                    if (!*alive) return;
                    ++job->next;
                    if (data.ok()) {
                      mv.content = *data;
                      mv.structure = f->CachedStructure(uid);
                      if (Matches(job->program.root, mv, ctx)) {
                        job->hits.push_back(uid_cmd_ ? uid : mv.seq);
                      }
                    }
                    SearchNext(job);
                  });
    return;
  }
  std::sort(job->hits.begin(), job->hits.end());
  if (job->ret.extended) {
    ringmail::imap::AppendEsearch(&out(), tag_, uid_cmd_, job->ret, job->hits,
                                  job->report_modseq ? HighestModSeqOf(job->hits) : 0);
  } else {
    ringmail::imap::AppendSearch(&out(), job->hits,
                                 job->report_modseq ? HighestModSeqOf(job->hits) : 0);
  }
  Finish(ringmail::imap::Status::kOk, "", uid_cmd_ ? "UID SEARCH completed." : "Search completed.");
}

// ------------------------------------------------------------ COPY / MOVE

void ImapSession::CmdCopy(const ringmail::imap::Command& cmd, bool move) {
  if (cmd.args.size() != 2) return FinishBad("Expected a message set and a mailbox.");
  if (move && view_->read_only()) return FinishNo(ringmail::imap::kCodeReadOnly, "Mailbox is read-only.");
  auto uids = std::make_shared<std::vector<uint32_t>>();
  if (!ResolveSet(cmd.args[0].text, uid_cmd_, uids.get())) return;
  std::string target;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[1], carry_.utf8_accept, &target, &err)) {
    return FinishBad(err.text);
  }
  auto target_path = user_->FolderPath(target);
  if (!target_path.ok()) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
  FolderState* src = view_->folder();
  std::string dst_path = *target_path;
  // Keyword letters are per folder (dovecot-keywords): the names the copied
  // messages carry must exist in the target's table before linking.
  std::vector<std::string> names;
  {
    uint32_t used = 0;
    for (uint32_t uid : *uids) {
      if (auto pos = src->index().PositionOfUid(uid)) used |= src->index().at(*pos).keywords;
    }
    for (std::string_view n : KeywordNames(used, src->keywords())) names.emplace_back(n);
  }
  struct Target {
    bool exists = false;
    absl::StatusOr<storage::MaildirKeywords> keywords;
  };
  RunBlocking<Target>(
      svc_->ctx().pool, svc_->loop(),
      [dst_path, names]() {
        Target t;
        struct stat sb;
        t.exists = stat((dst_path + "/cur").c_str(), &sb) == 0;
        t.keywords = !t.exists ? storage::MaildirKeywords()
                     : names.empty()
                         ? storage::ReadKeywordsFile(dst_path)
                         : storage::AssignKeywordsBlocking(dst_path, names,
                                                           storage::DotlockOptions{});
        return t;
      },
      [this, alive = alive_, uids, src, dst_path, target, move](Target t) {
        if (!*alive) return;
        if (!t.exists) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
        if (!t.keywords.ok()) return FinishNo(ringmail::imap::kCodeLimit, "Too many keywords.");
        auto dst_keywords =
            std::make_shared<storage::MaildirKeywords>(std::move(*t.keywords));
        // Link every message into the target's cur/ (same inode: flags and
        // internal date are kept), then assign UIDs there in one locked
        // uidlist update.
        struct Copied {
          uint32_t src_uid;
          std::string name;
        };
        auto copied = std::make_shared<std::vector<Copied>>();
        auto next = std::make_shared<size_t>(0);
        auto step = std::make_shared<absl::AnyInvocable<void()>>();
        *step = [this, alive, uids, src, dst_path, target, move, copied, next, step,
                 dst_keywords]() {
          if (!*alive) return;
          while (*next < uids->size()) {
            uint32_t uid = (*uids)[(*next)++];
            auto pos = src->index().PositionOfUid(uid);
            if (!pos) continue;
            storage::MessageEntry entry = src->index().at(*pos);
            uint32_t mask = 0;
            for (std::string_view n : KeywordNames(entry.keywords, src->keywords())) {
              if (auto i = dst_keywords->IndexOf(n)) mask |= 1u << *i;
            }
            entry.keywords = mask;
            auto plan = storage::PlanCopy(
                src->path(), entry, dst_path,
                NewMessageBase(svc_->loop()->id(), svc_->ctx().config->hostname));
            if (!plan.ok()) continue;
            svc_->loop()->file_io().LinkAt(
                AT_FDCWD, plan->from, AT_FDCWD, plan->to,
                [alive, step, copied, uid, name = plan->new_filename](int res) {
                  if (!*alive) return;
                  if (res == 0) copied->push_back({uid, name});
                  (*step)();
                });
            return;
          }
          // The self-reference is broken in the completion below, not here:
          // resetting *step now would destroy this closure (and `copied`,
          // `target`, ...) while it still runs.
          // Sync the target: UIDs go to the copies (and to anything
          // delivered there meanwhile) in Maildir time order, as Dovecot
          // assigns them.
          // The copies count against the quota; a MOVE gives the space
          // back when it expunges the originals below.
          uint64_t copied_bytes = 0;
          for (const Copied& c : *copied) {
            auto p = src->index().PositionOfUid(c.src_uid);
            if (p) copied_bytes += src->index().at(*p).size;
          }
          auto state = user_->Open(target);
          if (!state.ok()) {
            NoteQuotaChange(static_cast<int64_t>(copied_bytes),
                            static_cast<int64_t>(copied->size()));
            *step = nullptr;
            return Finish(ringmail::imap::Status::kNo, "", "Copy failed.");
          }
          FolderState* dst = *state;
          dst->Sync([this, alive, copied, target, move, step, dst,
                     copied_bytes](absl::Status s) {
                *step = nullptr;  // the step closure has returned by now
                if (!*alive) return;
                std::string code;
                if (s.ok() && !copied->empty()) {
                  std::string src_set, dst_set;
                  size_t n = 0;
                  for (const Copied& c : *copied) {
                    const storage::MessageEntry* e =
                        dst->index().FindByKey(storage::MaildirKey(c.name));
                    if (e == nullptr) continue;
                    // COPYUID pairs the sets in order (RFC 4315 §3).
                    absl::StrAppend(&src_set, n ? "," : "", c.src_uid);
                    absl::StrAppend(&dst_set, n ? "," : "", e->uid);
                    ++n;
                  }
                  if (n > 0) {
                    code = ringmail::imap::CodeCopyUid(dst->index().uid_validity(),
                                                       src_set, dst_set);
                  }
                }
                const auto copied_count = static_cast<int64_t>(copied->size());
                if (!move) {
                  return NoteQuotaChange(
                      static_cast<int64_t>(copied_bytes), copied_count, [this, code] {
                        Finish(ringmail::imap::Status::kOk, code, "Copy completed.");
                      });
                }
                // RFC 6851 §4.3: COPYUID in an untagged OK, then EXPUNGEs.
                if (!code.empty()) {
                  ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk, code, "Moved UIDs.");
                }
                std::vector<uint32_t> moved;
                for (const Copied& c : *copied) moved.push_back(c.src_uid);
                std::sort(moved.begin(), moved.end());
                // The copies count first; the expunge gives the space back.
                NoteQuotaChange(static_cast<int64_t>(copied_bytes), copied_count,
                                [this, alive, moved = std::move(moved)]() mutable {
                  ExpungeUids(std::move(moved), true, [this, alive](bool) {
                    if (*alive) Finish(ringmail::imap::Status::kOk, "", "Move completed.");
                  });
                });
          });
        };
        // RFC 9208 §4.3: a COPY over quota stores nothing. A MOVE within
        // the user's folders does not grow the usage and is not checked
        // (Dovecot neither): a full mailbox can still move mail to Trash.
        if (move) return (*step)();
        CheckQuota(StoredBytes(*src, *uids), uids->size(), [this, step](bool fits) {
          if (fits) return (*step)();
          *step = nullptr;  // break the self-reference
          FinishOverQuota();
        });
      });
}

}  // namespace ringmail::server::imap
