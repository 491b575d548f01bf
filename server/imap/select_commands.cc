// SELECT and EXAMINE (RFC 3501 §6.3.1-2, with the RFC 4314 §4 rights),
// leaving the selected state (Unselect), and preparing a user's Maildir and
// SPECIAL-USE default folders before the first command that lists or opens
// folders (EnsureDefaultFolders).
#include <sys/stat.h>

#include <algorithm>
#include <cassert>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/args.h"
#include "server/imap/blocking.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/folder_tree.h"

namespace ringmail::server::imap {
namespace {

// BLOCKING: the user's Maildir root with tmp/, new/, cur/ (a user who never
// received mail has none yet), then the SPECIAL-USE default folders.
absl::Status EnsureRootAndDefaults(const std::string& root,
                                   const storage::FolderNameOptions& opts) {
  std::string path;
  for (size_t i = 1; i <= root.size(); ++i) {
    if (i == root.size() || root[i] == '/') {
      path.assign(root, 0, i);
      if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return absl::UnavailableError(absl::StrCat("mkdir ", path, ": ", strerror(errno)));
      }
    }
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    path = root + sub;
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(absl::StrCat("mkdir ", path, ": ", strerror(errno)));
    }
  }
  auto created = storage::EnsureDefaultFoldersBlocking(root, opts);
  return created.ok() ? absl::OkStatus() : created.status();
}

}  // namespace

void ImapSession::EnsureDefaultFolders(absl::AnyInvocable<void()> then) {
  if (user_->defaults_checked) {
    then();
    return;
  }
  RunBlocking<absl::Status>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), opts = user_->options()]() {
        return EnsureRootAndDefaults(root, opts);
      },
      [this, alive = gate_.token(), then = std::move(then)](absl::Status s) mutable {
        if (!alive) return;
        if (!s.ok()) {
          LOG_WARNING("imap: preparing mailbox of ", user_->user(), ": ", s.ToString());
        } else {
          user_->defaults_checked = true;
        }
        then();
      });
}

void ImapSession::Unselect() {
  if (!view_) return;
  FolderState* f = view_->folder();
  view_.reset();
  if (f->view_count() == 0) f->SaveIfDirty();
  selected_rights_ = storage::kAclAllRights;
  // A foreign owner's MailUser (and with it a guest FolderState) may go.
  if (MailUser* owner = std::exchange(selected_owner_, nullptr)) svc_->ReleaseUser(owner);
}

void ImapSession::CmdSelect(const ringmail::imap::Command& cmd, bool read_only) {
  CloseForSelect();  // RFC 3501 §6.3.1: a failed SELECT leaves none selected
  if (cmd.args.size() < 1) return FinishBad("Missing mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  ringmail::imap::SelectParams params;  // (CONDSTORE), (QRESYNC ...)
  if (!ParseSelectArgs(cmd, &params)) return;
  EnsureDefaultFolders([this, alive = gate_.token(), name, read_only, params] {
    if (!alive) return;
    WithAccess(name, [this, alive, read_only, params](MailboxAccess a) {
      // RFC 4314 §4: SELECT and EXAMINE need "r".
      if (a.owner == nullptr) {
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      if (!RequireRights(a, storage::kAclRead, ringmail::imap::kCodeNonExistent)) return;
      // RFC 4314 §4 lets a server open read-only when the user may change
      // nothing; like Dovecot (acl_is_readonly) that is when none of
      // i, e, w, s, t is granted.
      constexpr storage::AclRights kChange =
          storage::kAclInsert | storage::kAclExpunge | storage::kAclWrite |
          storage::kAclWriteSeen | storage::kAclWriteDeleted;
      const bool ro = read_only || !(a.rights & kChange);
      auto folder = a.owner->Open(a.folder);
      if (!folder.ok()) return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      FolderState* f = *folder;
      f->Sync([this, alive, f, ro, a = std::move(a), params](absl::Status s) mutable {
        if (!alive) return;
        if (absl::IsNotFound(s)) {
          a.owner->Forget(a.folder);
          return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
        }
        if (!s.ok()) return FinishNo(ringmail::imap::kCodeServerBug, "Internal error.");
        view_ = std::make_unique<FolderView>(f, ro);
        selected_rights_ = a.rights;
        if (a.owner != user_) {
          // The command's lease on the owner becomes the selection's.
          auto it = std::find(cmd_owners_.begin(), cmd_owners_.end(), a.owner);
          assert(it != cmd_owners_.end());
          cmd_owners_.erase(it);
          selected_owner_ = a.owner;
        }
        const storage::FolderIndex& idx = f->index();
        ringmail::imap::AppendFlags(&out(), MailboxFlags(f->keywords()));
        ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                   PermanentFlagsCode(f->keywords(), ro),
                                   "Flags permitted.");
        ringmail::imap::AppendExists(&out(), view_->exists());
        ringmail::imap::AppendRecent(&out(), view_->recent_count());
        if (std::optional<size_t> first = idx.FirstUnseen()) {
          ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                     ringmail::imap::CodeUnseen(static_cast<uint32_t>(*first + 1)),
                                     "First unseen.");
        }
        ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                   ringmail::imap::CodeUidValidity(idx.uid_validity()), "UIDs valid");
        ringmail::imap::AppendUntaggedStatus(&out(), ringmail::imap::Status::kOk,
                                   ringmail::imap::CodeUidNext(idx.next_uid()), "Predicted next UID");
        FinishSelect(params, ro);  // HIGHESTMODSEQ, QRESYNC, tagged OK
      });
    });
  });
}

}  // namespace ringmail::server::imap
