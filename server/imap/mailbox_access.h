// A mailbox name as a session sees it, resolved to the folder of its owner
// and this user's RFC 4314 rights on it.
//
// Names are either personal ("Projects", in the user's own tree) or in
// the shared namespace, "shared<d><owner><d><folder>" (<d> the hierarchy
// delimiter, <owner> a login name user@domain), which maps to <folder> of
// the owner's Maildir. Rights come from the folder's dovecot-acl
// (storage/mailbox/acl.h); the owner has all of them unless the file says
// otherwise.
#ifndef RINGMAIL_SERVER_IMAP_MAILBOX_ACCESS_H_
#define RINGMAIL_SERVER_IMAP_MAILBOX_ACCESS_H_

#include <string>
#include <string_view>

#include "server/imap/mail_user.h"
#include "storage/mailbox/acl.h"

namespace ringmail::server::imap {

// The shared namespace prefix without its delimiter (RFC 2342 NAMESPACE).
inline constexpr std::string_view kSharedPrefix = "shared";
// Folders of one owner a LIST of the shared namespace considers.
inline constexpr size_t kMaxSharedFoldersPerOwner = 1000;

struct MailboxAccess {
  // Whose folder. The session's own MailUser, or one it leased for the
  // running command (ImapService::AcquireOwner) and releases when the
  // command finishes (or when the folder is unselected, after SELECT).
  MailUser* owner = nullptr;
  std::string owner_name;  // login name, user@domain
  bool is_owner = true;    // the session's user owns the folder
  bool shared = false;     // named in the shared namespace
  // "shared" or "shared/<owner>": a namespace level, not a folder.
  bool namespace_node = false;
  std::string folder;  // the name in the owner's tree (UTF-8)
  std::string path;    // its Maildir directory
  // Filled by ImapSession::WithAccess.
  bool exists = false;  // the folder's directory is there
  storage::AclRights rights = 0;
  storage::AclFile acl;
};

// Splits a shared-namespace name: true when `name` is "shared" or starts
// with "shared<d>"; `rest` is what follows "shared<d>" (may be empty).
bool SplitSharedName(std::string_view name, char delimiter, std::string_view* rest);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_MAILBOX_ACCESS_H_
