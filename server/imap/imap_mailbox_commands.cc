// Mailbox management in the authenticated state: CREATE, DELETE, RENAME,
// SUBSCRIBE and UNSUBSCRIBE (RFC 3501 §6.3.3-7), with the RFC 4314 §4
// rights they need. SELECT/EXAMINE are in select_commands.cc, LIST/LSUB/
// STATUS/NAMESPACE in list_commands.cc, APPEND in append_commands.cc.
#include "absl/strings/str_cat.h"
#include "protocols/imap/args.h"
#include "server/imap/blocking.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/folder_tree.h"
#include "storage/mailbox/subscriptions.h"

namespace ringmail::server::imap {
namespace {

// Maps a storage error to the response code clients act on.
std::string_view CodeFor(const absl::Status& s) {
  if (absl::IsNotFound(s)) return ringmail::imap::kCodeNonExistent;
  if (absl::IsAlreadyExists(s)) return ringmail::imap::kCodeAlreadyExists;
  if (absl::IsInvalidArgument(s) || absl::IsFailedPrecondition(s)) {
    return ringmail::imap::kCodeCannot;
  }
  if (absl::IsResourceExhausted(s)) return ringmail::imap::kCodeLimit;
  return "SERVERBUG";
}

// The parent of a mailbox name ("" for a top-level name).
std::string ParentName(std::string_view name, char delim) {
  size_t pos = name.rfind(delim);
  return pos == std::string_view::npos ? std::string() : std::string(name.substr(0, pos));
}

}  // namespace

void ImapSession::CmdCreate(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("CREATE takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  // RFC 3501 §6.3.3: a trailing delimiter only says the name will have
  // children; the folder itself is created without it.
  char delim = user_->options().delimiter;
  while (!name.empty() && name.back() == delim) name.pop_back();
  if (storage::IsInboxName(name)) {
    return FinishNo(ringmail::imap::kCodeAlreadyExists, "Mailbox already exists.");
  }
  MailboxAccess target;
  if (!ResolveMailbox(name, &target)) return FinishNo(ringmail::imap::kCodeCannot, "Invalid mailbox name.");
  if (target.namespace_node) return FinishNo("NOPERM", "Permission denied.");
  // RFC 4314 §4: CREATE needs "k" on the parent. A top-level folder of
  // one's own needs none; one in another user's tree needs a parent.
  std::string parent = ParentName(name, delim);
  auto create = [this, alive = gate_.token(), target](storage::AclFile inherited) {
    if (!alive) return;
    RunBlocking<absl::Status>(
        svc_->ctx().pool, svc_->loop(),
        [root = target.owner->root(), folder = target.folder, path = target.path,
         opts = target.owner->options(), inherited = std::move(inherited)]() {
          absl::Status s = storage::CreateFolderBlocking(root, folder, opts);
          if (!s.ok() || inherited.entries.empty()) return s;
          // A new folder starts with its parent's ACL, as in Dovecot, so
          // the users who may create in a shared folder also see the child.
          auto written = storage::UpdateAclFileBlocking(
              path, storage::AclLimits{}, storage::DotlockOptions{},
              [&inherited](storage::AclFile* f) {
                *f = inherited;
                return absl::OkStatus();
              });
          return written.ok() ? absl::OkStatus() : written.status();
        },
        [this, alive](absl::Status s) {
          if (!alive) return;
          if (!s.ok()) {
            return FinishNo(CodeFor(s), absl::IsAlreadyExists(s)
                                            ? "Mailbox already exists."
                                            : "Cannot create mailbox.");
          }
          Finish(ringmail::imap::Status::kOk, "", "Create completed.");
        });
  };
  EnsureDefaultFolders([this, alive = gate_.token(), parent, target, create = std::move(create)]() mutable {
    if (!alive) return;
    if (parent.empty()) {
      if (!target.is_owner) return FinishNo("NOPERM", "Permission denied.");
      return create(storage::AclFile());
    }
    WithAccess(parent, [this, target, create = std::move(create)](MailboxAccess p) mutable {
      if (p.namespace_node) {
        return FinishNo(target.is_owner ? ringmail::imap::kCodeCannot : "NOPERM",
                        "Permission denied.");
      }
      if (!RequireRights(p, storage::kAclCreate, ringmail::imap::kCodeNonExistent)) return;
      create(p.owner == target.owner ? std::move(p.acl) : storage::AclFile());
    });
  });
}

void ImapSession::CmdDelete(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("DELETE takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  if (storage::IsInboxName(name)) return FinishNo(ringmail::imap::kCodeCannot, "INBOX can't be deleted.");
  WithAccess(name, [this](MailboxAccess a) {
    if (a.owner == nullptr) {
      return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    }
    // RFC 4314 §4: DELETE needs "x".
    if (!RequireRights(a, storage::kAclDelete, ringmail::imap::kCodeNonExistent)) return;
    if (storage::IsInboxName(a.folder)) {
      return FinishNo(ringmail::imap::kCodeCannot, "INBOX can't be deleted.");
    }
    MailUser* owner = a.owner;
    FolderState* open = owner->FindOpen(a.folder);
    if (open != nullptr && open->view_count() > 0) {
      if (view_ && view_->folder() == open) Unselect();
      if (open->view_count() > 0) {
        return FinishNo("INUSE", "Mailbox is selected by another session.");
      }
    }
    RunBlocking<absl::Status>(
        svc_->ctx().pool, svc_->loop(),
        [root = owner->root(), folder = a.folder, opts = owner->options()]() {
          return storage::DeleteFolderBlocking(root, folder, opts, {});
        },
        [this, alive = gate_.token(), owner, folder = a.folder](absl::Status s) {
          if (!alive) return;
          if (!s.ok()) {
            return FinishNo(CodeFor(s), absl::IsNotFound(s) ? "Mailbox doesn't exist."
                                                            : "Cannot delete mailbox.");
          }
          owner->Forget(folder);
          // Its messages are gone: maildirsize is recounted before the reply.
          RecalculateQuota(quota_env(), owner->quota, [this, alive] {
            if (alive) Finish(ringmail::imap::Status::kOk, "", "Delete completed.");
          });
        });
  });
}

void ImapSession::CmdRename(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 2) return FinishBad("RENAME takes two mailbox names.");
  std::string from, to;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &from, &err) ||
      !ringmail::imap::ParseMailbox(cmd.args[1], carry_.utf8_accept, &to, &err)) {
    return FinishBad(err.text);
  }
  MailboxAccess target;
  if (!ResolveMailbox(to, &target) || target.namespace_node) {
    return FinishNo(ringmail::imap::kCodeCannot, "Invalid mailbox name.");
  }
  const std::string to_parent = ParentName(to, user_->options().delimiter);
  WithAccess(from, [this, target, to_parent](MailboxAccess a) {
    if (a.owner == nullptr) {
      return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
    }
    // RFC 4314 §4: RENAME needs "x" on the old name and "k" on the new
    // name's parent; folders move only within one owner's tree.
    if (!RequireRights(a, storage::kAclDelete, ringmail::imap::kCodeNonExistent)) return;
    if (a.owner_name != target.owner_name) {
      return FinishNo(ringmail::imap::kCodeCannot, "Can't rename between users.");
    }
    auto rename = [this, from = a.folder, to = target.folder, owner = a.owner]() {
      FolderState* open = owner->FindOpen(from);
      if (open != nullptr && open->view_count() > 0 && !storage::IsInboxName(from)) {
        return FinishNo("INUSE", "Mailbox is selected.");
      }
      RunBlocking<absl::Status>(
          svc_->ctx().pool, svc_->loop(),
          [root = owner->root(), from, to, opts = owner->options()]() {
            return storage::RenameFolderBlocking(root, from, to, opts, {});
          },
          [this, alive = gate_.token(), from, to, owner](absl::Status s) {
            if (!alive) return;
            if (!s.ok()) {
              return FinishNo(CodeFor(s), absl::IsNotFound(s) ? "Mailbox doesn't exist."
                                          : absl::IsAlreadyExists(s) ? "Target mailbox exists."
                                                                     : "Cannot rename mailbox.");
            }
            owner->Forget(from);
            owner->Forget(to);
            // Renaming INBOX moved its messages: selected INBOX views resync.
            if (FolderState* inbox = owner->FindOpen("INBOX")) {
              inbox->Sync([](absl::Status) {});
            }
            Finish(ringmail::imap::Status::kOk, "", "Rename completed.");
          });
    };
    if (to_parent.empty()) {
      if (!target.is_owner) return FinishNo("NOPERM", "Permission denied.");
      return rename();
    }
    WithAccess(to_parent, [this, rename = std::move(rename), target](MailboxAccess p) mutable {
      if (p.namespace_node) {
        return FinishNo(target.is_owner ? ringmail::imap::kCodeCannot : "NOPERM",
                        "Permission denied.");
      }
      if (!RequireRights(p, storage::kAclCreate, ringmail::imap::kCodeNonExistent)) return;
      rename();
    });
  });
}

void ImapSession::CmdSubscribe(const ringmail::imap::Command& cmd, bool subscribe) {
  if (cmd.args.size() != 1) return FinishBad("Expected one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  RunBlocking<absl::StatusOr<storage::Subscriptions>>(
      svc_->ctx().pool, svc_->loop(),
      [root = user_->root(), name, subscribe, opts = user_->options()]() {
        return storage::SetSubscribedBlocking(root, name, subscribe, opts,
                                              storage::DotlockOptions{});
      },
      [this, alive = gate_.token(), subscribe](absl::StatusOr<storage::Subscriptions> s) {
        if (!alive) return;
        if (!s.ok()) return FinishNo(CodeFor(s.status()), "Cannot update subscriptions.");
        Finish(ringmail::imap::Status::kOk, "",
               subscribe ? "Subscribe completed." : "Unsubscribe completed.");
      });
}

}  // namespace ringmail::server::imap
