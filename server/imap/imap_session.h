// One IMAP connection: reads commands with ringmail::imap::CommandReader, runs them
// one at a time against the user's mail (storage through the ring and the
// helper pool), and writes responses.
//
// Commands that wait for I/O leave the session `busy_`; input that arrives
// meanwhile is kept (bounded) and parsed when the command completes. Every
// handler copies what it needs out of the parsed command before it waits,
// because the command's views point into buffers that do not outlive the
// call.
#ifndef RINGMAIL_SERVER_IMAP_IMAP_SESSION_H_
#define RINGMAIL_SERVER_IMAP_IMAP_SESSION_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/gate.h"
#include "engine/session_registry.h"
#include "engine/tcp.h"
#include "engine/tls.h"
#include "protocols/imap/args.h"
#include "protocols/imap/command_reader.h"
#include "protocols/imap/condstore.h"
#include "protocols/imap/fetch.h"
#include "protocols/imap/response.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sequence_set.h"
#include "protocols/imap/session_state.h"
#include "protocols/imap/tls_policy.h"
#include "server/imap/folder_state.h"
#include "server/imap/imap_service.h"
#include "server/imap/mail_user.h"
#include "server/imap/mailbox_access.h"
#include "storage/mailbox/acl.h"

namespace ringmail::server::imap {

class ImapSession final : public engine::ConnectionHandler {
 public:
  // Exactly one of `plain` (port 143, may upgrade with STARTTLS) and `tls`
  // (implicit TLS, or a TLS session handed over) is non-null; neither has
  // been started. The session starts it and owns it until OnClosed.
  ImapSession(ImapService* svc, engine::Connection* plain, engine::TlsStream* tls,
              SessionCarry carry);
  ~ImapSession() override;

  // A new connection: greeting, not authenticated.
  void StartFresh();
  // A connection handed over after authentication (on the home core).
  void StartAuthenticated(MailUser* user, std::string unread);
  // Service shutdown: BYE and close.
  void Shutdown();

  // engine::ConnectionHandler
  void OnReceive(std::string_view data) override;
  void OnPeerClosed() override;
  void OnClosed() override;

 private:
  // ---- input and dispatch (imap_session.cc)
  size_t Pump(std::string_view in);
  void PumpPending();
  // Handles one reader event; returns false to stop pumping (busy/closed).
  bool HandleEvent(ringmail::imap::CommandReader::Event ev);
  void Dispatch(const ringmail::imap::Command& cmd);
  // Ends the running command: pending updates, the tagged reply, then more
  // input. `code` is a response code without brackets (may be empty).
  void Finish(ringmail::imap::Status status, std::string_view code, std::string_view text);
  void FinishBad(std::string_view text) { Finish(ringmail::imap::Status::kBad, "", text); }
  void FinishNo(std::string_view code, std::string_view text) {
    Finish(ringmail::imap::Status::kNo, code, text);
  }
  void Begin(const ringmail::imap::Command& cmd);  // records tag and command
  std::string& out() { return stream_->output(); }
  void StartStream();
  void CmdStarttls();
  // STARTTLS was answered: drop `discarded` pipelined plaintext octets
  // (already removed from the input) and switch the stream to TLS.
  void UpgradeToTls(size_t discarded);
  // False (and the command finished with NO) if logging in is not allowed
  // now: plaintext off TLS, or the client IP is throttled.
  bool LoginAllowed();
  void FlushOutput();
  void CloseConnection();
  void ArmIdleTimer();
  void OnIdleTimer();
  std::string Capabilities() const;

  // ---- not authenticated / any state (imap_session.cc)
  void CmdCapability();
  void CmdNoop();
  void CmdLogout();
  void CmdId(const ringmail::imap::Command& cmd);
  void CmdEnable(const ringmail::imap::Command& cmd);
  void CmdLogin(const ringmail::imap::Command& cmd);
  void CmdAuthenticate(const ringmail::imap::Command& cmd);
  void OnAuthLine(std::string_view line);
  void VerifyLogin(std::string user, std::string password);
  void LoggedIn(const Directory::Mailbox& mailbox);
  void CmdIdle();
  void OnIdleLine(std::string_view line);

  // ---- mailboxes: select_commands.cc (SELECT/EXAMINE, Unselect, default
  // folders), imap_mailbox_commands.cc (CREATE/DELETE/RENAME/SUBSCRIBE),
  // list_commands.cc (LIST/LSUB/STATUS/NAMESPACE), append_commands.cc
  void CmdSelect(const ringmail::imap::Command& cmd, bool read_only);
  void CmdCreate(const ringmail::imap::Command& cmd);
  void CmdDelete(const ringmail::imap::Command& cmd);
  void CmdRename(const ringmail::imap::Command& cmd);
  void CmdSubscribe(const ringmail::imap::Command& cmd, bool subscribe);
  void CmdList(const ringmail::imap::Command& cmd, bool lsub);
  void CmdStatus(const ringmail::imap::Command& cmd);
  void CmdNamespace();
  void AppendBegin(const ringmail::imap::Command& cmd);
  void AppendData(std::string_view chunk);
  void AppendEnd();
  void Unselect();
  void EnsureDefaultFolders(absl::AnyInvocable<void()> then);

  // ---- messages: imap_message_commands.cc (sets, CHECK/CLOSE/EXPUNGE),
  // fetch_store_commands.cc, search_commands.cc, copy_commands.cc
  void CmdCheck();
  void CmdClose(bool expunge);
  void CmdExpunge(const ringmail::imap::Command& cmd);
  void CmdFetch(const ringmail::imap::Command& cmd);
  void CmdStore(const ringmail::imap::Command& cmd);
  void CmdSearch(const ringmail::imap::Command& cmd);
  void CmdCopy(const ringmail::imap::Command& cmd, bool move);
  // Resolves a sequence or UID set argument to UIDs present in the view,
  // ascending. False (and a BAD sent) on a syntax error.
  bool ResolveSet(std::string_view text, bool uid, std::vector<uint32_t>* uids);
  void ExpungeUids(std::vector<uint32_t> uids, bool send_expunge,
                   absl::AnyInvocable<void(bool ok)> done);
  void FetchNext(std::shared_ptr<struct FetchJob> job);
  void SearchNext(std::shared_ptr<struct SearchJob> job);

  // ---- CONDSTORE / QRESYNC, RFC 7162 (condstore_commands.cc)
  struct ModSeqState {
    bool condstore = false;  // enabled (§3.1): MODSEQ in FETCH responses
    bool qresync = false;    // ENABLE QRESYNC (§3.2): VANISHED, not EXPUNGE
    // HIGHESTMODSEQ of the selected mailbox up to which the client has
    // been told every change; `sent`: the highest MODSEQ sent in FETCH
    // responses during the current command.
    uint64_t last_full = 0;
    uint64_t sent = 0;
    std::vector<uint32_t> vanished;  // own expunges, reported at the end
  };
  // ENABLE CONDSTORE / QRESYNC; true when newly enabled.
  bool EnableModSeqExtension(std::string_view capability);
  // Turns CONDSTORE on; a selected client is told its HIGHESTMODSEQ.
  void EnableCondstore();
  // A CONDSTORE-enabling command on the selected mailbox (FETCH MODSEQ,
  // CHANGEDSINCE, STORE UNCHANGEDSINCE, SEARCH MODSEQ): enables CONDSTORE;
  // false after finishing with BAD when the mailbox is NOMODSEQ.
  bool StartModSeqCommand();
  // SELECT/EXAMINE: leaves the selected mailbox with "OK [CLOSED]".
  void CloseForSelect();
  // SELECT/EXAMINE parameters; false after finishing with BAD.
  bool ParseSelectArgs(const ringmail::imap::Command& cmd,
                       ringmail::imap::SelectParams* out);
  // After SELECT's standard responses: HIGHESTMODSEQ or NOMODSEQ, the
  // QRESYNC answer (VANISHED (EARLIER), changed messages), the tagged OK.
  void FinishSelect(const ringmail::imap::SelectParams& params, bool read_only);
  void SendChangedMessages(std::shared_ptr<std::vector<uint32_t>> uids, size_t next,
                           std::string code, std::string text);
  // FETCH: MODSEQ reporting, the CHANGEDSINCE filter of `uids` and the
  // VANISHED (EARLIER) response; false after finishing with BAD.
  bool PrepareModSeqFetch(std::string_view set_text,
                          ringmail::imap::FetchRequest* request,
                          std::vector<uint32_t>* uids);
  // STORE's untagged FETCH for one message (FLAGS unless silent, UID for
  // UID STORE, MODSEQ once CONDSTORE is on).
  void ReportStore(uint32_t uid, bool silent, bool changed);
  // SEARCH's (MODSEQ n): the highest mod-sequence of the hits.
  uint64_t HighestModSeqOf(const std::vector<uint32_t>& hits) const;
  // Our own expunge: "* n EXPUNGE", or a UID for FlushOwnVanished.
  void ReportExpunged(uint32_t seq, uint32_t uid);
  void FlushOwnVanished();
  // At the end of a command on the selected mailbox: the HIGHESTMODSEQ
  // response code for the tagged OK (or "" after sending it untagged).
  std::string ModSeqAfterCommand(bool may_use_tagged_code);

  // ---- SORT / THREAD, RFC 5256 (sort_thread_commands.cc)
  void CmdSort(const ringmail::imap::Command& cmd);
  void CmdThread(const ringmail::imap::Command& cmd);
  void StartSortThread(std::shared_ptr<struct SortThreadJob> job);
  void SortThreadNext(std::shared_ptr<struct SortThreadJob> job);

  // ---- QUOTA, RFC 9208 (quota_commands.cc)
  void CmdGetQuotaRoot(const ringmail::imap::Command& cmd);
  void CmdGetQuota(const ringmail::imap::Command& cmd);
  void CmdSetQuota(const ringmail::imap::Command& cmd);
  // Calls then(true) when `bytes` in `messages` more messages fit the
  // user's quota (at once for a user without limits), else then(false);
  // never after the session is gone.
  // `target` (may be null: the session user's) is the quota charged; a
  // shared folder's writes are charged to its owner.
  void CheckQuota(uint64_t bytes, uint64_t messages,
                  absl::AnyInvocable<void(bool fits)> then,
                  const QuotaTarget* target = nullptr);
  // NO [OVERQUOTA] (RFC 9208 §4.3), Dovecot's text.
  void FinishOverQuota();
  // Stored (positive) or expunged (negative) messages, for maildirsize.
  // `then` (may be null) runs once the file is updated (inside the call
  // when there is nothing to record), never after the session is gone:
  // replies sent from it are never ahead of what other cores read.
  void NoteQuotaChange(int64_t bytes, int64_t messages,
                       absl::AnyInvocable<void()> then = nullptr,
                       const QuotaTarget* target = nullptr);
  // The stored size of the messages `uids` of `folder` (those still there).
  static uint64_t StoredBytes(FolderState& folder,
                              const std::vector<uint32_t>& uids);
  QuotaEnv quota_env() const;

  // ---- shared folders and ACL, RFC 4314 (mailbox_access.cc, acl_commands.cc)
  // Resolves `name` (personal, or shared/<owner>/<folder>). False when it
  // names nothing (unknown owner, invalid name). A foreign owner's MailUser
  // is leased until the command finishes (cmd_owners_).
  bool ResolveMailbox(std::string_view name, MailboxAccess* out);
  // Creates the user's Maildir root and default folders if this user's
  // were not checked yet (INBOX exists for every user, RFC 3501 §5.1),
  // then ResolveMailbox, then reads the folder's dovecot-acl on a helper
  // and calls then(access) with this user's rights; an unresolvable name
  // gets rights 0 (so RequireRights answers NONEXISTENT). Never after the
  // session is gone.
  void WithAccess(std::string name, absl::AnyInvocable<void(MailboxAccess)> then);
  void ReadAccess(std::string name, absl::AnyInvocable<void(MailboxAccess)> then);
  // False after finishing with NO when `a` lacks any of `needed`:
  // `hidden_code` (NONEXISTENT, or TRYCREATE for APPEND/COPY targets) when
  // `l` is missing too, so a folder the user may not see does not leak its
  // existence (RFC 4314 §6); else NOPERM (RFC 5530).
  bool RequireRights(const MailboxAccess& a, storage::AclRights needed,
                     std::string_view hidden_code);
  // The MailUser owning the selected folder (the user's own or leased).
  MailUser* selected_owner() const {
    return selected_owner_ != nullptr ? selected_owner_ : user_;
  }
  bool HasSelectedRight(storage::AclRights r) const {
    return (selected_rights_ & r) == r;
  }
  void ReleaseCommandOwners();
  std::string FormatMailboxName(std::string_view utf8) const;
  void CmdSetAcl(const ringmail::imap::Command& cmd, bool remove);
  void CmdGetAcl(const ringmail::imap::Command& cmd);
  void CmdListRights(const ringmail::imap::Command& cmd);
  void CmdMyRights(const ringmail::imap::Command& cmd);
  // After SETACL/DELETEACL: recomputes the owner's shared-mailboxes keys.
  void UpdateSharedDict(MailUser* owner, absl::AnyInvocable<void()> then);
  // LIST/LSUB in the shared namespace: appends the matching shared folders
  // (and their namespace levels) visible to this user, then calls then().
  void ListShared(std::string pattern, bool lsub, absl::AnyInvocable<void()> then);

  ImapService* svc_;
  engine::Connection* plain_;  // non-null while plaintext (STARTTLS source)
  engine::TlsStream* tls_;     // non-null once TLS
  engine::Stream* stream_;     // the one in use
  SessionCarry carry_;
  ringmail::imap::ConnectionSecurity security_;
  ringmail::imap::CommandReader reader_;
  bool starttls_ = false;  // tagged OK queued; upgrade once Pump returns
  ringmail::imap::SessionStateTracker state_;
  MailUser* user_ = nullptr;
  std::unique_ptr<FolderView> view_;
  ModSeqState modseq_;
  // Foreign owners leased by the running command (released by Finish).
  std::vector<MailUser*> cmd_owners_;
  // The owner of the selected folder when it is not user_ (leased until
  // Unselect), and this user's rights on the selected folder.
  MailUser* selected_owner_ = nullptr;
  storage::AclRights selected_rights_ = storage::kAclAllRights;

  // The command in progress.
  bool busy_ = false;
  std::string tag_;
  const ringmail::imap::CommandSpec* spec_ = nullptr;
  bool uid_cmd_ = false;
  enum class RawMode : uint8_t { kNone, kAuthPlain, kAuthLoginUser, kAuthLoginPass, kIdle };
  RawMode raw_mode_ = RawMode::kNone;
  std::string auth_user_;  // AUTHENTICATE LOGIN, between its two lines
  int auth_failures_ = 0;

  // APPEND in progress: the message as stored (LF line endings).
  struct AppendState {
    ringmail::imap::AppendArgs args;
    std::string data;
    uint64_t crlf_size = 0;  // the literal as sent
    bool pending_cr = false;
    // The target folder's owner (the user's own, or leased for the
    // command) and its name in the owner's tree.
    MailUser* owner = nullptr;
    std::string folder;
  };
  std::unique_ptr<AppendState> append_;

  std::string pending_;  // unparsed input while busy
  absl::Time last_activity_;  // Loop::steady_now() clock
  absl::Time connected_;      // same clock; imap.login_timeout counts from it
  engine::Loop::TimerId idle_timer_ = 0;
  bool gone_ = false;
  bool closing_ = false;
  // Commands waiting on I/O, helpers, timers or folder syncs may complete
  // after the session is deleted; their callbacks hold a token of this gate.
  // Closed first thing in the destructor.
  engine::Gate gate_;
  engine::SessionRegistry<ImapSession>::Membership membership_;
};

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_IMAP_SESSION_H_
