// Mailbox names to owners' folders, and this user's rights on them
// (RFC 4314); see mailbox_access.h.
#include "server/imap/mailbox_access.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/mutf7.h"
#include "protocols/imap/response.h"
#include "server/imap/blocking.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/folder_name.h"

namespace ringmail::server::imap {

bool SplitSharedName(std::string_view name, char delimiter, std::string_view* rest) {
  if (name.substr(0, kSharedPrefix.size()) != kSharedPrefix) return false;
  if (name.size() == kSharedPrefix.size()) {
    *rest = {};
    return true;
  }
  if (name[kSharedPrefix.size()] != delimiter) return false;
  *rest = name.substr(kSharedPrefix.size() + 1);
  return true;
}

bool ImapSession::ResolveMailbox(std::string_view name, MailboxAccess* out) {
  *out = MailboxAccess();
  const char d = user_->options().delimiter;
  std::string_view rest;
  if (!SplitSharedName(name, d, &rest)) {
    auto path = user_->FolderPath(name);
    if (!path.ok()) return false;
    out->owner = user_;
    out->owner_name = user_->user();
    out->folder = storage::CanonicalFolderName(name, user_->options());
    out->path = *path;
    return true;
  }
  out->shared = true;
  out->namespace_node = true;
  if (rest.empty()) return true;  // "shared" itself
  // The owner's name may contain the delimiter (user@example.com with
  // "."), so try each split until one names a local user.
  for (size_t pos = 0; pos <= rest.size(); ++pos) {
    if (pos < rest.size() && rest[pos] != d) continue;
    std::optional<Directory::Mailbox> mb = svc_->FindUser(rest.substr(0, pos));
    if (!mb) continue;
    out->owner_name = absl::StrCat(mb->local_part, "@", mb->domain);
    out->is_owner = out->owner_name == user_->user();
    if (pos + 1 >= rest.size()) return true;  // "shared/<owner>"
    std::string_view folder = rest.substr(pos + 1);
    MailUser* owner = user_;
    if (!out->is_owner) {
      owner = svc_->AcquireOwner(*mb);
      cmd_owners_.push_back(owner);
    }
    auto path = owner->FolderPath(folder);
    if (!path.ok() || owner->root().empty()) return false;
    out->owner = owner;
    out->namespace_node = false;
    out->folder = storage::CanonicalFolderName(folder, owner->options());
    out->path = *path;
    return true;
  }
  return false;
}

void ImapSession::WithAccess(std::string name,
                             absl::AnyInvocable<void(MailboxAccess)> then) {
  // A user who never received mail has no Maildir yet; STATUS, APPEND and
  // COPY to INBOX must still find it, as with Dovecot's autocreated INBOX.
  EnsureDefaultFolders([this, alive = gate_.token(), name = std::move(name),
                        then = std::move(then)]() mutable {
    if (alive) ReadAccess(std::move(name), std::move(then));
  });
}

void ImapSession::ReadAccess(std::string name,
                             absl::AnyInvocable<void(MailboxAccess)> then) {
  MailboxAccess access;
  if (!ResolveMailbox(name, &access) || access.namespace_node) {
    access.rights = 0;  // nothing to read: not a folder
    then(std::move(access));
    return;
  }
  struct Read {
    bool exists = false;
    absl::StatusOr<storage::AclFile> acl;
  };
  std::string path = access.path;
  RunBlocking<Read>(
      svc_->ctx().pool, svc_->loop(),
      [path]() {
        Read r;
        struct stat sb;
        r.exists = stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
        r.acl = storage::ReadAclFileBlocking(path, storage::AclLimits{});
        return r;
      },
      [this, alive = gate_.token(), access = std::move(access),
       then = std::move(then)](Read r) mutable {
        if (!alive) return;
        access.exists = r.exists;
        absl::StatusOr<storage::AclFile>& acl = r.acl;
        if (!acl.ok()) {
          // Fail closed: an unreadable ACL grants nothing.
          LOG_WARNING("imap: reading ACL of ", access.path, ": ", acl.status().ToString());
          access.rights = 0;
        } else {
          access.acl = std::move(*acl);
          access.rights = storage::EvaluateAcl(
              access.acl, storage::AclSubject{user_->user(), access.is_owner});
        }
        then(std::move(access));
      });
}

bool ImapSession::RequireRights(const MailboxAccess& a, storage::AclRights needed,
                                std::string_view hidden_code) {
  if ((a.rights & needed) == needed) return true;
  if (!(a.rights & storage::kAclLookup)) {
    FinishNo(hidden_code, "Mailbox doesn't exist.");
    return false;
  }
  FinishNo("NOPERM", "Permission denied.");
  return false;
}

void ImapSession::ReleaseCommandOwners() {
  std::vector<MailUser*> owners = std::move(cmd_owners_);
  cmd_owners_.clear();
  for (MailUser* u : owners) svc_->ReleaseUser(u);
}

std::string ImapSession::FormatMailboxName(std::string_view utf8) const {
  std::string wire(utf8);
  if (!carry_.utf8_accept) ringmail::imap::Utf8ToMutf7(std::string(utf8), &wire);
  return wire;
}

}  // namespace ringmail::server::imap
