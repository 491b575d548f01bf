// Per-user quotas (issue #4): who has which limits, and the per-core
// operations on a user's Maildir++ maildirsize file (storage/mailbox/
// maildirsize.h), which stays the only record of the usage.
//
// No locks and no shared mutable state: every core that changes a user's
// mail (SMTP/LMTP delivery on any core, IMAP and POP3 on the user's home
// core) appends its own delta line with O_APPEND, and every check reads the
// file. Recalculations (directory scans) run on the helper pool. A user
// without limits costs nothing: no file is read or written for them.
//
// Failures to read the usage are logged and let the operation proceed, as
// Dovecot does ("saving mail anyway"): a broken quota file must not stop
// mail.
#ifndef RINGMAIL_SERVER_QUOTA_SERVICE_H_
#define RINGMAIL_SERVER_QUOTA_SERVICE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "server/directory.h"
#include "storage/maildir/mail_location.h"
#include "storage/mailbox/maildirsize.h"

namespace ringmail::server {

// The one quota root every user has, named as Dovecot's
// `quota = maildir:User quota` names it (IMAP GETQUOTAROOT, RFC 9208).
inline constexpr std::string_view kQuotaRootName = "User quota";

// Who has which limits. Process-wide, immutable after Create: every core
// reads it without locks.
class QuotaPolicy {
 public:
  // Parses the quota rules of every passwd-file entry (server/quota_rule.h)
  // once. `defaults` (config quota.storage / quota.messages) apply to users
  // without a rule, and to the limit a user's rules leave unset.
  // InvalidArgument "user <u>: quota rule '...': ..." for a bad rule.
  // Per-mailbox rules are skipped with a warning in the log. `directory`
  // must outlive the policy.
  static absl::StatusOr<std::unique_ptr<QuotaPolicy>> Create(
      const Directory& directory, storage::QuotaLimits defaults);

  storage::QuotaLimits LimitsFor(std::string_view local_part,
                                 std::string_view domain) const;
  // False when nobody has a limit: callers skip every lookup.
  bool any() const { return !defaults_.unlimited() || !users_.empty(); }

 private:
  QuotaPolicy() = default;
  const Directory* directory_ = nullptr;
  storage::QuotaLimits defaults_;
  // Users with rules; the pointers are the Directory's (immutable).
  absl::flat_hash_map<const auth::PasswdEntry*, storage::QuotaLimits> users_;
};

// One user's quota: the Maildir root holding maildirsize, and the limits.
struct QuotaTarget {
  std::string maildir;
  storage::QuotaLimits limits;
  // Operations on a target that is not enabled do nothing.
  bool enabled() const { return !maildir.empty() && !limits.unlimited(); }
};

// The target for `user`, or a disabled one (no policy, no limits, or no
// mail location for the user).
QuotaTarget QuotaTargetFor(const QuotaPolicy* policy,
                           const storage::MailLocation& location,
                           const Directory::Mailbox& user);

// Where the per-core operations run: the core's loop (FileIo) and the
// helper pool (recalculations). Both must outlive the operations.
struct QuotaEnv {
  engine::Loop* loop = nullptr;
  engine::HelperPool* pool = nullptr;
};

using QuotaUsageCallback =
    absl::AnyInvocable<void(absl::StatusOr<storage::QuotaUsage>)>;

// The usage of an enabled `target`: the maildirsize file read through the
// loop's FileIo; when the Maildir++ rules ask for it (missing, corrupt, too
// big, other limits, stale over-quota figure) the helper pool rewrites it
// from the folders. `done` runs exactly once, later, on the loop's thread;
// errors are Internal/ResourceExhausted from the file system.
void GetQuotaUsage(const QuotaEnv& env, const QuotaTarget& target,
                   QuotaUsageCallback done);

// Whether `bytes` in `messages` more messages fit `target`'s quota. A
// disabled target fits at once: returns true and `done` never runs.
// Otherwise returns false and `done(verdict)` runs later (a usage that
// cannot be read counts as kFits, logged).
bool CheckQuotaAsync(const QuotaEnv& env, const QuotaTarget& target,
                     uint64_t bytes, uint64_t messages,
                     absl::AnyInvocable<void(storage::QuotaVerdict)> done);

// Adds a change (messages stored: positive; expunged: negative) to an
// enabled target's maildirsize with one O_APPEND write. A missing file is
// recalculated on the helper pool instead (the change is then part of
// what is counted). Failures are logged, not reported. `done` (may be
// null) runs once the file is updated, so a reply sent from it is never
// ahead of the quota other cores read; it runs inside this call when there
// is nothing to record (disabled target, zero change).
void RecordQuotaChange(const QuotaEnv& env, const QuotaTarget& target,
                       int64_t bytes, int64_t messages,
                       absl::AnyInvocable<void()> done = nullptr);

// Recounts an enabled target from its folders on the helper pool and
// rewrites maildirsize (after changes too big to track, e.g. a deleted
// folder). Failures are logged. `done` (may be null) runs afterwards;
// inside this call for a disabled target.
void RecalculateQuota(const QuotaEnv& env, const QuotaTarget& target,
                      absl::AnyInvocable<void()> done = nullptr);

// The S= size of a Maildir file name (0 when it has none).
uint64_t MaildirNameSize(std::string_view name);

// ---- SMTP / LMTP delivery (server/smtp_service.cc).
//
// RCPT refuses a mailbox that is already full (452 4.2.2). At the end of
// the data every recipient's quota is checked against the message size as
// the client sent it (CRLF line ends: a little above the stored size, like
// Dovecot's early check); the delivered copies are then added with their
// exact stored size. The verdicts say what the session answers.
class DeliveryQuota {
 public:
  // `policy` may be null (no quotas). Cheap: four pointers.
  DeliveryQuota(const QuotaPolicy* policy, const storage::MailLocation* location,
                QuotaEnv env)
      : policy_(policy), location_(location), env_(env) {}

  // RCPT: false when `user` has no limits (accept now; `done` never runs).
  // Otherwise `done` runs later, never inside this call: kFits, or kFull
  // when not one more byte or message fits.
  bool CheckRecipient(const Directory::Mailbox& user,
                      absl::AnyInvocable<void(storage::QuotaVerdict)> done);

  // End of data: one verdict per user (same order) for a message of
  // `bytes`. False when no user has limits (all fit; `done` never runs).
  bool CheckMessage(const std::vector<Directory::Mailbox>& users,
                    uint64_t bytes,
                    absl::AnyInvocable<void(std::vector<storage::QuotaVerdict>)> done);

  // After the commit: users[i] got new/<new_names[i]> (no names: nothing
  // was delivered). Where verdicts[i] is kFits the file's size (its S=) is
  // added to the user's maildirsize; otherwise the copy is removed again
  // (LMTP commits a message once for all its recipients; those it did not
  // fit lose theirs before anyone is told of it). `done` runs once every
  // maildirsize line is written and every such copy removed, inside this
  // call when there is nothing to do: the client hears "250" only after
  // the usage includes the message.
  void Settle(const std::vector<Directory::Mailbox>& users,
              const std::vector<storage::QuotaVerdict>& verdicts,
              const std::vector<std::string>& new_names,
              absl::AnyInvocable<void()> done);

 private:
  void Retract(const Directory::Mailbox& user, std::string_view new_name,
               absl::AnyInvocable<void()> done);
  QuotaTarget Target(const Directory::Mailbox& user) const;

  const QuotaPolicy* policy_;
  const storage::MailLocation* location_;
  QuotaEnv env_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_QUOTA_SERVICE_H_
