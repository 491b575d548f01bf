// A POP3 session's maildrop: the user's INBOX on the home core, through the
// same MailUser / FolderState as IMAP (so UIDs, flags and expunges are
// shared and IMAP views hear about POP3 deletions at once).
//
// The listing is fixed when the maildrop opens (RFC 1939 §5); later
// deliveries wait for the next session. Reads and the UPDATE deletions go
// through the core's ring. Must be used and destroyed on the home core;
// callbacks never run after destruction.
#ifndef RINGMAIL_SERVER_POP3_MAILDROP_H_
#define RINGMAIL_SERVER_POP3_MAILDROP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/helper_pool.h"
#include "engine/gate.h"
#include "engine/loop.h"
#include "protocols/pop3/session.h"
#include "server/directory.h"
#include "server/imap/folder_state.h"
#include "server/imap/imap_service.h"
#include "server/imap/mail_user.h"
#include "server/pop3/message_file.h"

namespace ringmail::server::pop3 {

struct MaildropOptions {
  std::string uidl_format;     // validated (pop3::ValidateUidlFormat)
  bool mark_seen = true;       // RETR sets \Seen (Dovecot's
                               // pop3_no_flag_updates = no)
};

class Maildrop {
 public:
  // Acquires the user's MailUser from `imap` (the ImapService of this
  // core); both must outlive the Maildrop.
  Maildrop(engine::Loop* loop, engine::HelperPool* pool, imap::ImapService* imap,
           const Directory::Mailbox& user, MaildropOptions options);
  ~Maildrop();
  Maildrop(const Maildrop&) = delete;
  Maildrop& operator=(const Maildrop&) = delete;

  using OpenFn =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<ringmail::pop3::MaildropEntry>>)>;
  // Syncs INBOX and lists it: sizes with CRLF line ends (the W= size, or
  // counted from the file on a helper when unknown) and UIDLs. A missing
  // INBOX is an empty maildrop. Unavailable when the folder cannot be read.
  void Open(OpenFn done);

  using OpenMessageFn = absl::AnyInvocable<void(ringmail::pop3::RetrieveStatus,
                                                std::unique_ptr<MessageFile>)>;
  // Opens message `index` of the listing for streaming (the file is null
  // unless kOk). A file renamed by another client (a flag change) is found
  // again after a resync (kMaxReadAttempts); kVanished if it was expunged,
  // kFailed (logged) for other errors.
  void OpenMessage(size_t index, OpenMessageFn done);

  // RETR sent the whole message: with mark_seen, moves it new/ -> cur/ with
  // \Seen (a failed rename is ignored), then `then` (not called if the
  // Maildrop is destroyed first).
  void MarkRetrieved(size_t index, absl::AnyInvocable<void()> then);

  // UPDATE: unlinks the messages at `indices`, updates the index and tells
  // IMAP views; `done(failed)` counts the files that could not be removed
  // (one already gone counts as removed).
  void Delete(std::vector<size_t> indices, absl::AnyInvocable<void(size_t)> done);

 private:
  struct DeleteJob;
  void FinishOpen(OpenFn done);
  void OpenAttempt(size_t index, int attempt, OpenMessageFn done);
  void MarkSeen(uint32_t uid, absl::AnyInvocable<void()> then);
  void DeleteNext(std::shared_ptr<DeleteJob> job);

  engine::Loop* loop_;
  engine::HelperPool* pool_;
  imap::ImapService* imap_;
  imap::MailUser* user_;
  MaildropOptions options_;
  imap::FolderState* folder_ = nullptr;   // nullptr: no INBOX yet
  std::unique_ptr<imap::FolderView> view_;
  std::vector<uint32_t> uids_;            // listing index -> UID
  // Folder syncs, claims, renames and quota updates may complete after the
  // maildrop is gone; their callbacks hold a token of this gate.
  engine::Gate gate_;
};

}  // namespace ringmail::server::pop3

#endif  // RINGMAIL_SERVER_POP3_MAILDROP_H_
