// ACL (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS, the
// shared-mailboxes dictionary they keep up to date, and LIST of the shared
// namespace built from it.
//
// Rights are stored in each folder's dovecot-acl (storage/mailbox/acl.h)
// and read again for every command that names a mailbox, so a change is
// in force for every session on every core at once.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/acl.h"
#include "protocols/imap/args.h"
#include "protocols/imap/list_pattern.h"
#include "server/imap/blocking.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/acl_shared_dict.h"
#include "storage/mailbox/folder_tree.h"

namespace ringmail::server::imap {
namespace {

using ringmail::imap::AclIdentifier;

storage::AclIdType StorageIdType(AclIdentifier::Kind k) {
  switch (k) {
    case AclIdentifier::Kind::kAnyone: return storage::AclIdType::kAnyone;
    case AclIdentifier::Kind::kAuthenticated: return storage::AclIdType::kAuthenticated;
    case AclIdentifier::Kind::kOwner: return storage::AclIdType::kOwner;
    case AclIdentifier::Kind::kUser: return storage::AclIdType::kUser;
    case AclIdentifier::Kind::kGroup: return storage::AclIdType::kGroup;
  }
  return storage::AclIdType::kUser;
}

// The identifier of a file entry as GETACL shows it; false for entries
// IMAP has no name for (group-override).
bool ImapIdentifier(const storage::AclEntry& e, std::string_view owner, std::string* out) {
  AclIdentifier id;
  id.negative = e.negative;
  id.name = e.name;
  switch (e.type) {
    case storage::AclIdType::kAnyone: id.kind = AclIdentifier::Kind::kAnyone; break;
    case storage::AclIdType::kAuthenticated: id.kind = AclIdentifier::Kind::kAuthenticated; break;
    case storage::AclIdType::kOwner: id.kind = AclIdentifier::Kind::kOwner; break;
    case storage::AclIdType::kUser: id.kind = AclIdentifier::Kind::kUser; break;
    case storage::AclIdType::kGroup: id.kind = AclIdentifier::Kind::kGroup; break;
    case storage::AclIdType::kGroupOverride: return false;
  }
  *out = ringmail::imap::FormatAclIdentifier(id, owner);
  return true;
}

storage::AclRights RightsFromLetters(std::string_view letters) {
  storage::AclRights r = 0;
  for (char c : letters) r |= storage::AclRightFromLetter(c);
  return r;
}

std::string ResponseRights(storage::AclRights r) {
  return ringmail::imap::RightsForResponse(storage::AclRightsToLetters(r));
}

// Whether some entry applies to the owner (else the default, all rights;
// entries for anyone and groups never apply to the owner, storage/acl.h).
bool OwnerHasEntry(const storage::AclFile& acl, std::string_view owner) {
  for (const storage::AclEntry& e : acl.entries) {
    switch (e.type) {
      case storage::AclIdType::kOwner:
        return true;
      case storage::AclIdType::kUser:
        if (e.name == owner) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

// BLOCKING. The grantees of every folder of the tree at `root`.
absl::StatusOr<std::vector<std::string>> CollectGrantees(
    const std::string& root, const storage::FolderNameOptions& opts) {
  storage::FolderTreeLimits limits;
  limits.max_folders = kMaxSharedFoldersPerOwner;
  auto folders = storage::ListFolders(root, opts, limits);
  if (!folders.ok()) return folders.status();
  std::vector<std::string> out;
  for (const storage::FolderInfo& f : *folders) {
    if (f.noselect) continue;
    auto dir = storage::FolderDirName(f.name, opts);
    if (!dir.ok()) continue;
    auto acl = storage::ReadAclFileBlocking(dir->empty() ? root : absl::StrCat(root, "/", *dir),
                                            storage::AclLimits{});
    if (!acl.ok()) continue;
    for (std::string& g : storage::SharedDictGrantees(*acl)) {
      if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(std::move(g));
    }
  }
  return out;
}

// One owner's folders visible to the listing user.
struct SharedOwnerListing {
  std::string owner;
  std::vector<storage::FolderInfo> folders;
};

}  // namespace

void ImapSession::CmdSetAcl(const ringmail::imap::Command& cmd, bool remove) {
  const size_t nargs = remove ? 2 : 3;
  if (cmd.args.size() != nargs) {
    return FinishBad(remove ? "DELETEACL takes a mailbox and an identifier."
                            : "SETACL takes a mailbox, an identifier and rights.");
  }
  std::string name, id_scratch, rights_scratch;
  std::string_view id_text, rights_text;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  if (!ringmail::imap::AstringValue(cmd.args[1], &id_scratch, &id_text) ||
      (!remove && !ringmail::imap::AstringValue(cmd.args[2], &rights_scratch, &rights_text))) {
    return FinishBad("Invalid arguments.");
  }
  ringmail::imap::RightsChange change;
  std::string error;
  if (!remove && !ringmail::imap::ParseRightsChange(rights_text, &change, &error)) {
    return FinishBad(error);
  }
  // The user's own Maildir (INBOX) may not be there yet.
  EnsureDefaultFolders([this, name, remove, change, id = std::string(id_text),
                        alive = gate_.token()]() mutable {
    if (!alive) return;
    WithAccess(name, [this, remove, change, id](MailboxAccess a) {
      if (a.owner == nullptr || a.namespace_node || !a.exists) {
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      // RFC 4314 §3.1/§3.2: administering the ACL needs "a".
      if (!RequireRights(a, storage::kAclAdmin, ringmail::imap::kCodeNonExistent)) return;
      AclIdentifier ident;
      std::string error;
      if (!ringmail::imap::ParseAclIdentifier(id, a.owner_name, &ident, &error)) {
        return FinishBad(error);
      }
      const storage::AclIdType type = StorageIdType(ident.kind);
      const storage::AclRights letters = RightsFromLetters(change.letters);
      RunBlocking<absl::StatusOr<storage::AclFile>>(
          svc_->ctx().pool, svc_->loop(),
          [path = a.path, remove, change, type, name = ident.name, negative = ident.negative,
           letters]() {
            return storage::UpdateAclFileBlocking(
                path, storage::AclLimits{}, storage::DotlockOptions{},
                [&](storage::AclFile* f) -> absl::Status {
                  if (remove) {
                    storage::RemoveAclEntry(f, type, name, negative);
                    return absl::OkStatus();
                  }
                  storage::AclRights now = 0;
                  for (const storage::AclEntry& e : f->entries) {
                    if (e.type == type && e.name == name && e.negative == negative) now = e.rights;
                  }
                  storage::AclRights next = letters;
                  if (change.mod == ringmail::imap::RightsMod::kAdd) next = now | letters;
                  if (change.mod == ringmail::imap::RightsMod::kRemove) {
                    next = now & static_cast<storage::AclRights>(~letters);
                  }
                  return storage::SetAclEntry(f, type, name, negative, next,
                                              storage::AclLimits{});
                });
          },
          [this, alive = gate_.token(), owner = a.owner, remove](absl::StatusOr<storage::AclFile> r) {
            if (!alive) return;
            if (!r.ok()) {
              LOG_WARNING("imap: ACL update failed: ", r.status().ToString());
              return FinishNo(absl::IsInvalidArgument(r.status()) ? ringmail::imap::kCodeLimit
                                                                  : ringmail::imap::kCodeServerBug,
                              "ACL update failed.");
            }
            UpdateSharedDict(owner, [this, alive, remove] {
              if (alive) {
                Finish(ringmail::imap::Status::kOk, "",
                       remove ? "Deleteacl complete." : "Setacl complete.");
              }
            });
          });
    });
  });
}

void ImapSession::UpdateSharedDict(MailUser* owner, absl::AnyInvocable<void()> then) {
  RunBlocking<absl::Status>(
      svc_->ctx().pool, svc_->loop(),
      [root = owner->root(), opts = owner->options(), owner_name = owner->user(),
       dict = svc_->SharedDictPath()]() -> absl::Status {
        auto grantees = CollectGrantees(root, opts);
        if (!grantees.ok()) return grantees.status();
        return storage::ReplaceOwnerSharesBlocking(dict, owner_name, *grantees,
                                                   storage::SharedDictLimits{},
                                                   storage::DotlockOptions{});
      },
      [then = std::move(then), owner_name = owner->user()](absl::Status s) mutable {
        // The ACL itself is in force; only discovery by LIST lags.
        if (!s.ok()) {
          LOG_WARNING("imap: shared-mailboxes update for ", owner_name, ": ", s.ToString());
        }
        then();
      });
}

void ImapSession::CmdGetAcl(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("GETACL takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  // The user's own Maildir (INBOX) may not be there yet.
  EnsureDefaultFolders([this, name, alive = gate_.token()]() mutable {
    if (!alive) return;
    WithAccess(name, [this, name](MailboxAccess a) {
      if (a.owner == nullptr || a.namespace_node || !a.exists) {
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      if (!RequireRights(a, storage::kAclAdmin, ringmail::imap::kCodeNonExistent)) return;
      std::vector<std::pair<std::string, std::string>> entries;
      if (!OwnerHasEntry(a.acl, a.owner_name)) {
        // The default the owner gets (storage/mailbox/acl.h), shown as Dovecot
        // shows it.
        entries.emplace_back(a.owner_name, ResponseRights(storage::kAclAllRights));
      }
      for (const storage::AclEntry& e : a.acl.entries) {
        std::string id;
        if (!ImapIdentifier(e, a.owner_name, &id)) continue;
        entries.emplace_back(std::move(id), ResponseRights(e.rights));
      }
      ringmail::imap::AppendAclResponse(&out(), FormatMailboxName(name), entries);
      Finish(ringmail::imap::Status::kOk, "", "Getacl completed.");
    });
  });
}

void ImapSession::CmdListRights(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 2) return FinishBad("LISTRIGHTS takes a mailbox and an identifier.");
  std::string name, scratch;
  std::string_view id;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  if (!ringmail::imap::AstringValue(cmd.args[1], &scratch, &id)) {
    return FinishBad("Invalid identifier.");
  }
  // The user's own Maildir (INBOX) may not be there yet.
  EnsureDefaultFolders([this, name, id = std::string(id), alive = gate_.token()]() mutable {
    if (!alive) return;
    WithAccess(name, [this, name, id](MailboxAccess a) {
      if (a.owner == nullptr || a.namespace_node || !a.exists) {
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      if (!RequireRights(a, storage::kAclAdmin, ringmail::imap::kCodeNonExistent)) return;
      ringmail::imap::AppendListRights(&out(), FormatMailboxName(name), id);
      Finish(ringmail::imap::Status::kOk, "", "Listrights completed.");
    });
  });
}

void ImapSession::CmdMyRights(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("MYRIGHTS takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  // The user's own Maildir (INBOX) may not be there yet.
  EnsureDefaultFolders([this, name, alive = gate_.token()]() mutable {
    if (!alive) return;
    WithAccess(name, [this, name](MailboxAccess a) {
      // RFC 4314 §3.8: any right lets the user see their rights; none at
      // all and the mailbox does not exist for them (§6).
      if (a.owner == nullptr || a.namespace_node || !a.exists || a.rights == 0) {
        return FinishNo(ringmail::imap::kCodeNonExistent, "Mailbox doesn't exist.");
      }
      ringmail::imap::AppendMyRights(&out(), FormatMailboxName(name), ResponseRights(a.rights));
      Finish(ringmail::imap::Status::kOk, "", "Myrights completed.");
    });
  });
}

void ImapSession::ListShared(std::string pattern, bool lsub,
                             absl::AnyInvocable<void()> then) {
  const char delim = user_->options().delimiter;
  const std::string prefix =
      absl::StrCat(absl::string_view(kSharedPrefix.data(), kSharedPrefix.size()),
                   std::string(1, delim));
  // Only patterns that can match something under "shared" cost a look at
  // the dictionary: compare the literal part before the first wildcard.
  const size_t wild = pattern.find_first_of("*%");
  const std::string literal = pattern.substr(0, wild);
  const size_t n = std::min(literal.size(), prefix.size());
  if (literal.compare(0, n, prefix, 0, n) != 0) return then();
  RunBlocking<std::vector<SharedOwnerListing>>(
      svc_->ctx().pool, svc_->loop(),
      // Not the service: it belongs to the core thread, which may be gone
      // (shutdown) before a queued helper job runs; main owns these two
      // until the helpers have stopped.
      [directory = svc_->ctx().directory, location = svc_->ctx().location,
       me = user_->user(), opts = user_->options(), dict = svc_->SharedDictPath()]() {
        std::vector<SharedOwnerListing> result;
        storage::SharedDictLimits limits;
        auto pairs = storage::ReadSharedDictBlocking(dict, limits);
        if (!pairs.ok()) return result;  // no dictionary: nothing shared
        for (const std::string& owner : storage::OwnersSharingWith(*pairs, me, limits)) {
          // The directory is immutable and the location template pure, so
          // both are safe to use from a helper thread.
          std::optional<Directory::Mailbox> mb = FindMailboxOfLogin(*directory, owner);
          if (!mb) continue;
          auto root = location->Expand(mb->local_part, mb->domain);
          if (!root.ok()) continue;
          storage::FolderTreeLimits tree_limits;
          tree_limits.max_folders = kMaxSharedFoldersPerOwner;
          auto folders = storage::ListFolders(*root, opts, tree_limits);
          if (!folders.ok()) continue;
          SharedOwnerListing listing;
          listing.owner = absl::StrCat(mb->local_part, "@", mb->domain);
          for (storage::FolderInfo& f : *folders) {
            if (f.noselect) continue;
            auto dir = storage::FolderDirName(f.name, opts);
            if (!dir.ok()) continue;
            auto acl = storage::ReadAclFileBlocking(
                dir->empty() ? *root : absl::StrCat(*root, "/", *dir), storage::AclLimits{});
            if (!acl.ok()) continue;
            // RFC 4314 §4: LIST shows a mailbox only with "l".
            if (storage::EvaluateAcl(*acl, storage::AclSubject{me, false}) &
                storage::kAclLookup) {
              listing.folders.push_back(std::move(f));
            }
          }
          if (!listing.folders.empty()) result.push_back(std::move(listing));
        }
        return result;
      },
      [this, alive = gate_.token(), pattern, lsub, delim, prefix,
       then = std::move(then)](std::vector<SharedOwnerListing> owners) mutable {
        if (!alive) return;
        const char* command = lsub ? "LSUB" : "LIST";
        auto emit = [&](const std::string& utf8, uint32_t attrs) {
          std::string wire = FormatMailboxName(utf8);
          if (ringmail::imap::ListPatternMatches(pattern, wire, delim)) {
            ringmail::imap::AppendList(&out(), command, attrs, delim, wire);
          }
        };
        constexpr uint32_t kLevel =
            ringmail::imap::kAttrNoselect | ringmail::imap::kAttrHasChildren;
        if (!owners.empty()) emit(prefix.substr(0, prefix.size() - 1), kLevel);
        for (const SharedOwnerListing& o : owners) {
          const std::string base = absl::StrCat(prefix, o.owner);
          emit(base, kLevel);
          for (const storage::FolderInfo& f : o.folders) {
            emit(absl::StrCat(base, std::string(1, delim), f.name),
                 f.has_children ? ringmail::imap::kAttrHasChildren
                                : ringmail::imap::kAttrHasNoChildren);
          }
        }
        then();
      });
}

}  // namespace ringmail::server::imap
