// QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA, SETQUOTA, and the quota checks
// and maildirsize updates of APPEND, COPY, MOVE and EXPUNGE.
//
// Writes to another user's shared folder are charged to that owner's
// quota; GETQUOTAROOT on such a folder is refused, as in Dovecot.
//
// Every user has at most one quota root, "User quota" (Dovecot's name with
// `quota = maildir:User quota`), covering all their folders; a user without
// limits has none. Resources: STORAGE in units of 1024 octets (rounded up,
// as Dovecot 2.3 shows them) and MESSAGE. Only the limited ones are listed.
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/args.h"
#include "server/imap/imap_session.h"
#include "server/imap/mailbox_access.h"

namespace ringmail::server::imap {
namespace {

uint64_t KilobytesUp(uint64_t bytes) { return bytes / 1024 + (bytes % 1024 != 0); }

// An astring as Dovecot writes it: an atom when it can be one (RFC 3501
// §9 ASTRING-CHAR), else a quoted string or literal.
void AppendAstring(std::string* out, std::string_view s) {
  bool atom = !s.empty();
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' ||
        c == '*' || c == '"' || c == '\\') {
      atom = false;
      break;
    }
  }
  if (atom) {
    out->append(s);
  } else {
    ringmail::imap::AppendImapString(out, s);
  }
}

// "* QUOTA "User quota" (STORAGE <used> <limit> MESSAGE <used> <limit>)".
void AppendQuota(std::string* out, const storage::QuotaLimits& limits,
                 const storage::QuotaUsage& usage) {
  out->append("* QUOTA ");
  ringmail::imap::AppendImapString(out, kQuotaRootName);
  out->append(" (");
  if (limits.bytes != 0) {
    absl::StrAppend(out, "STORAGE ", KilobytesUp(usage.bytes), " ",
                    KilobytesUp(limits.bytes));
  }
  if (limits.messages != 0) {
    absl::StrAppend(out, limits.bytes != 0 ? " " : "", "MESSAGE ",
                    usage.messages, " ", limits.messages);
  }
  out->append(")\r\n");
}

}  // namespace

QuotaEnv ImapSession::quota_env() const {
  return QuotaEnv{svc_->loop(), svc_->ctx().pool};
}

void ImapSession::CmdGetQuotaRoot(const ringmail::imap::Command& cmd) {
  if (cmd.args.size() != 1) return FinishBad("GETQUOTAROOT takes one mailbox name.");
  std::string name;
  ringmail::imap::ArgError err;
  if (!ringmail::imap::ParseMailbox(cmd.args[0], carry_.utf8_accept, &name, &err)) {
    return FinishBad(err.text);
  }
  // The reply names the mailbox as the client wrote it (Dovecot does too);
  // whether it exists does not matter: every folder has the same root.
  std::string scratch;
  std::string_view as_sent;
  if (!ringmail::imap::AstringValue(cmd.args[0], &scratch, &as_sent)) {
    return FinishBad("Invalid mailbox name.");
  }
  // A folder in the shared namespace is charged to its owner (APPEND and
  // COPY use the owner's QuotaTarget), but, like Dovecot (imap-quota
  // cmd_getquotaroot: "ns->owner != client->user"), another user's quota
  // is not shown: a folder of a namespace owned by someone else gets NO.
  // RFC 9208 §4.3.1 does not say whose roots a shared mailbox lists; we
  // follow Dovecot, which also keeps the owner's usage private. Only when
  // quota is configured at all (Dovecot: the quota plugin is loaded for
  // the user; else "OK No quota." comes first).
  if (svc_->ctx().quota != nullptr && svc_->ctx().quota->any()) {
    MailboxAccess access;
    if (ResolveMailbox(name, &access) && access.shared && !access.is_owner &&
        !access.owner_name.empty()) {
      return FinishNo("", "Not showing other users' quota.");
    }
  }
  std::string quotaroot = "* QUOTAROOT ";
  AppendAstring(&quotaroot, as_sent);
  const QuotaTarget& target = user_->quota;
  if (!target.enabled()) {
    // RFC 9208 §4.3.1: the reply lists no root (Dovecot sends no untagged
    // reply at all, just "OK No quota.").
    absl::StrAppend(&out(), quotaroot, "\r\n");
    return Finish(ringmail::imap::Status::kOk, "", "No quota.");
  }
  GetQuotaUsage(quota_env(), target,
                [this, alive = gate_.token(), limits = target.limits,
                 quotaroot = std::move(quotaroot)](
                    absl::StatusOr<storage::QuotaUsage> usage) mutable {
                  if (!alive) return;
                  if (!usage.ok()) {
                    LOG_WARNING("imap: quota of ", user_->user(), ": ",
                                usage.status().ToString());
                    return FinishNo(ringmail::imap::kCodeServerBug,
                                    "Internal quota calculation error.");
                  }
                  quotaroot.push_back(' ');
                  ringmail::imap::AppendImapString(&quotaroot, kQuotaRootName);
                  absl::StrAppend(&out(), quotaroot, "\r\n");
                  AppendQuota(&out(), limits, *usage);
                  Finish(ringmail::imap::Status::kOk, "", "Getquotaroot completed.");
                });
}

void ImapSession::CmdGetQuota(const ringmail::imap::Command& cmd) {
  std::string scratch;
  std::string_view root;
  if (cmd.args.size() != 1 || !ringmail::imap::AstringValue(cmd.args[0], &scratch, &root)) {
    return FinishBad("GETQUOTA takes one quota root name.");
  }
  const QuotaTarget& target = user_->quota;
  if (!target.enabled() || root != kQuotaRootName) {
    return FinishNo(ringmail::imap::kCodeNonExistent, "Quota root doesn't exist.");
  }
  GetQuotaUsage(quota_env(), target,
                [this, alive = gate_.token(), limits = target.limits](
                    absl::StatusOr<storage::QuotaUsage> usage) {
                  if (!alive) return;
                  if (!usage.ok()) {
                    LOG_WARNING("imap: quota of ", user_->user(), ": ",
                                usage.status().ToString());
                    return FinishNo(ringmail::imap::kCodeServerBug,
                                    "Internal quota calculation error.");
                  }
                  AppendQuota(&out(), limits, *usage);
                  Finish(ringmail::imap::Status::kOk, "", "Getquota completed.");
                });
}

void ImapSession::CmdSetQuota(const ringmail::imap::Command& cmd) {
  std::string scratch;
  std::string_view root;
  if (cmd.args.size() != 2 || !ringmail::imap::AstringValue(cmd.args[0], &scratch, &root) ||
      cmd.args[1].type != ringmail::imap::ArgType::kList) {
    return FinishBad("SETQUOTA takes a quota root and a list of limits.");
  }
  // Limits come from the passwd-file and the configuration; we do not
  // advertise QUOTASET (RFC 9208 §4.1.3).
  FinishNo("NOPERM", "Quota can be changed only by admin.");
}

void ImapSession::CheckQuota(uint64_t bytes, uint64_t messages,
                             absl::AnyInvocable<void(bool)> then,
                             const QuotaTarget* target) {
  auto shared = std::make_shared<absl::AnyInvocable<void(bool)>>(std::move(then));
  bool at_once = CheckQuotaAsync(
      quota_env(), target != nullptr ? *target : user_->quota, bytes, messages,
      [alive = gate_.token(), shared](storage::QuotaVerdict v) {
        if (alive) (*shared)(v == storage::QuotaVerdict::kFits);
      });
  if (at_once) (*shared)(true);
}

void ImapSession::FinishOverQuota() {
  FinishNo(ringmail::imap::kCodeOverQuota, "Quota exceeded (mailbox for user is full)");
}

void ImapSession::NoteQuotaChange(int64_t bytes, int64_t messages,
                                  absl::AnyInvocable<void()> then,
                                  const QuotaTarget* target) {
  const QuotaTarget& quota = target != nullptr ? *target : user_->quota;
  if (!then) return RecordQuotaChange(quota_env(), quota, bytes, messages);
  RecordQuotaChange(quota_env(), quota, bytes, messages,
                    [alive = gate_.token(), then = std::move(then)]() mutable {
                      if (alive) then();
                    });
}

uint64_t ImapSession::StoredBytes(FolderState& folder,
                                  const std::vector<uint32_t>& uids) {
  uint64_t total = 0;
  for (uint32_t uid : uids) {
    if (auto pos = folder.index().PositionOfUid(uid)) total += folder.index().message_size(*pos);
  }
  return total;
}

}  // namespace ringmail::server::imap
