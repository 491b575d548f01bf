// One user's mail on the user's home core: the Maildir root and the
// folders open for that user's sessions. Only the home core touches it, so
// UID assignment and flag changes need no locks between cores.
//
// A *guest* MailUser is the same user's mail opened on another core for
// sessions of other users the owner shared folders with (RFC 4314, see
// docs/architecture.md "Shared folders and ACL"). Its folders run in guest
// mode (FolderState): they touch the Maildir like an outside program does
// and never take the owner's ringmail-index.
#ifndef RINGMAIL_SERVER_IMAP_MAIL_USER_H_
#define RINGMAIL_SERVER_IMAP_MAIL_USER_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "engine/fs_watch.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "server/imap/folder_state.h"
#include "server/quota_service.h"
#include "storage/mailbox/folder_name.h"

namespace ringmail::server::imap {

class MailUser {
 public:
  // `watcher` (may be null) is the core's inotify instance, handed to every
  // FolderState; it must outlive this object.
  MailUser(engine::Loop* loop, engine::HelperPool* pool,
           engine::FsWatcher* watcher, std::string user, std::string root,
           storage::FolderNameOptions options, bool guest = false)
      : loop_(loop), pool_(pool), watcher_(watcher), user_(std::move(user)),
        root_(std::move(root)), options_(options), guest_(guest) {}

  const std::string& user() const { return user_; }
  // The Maildir root (INBOX).
  const std::string& root() const { return root_; }
  const storage::FolderNameOptions& options() const { return options_; }
  // Opened on a core other than the user's home core (see above).
  bool guest() const { return guest_; }
  engine::Loop* loop() const { return loop_; }
  engine::HelperPool* pool() const { return pool_; }

  // The folder's directory for a UTF-8 folder name, or InvalidArgument.
  absl::StatusOr<std::string> FolderPath(std::string_view name) const;
  // The open state of a folder (created on first use, not yet synced).
  // Canonicalises INBOX's case.
  absl::StatusOr<FolderState*> Open(std::string_view name);
  // The open state if the folder is open, else nullptr.
  FolderState* FindOpen(std::string_view name);
  // Forgets an open folder (after DELETE or RENAME, or when it was not
  // found), unless something still depends on it (FolderState::Forgettable):
  // then it stays, and its next sync finds what the directory holds.
  void Forget(std::string_view name);

  // Sessions of this user on this core; the service drops the user at 0.
  int sessions = 0;
  // Whether the default folders (SPECIAL-USE) were checked this run.
  bool defaults_checked = false;
  // The user's quota (server/quota_service.h); disabled when unlimited.
  QuotaTarget quota;

 private:
  engine::Loop* loop_;
  engine::HelperPool* pool_;
  engine::FsWatcher* watcher_;
  std::string user_;
  std::string root_;
  storage::FolderNameOptions options_;
  bool guest_;
  absl::flat_hash_map<std::string, std::unique_ptr<FolderState>> folders_;
};

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_MAIL_USER_H_
