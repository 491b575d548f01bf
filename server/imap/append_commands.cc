// APPEND (RFC 3501 §6.3.11): the rights and TRYCREATE checks before the
// literal is read (AppendBegin), the message octets (AppendData), and the
// store with its quota check and APPENDUID (AppendEnd, RFC 4315, RFC 9208).
#include <sys/stat.h>

#include <algorithm>
#include <cassert>

#include "absl/time/clock.h"
#include "engine/log.h"
#include "protocols/imap/args.h"
#include "server/imap/acl_flags.h"
#include "server/imap/blocking.h"
#include "server/imap/fetch_render.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "server/imap/unique_name.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/folder_sync.h"
#include "storage/mailbox/message_ops.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::server::imap {

void ImapSession::AppendBegin(const ringmail::imap::Command& cmd) {
  tag_.assign(cmd.tag.data(), cmd.tag.size());
  spec_ = cmd.spec;
  uid_cmd_ = false;
  if (std::string_view bad = state_.CheckAllowed(*cmd.spec); !bad.empty()) {
    reader_.RejectAppend();
    busy_ = true;
    return FinishBad(bad);
  }
  auto st = std::make_unique<AppendState>();
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseAppend(cmd.args, carry_.utf8_accept, &st->args, &err)) {
    reader_.RejectAppend();
    busy_ = true;
    return FinishBad(err.text);
  }
  st->data.reserve(std::min<uint64_t>(reader_.literal_size(), 1 << 20));
  append_ = std::move(st);
  // The rights (RFC 4314 §4: APPEND needs "i") and whether the folder
  // exists decide between the continuation, NOPERM and TRYCREATE (RFC 3501
  // §6.3.11) before any message octet is read; both are read on a helper,
  // and input waits meanwhile.
  busy_ = true;
  bool sync_literal = reader_.literal_sync();
  WithAccess(append_->args.mailbox, [this, sync_literal](MailboxAccess a) {
    auto reject = [this] {
      append_.reset();
      reader_.RejectAppend();
    };
    if (a.owner == nullptr) {
      reject();
      return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
    }
    if ((a.rights & storage::kAclInsert) == 0) {
      reject();
      RequireRights(a, storage::kAclInsert, ringmail::imap::kCodeTryCreate);
      return;
    }
    // RFC 4314 §4: \Seen needs "s", \Deleted "t", other flags "w"; the
    // message is stored without the ones the user may not set.
    DropUnsettableFlags(a.rights, &append_->args.flags);
    append_->owner = a.owner;
    append_->folder = a.folder;
    RunBlocking<bool>(
        svc_->ctx().pool, svc_->loop(),
        [cur = a.path + "/cur"]() {
          struct stat sb;
          return stat(cur.c_str(), &sb) == 0;
        },
        [this, alive = gate_.token(), sync_literal, reject](bool exists) {
          if (!alive) return;
          if (!exists) {
            reject();
            return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
          }
          busy_ = false;
          if (sync_literal) out() += ringmail::imap::kLiteralContinuation;
          FlushOutput();
          PumpPending();
        });
  });
}

void ImapSession::AppendData(std::string_view chunk) {
  if (!append_) return;
  // Stored with LF endings like every Maildir message: drop the CR of CRLF.
  AppendState& st = *append_;
  st.crlf_size += chunk.size();
  for (char c : chunk) {
    if (st.pending_cr) {
      st.pending_cr = false;
      if (c != '\n') st.data.push_back('\r');
    }
    if (c == '\r') {
      st.pending_cr = true;
    } else {
      st.data.push_back(c);
    }
  }
}

void ImapSession::AppendEnd() {
  busy_ = true;
  if (!reader_.append_ok() || !append_) {
    append_.reset();
    out() += reader_.error_reply();
    busy_ = false;
    return;
  }
  std::unique_ptr<AppendState> st = std::move(append_);
  if (st->pending_cr) st->data.push_back('\r');
  const uint64_t stored_size = st->data.size();
  MailUser* owner = st->owner;
  assert(owner != nullptr);  // set by AppendBegin before the literal is read
  auto folder = owner->Open(st->folder);
  if (!folder.ok()) return FinishNo(ringmail::imap::kCodeTryCreate, "Mailbox doesn't exist.");
  FolderState* f = *folder;
  // Keywords the folder does not know yet are assigned letters first.
  std::vector<std::string> unknown = UnknownKeywords(st->args.flags, f->keywords());
  // Nobody may have `f` selected: the pin keeps a concurrent DELETE or
  // RENAME (MailUser::Forget) from freeing it between the steps below.
  auto store = [this, alive = gate_.token(), f, owner, pin = std::make_shared<FolderPin>(f->Pin()),
                st = std::shared_ptr<AppendState>(std::move(st))]() {
    if (!alive) return;
    storage::AppendRequest req;
    req.folder = f->path();
    req.base = NewMessageBase(svc_->loop()->id(), svc_->ctx().config->hostname,
                              svc_->loop()->now());
    req.vsize = CrlfSize(st->data);
    StoreOutcome o = ApplyStore(0, 0, ringmail::imap::StoreMode::kReplace, st->args.flags,
                                f->keywords());
    req.flags = o.flags;
    req.keywords = o.keywords;
    req.internal_date =
        st->args.internal_date.value_or(absl::ToUnixSeconds(svc_->loop()->now()));
    req.data = std::make_shared<const std::string>(std::move(st->data));
    auto* mtime_fn = new storage::SetMtimeFn(
        [pool = svc_->ctx().pool, loop = svc_->loop()](
            std::string path, int64_t mtime, absl::AnyInvocable<void(int)> done) {
          RunBlocking<int>(pool, loop,
                           [path = std::move(path), mtime]() {
                             return storage::SetMtimeBlocking(path, mtime);
                           },
                           std::move(done));
        });
    storage::AppendMessageAsync(
        &svc_->loop()->file_io(), mtime_fn, std::move(req),
        [this, alive, f, owner, pin, mtime_fn, loop = svc_->loop()](
            absl::StatusOr<std::string> name) {
          // The session may be gone: only captured values before the check.
          loop->Defer([mtime_fn] { delete mtime_fn; });
          if (!alive) return;
          if (!name.ok()) {
            LOG_WARNING("imap: APPEND to ", f->path(), " failed: ", name.status().ToString());
            return FinishNo(absl::IsResourceExhausted(name.status()) ? ringmail::imap::kCodeOverQuota
                                                                     : ringmail::imap::kCodeServerBug,
                            "Append failed.");
          }
          // A full sync assigns the UID (for APPENDUID, RFC 4315) in Maildir
          // time order together with anything delivered meanwhile, as
          // Dovecot does, and shows the message to every open session.
          // maildirsize (quota) is updated first.
          std::string key(storage::MaildirKey(*name));
          // A shared folder's messages count against its owner's quota.
          NoteQuotaChange(static_cast<int64_t>(MaildirNameSize(*name)), 1, [this, alive, f, pin, key] {
            if (!alive) return;
            f->Sync([this, alive, f, pin, key](absl::Status s) {
              if (!alive) return;
              std::optional<size_t> pos;
              if (s.ok()) pos = f->index().PositionOfKey(key);
              if (!pos) return Finish(ringmail::imap::Status::kOk, "", "Append completed.");
              Finish(ringmail::imap::Status::kOk,
                     ringmail::imap::CodeAppendUid(f->index().uid_validity(),
                                                   f->index().uid(*pos)),
                     "Append completed.");
            });
          }, &owner->quota);
        });
  };
  // RFC 9208 §4.3: a message that does not fit the quota is not stored.
  auto checked_store = [this, stored_size, owner, store = std::move(store)]() mutable {
    CheckQuota(stored_size, 1, [this, store = std::move(store)](bool fits) mutable {
      if (!fits) return FinishOverQuota();
      store();
    }, &owner->quota);
  };
  if (unknown.empty()) return checked_store();
  RunBlocking<absl::StatusOr<storage::MaildirKeywords>>(
      svc_->ctx().pool, svc_->loop(),
      [path = f->path(), unknown]() {
        return storage::AssignKeywordsBlocking(path, unknown, storage::DotlockOptions{});
      },
      [this, alive = gate_.token(), f, store = std::move(checked_store)](
          absl::StatusOr<storage::MaildirKeywords> kw) mutable {
        if (!alive) return;
        if (kw.ok()) f->SetKeywords(std::move(*kw));
        store();
      });
}

}  // namespace ringmail::server::imap
