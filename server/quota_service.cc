#include "server/quota_service.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "server/quota_rule.h"
#include "storage/maildir/errors.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::server {
namespace {

using storage::QuotaUsage;
using storage::QuotaVerdict;

// Runs `work` on a helper thread and `done(result)` on env.loop, never
// inside this call. A full helper queue is retried shortly rather than
// failing: quota checks are rare (limited users only) and short.
template <typename T>
void OnHelper(const QuotaEnv& env, absl::AnyInvocable<T()> work,
              absl::AnyInvocable<void(T)> done) {
  struct State {
    absl::AnyInvocable<T()> work;
    absl::AnyInvocable<void(T)> done;
  };
  auto state = std::make_shared<State>(State{std::move(work), std::move(done)});
  engine::HelperPool::Work job = [state]() -> engine::Task {
    T result = state->work();
    return [state, result = std::move(result)]() mutable {
      state->done(std::move(result));
    };
  };
  if (!env.pool->Submit(env.loop, job)) {
    env.loop->AddTimer(absl::Milliseconds(1), [env, state]() mutable {
      OnHelper<T>(env, std::move(state->work), std::move(state->done));
    });
  }
}

void RecalculateOnHelper(const QuotaEnv& env, const QuotaTarget& target,
                         QuotaUsageCallback done) {
  OnHelper<absl::StatusOr<QuotaUsage>>(
      env,
      [maildir = target.maildir, limits = target.limits]() {
        return storage::RecalculateMaildirsizeBlocking(maildir, limits);
      },
      std::move(done));
}

}  // namespace

// ------------------------------------------------------------ policy

absl::StatusOr<std::unique_ptr<QuotaPolicy>> QuotaPolicy::Create(
    const Directory& directory, storage::QuotaLimits defaults) {
  std::unique_ptr<QuotaPolicy> policy(new QuotaPolicy());
  policy->directory_ = &directory;
  policy->defaults_ = defaults;
  for (const auth::PasswdEntry& e : directory.passwd().entries()) {
    absl::StatusOr<UserQuotaRules> rules = ParseUserQuotaRules(e.extra_fields);
    if (!rules.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("user ", e.user(), ": ", rules.status().message()));
    }
    for (const std::string& ignored : rules->ignored) {
      LOG_WARNING("quota: user ", e.user(), ": per-mailbox rule '", ignored,
                  "' is not supported; ignored");
    }
    if (!rules->bytes && !rules->messages) continue;
    storage::QuotaLimits limits = defaults;
    if (rules->bytes) limits.bytes = *rules->bytes;
    if (rules->messages) limits.messages = *rules->messages;
    if (limits == defaults) continue;  // nothing to remember
    policy->users_.emplace(&e, limits);
  }
  return policy;
}

storage::QuotaLimits QuotaPolicy::LimitsFor(std::string_view local_part,
                                            std::string_view domain) const {
  const auth::PasswdEntry* e = directory_->FindEntry(local_part, domain);
  if (e == nullptr) return defaults_;
  auto it = users_.find(e);
  return it == users_.end() ? defaults_ : it->second;
}

QuotaTarget QuotaTargetFor(const QuotaPolicy* policy,
                           const storage::MailLocation& location,
                           const Directory::Mailbox& user) {
  QuotaTarget t;
  if (policy == nullptr || !policy->any()) return t;
  t.limits = policy->LimitsFor(user.local_part, user.domain);
  if (t.limits.unlimited()) return t;
  absl::StatusOr<std::string> root = location.Expand(user.local_part, user.domain);
  if (root.ok()) t.maildir = std::move(*root);
  return t;
}

// ------------------------------------------------------------ per core

void GetQuotaUsage(const QuotaEnv& env, const QuotaTarget& target,
                   QuotaUsageCallback done) {
  storage::ReadMaildirsizeAsync(
      &env.loop->file_io(), target.maildir,
      [env, target, done = std::move(done)](storage::MaildirsizeRead r) mutable {
        if (r.error == -ENOENT || r.error == -ENOTDIR) {
          return RecalculateOnHelper(env, target, std::move(done));
        }
        if (r.error < 0) {
          return done(absl::InternalError(absl::StrCat(
              "read(", target.maildir, "/maildirsize) failed: ", strerror(-r.error))));
        }
        absl::StatusOr<storage::Maildirsize> parsed = storage::ParseMaildirsize(r.data);
        switch (storage::AssessMaildirsize(parsed, r.data.size(), target.limits)) {
          case storage::MaildirsizeAction::kUse:
            return done(parsed->usage);
          case storage::MaildirsizeAction::kCheckAge:
            // Needs the file's mtime (no stat on the ring): the helper
            // reads it again with fstat, and recalculates if stale.
            return OnHelper<absl::StatusOr<QuotaUsage>>(
                env,
                // The core's time, taken before the hop: the helper has no
                // loop, and the file's age must be judged on the clock the
                // server runs on (tests step it).
                [maildir = target.maildir, limits = target.limits,
                 now = env.loop->now()]() {
                  return storage::ReadMaildirsizeBlocking(maildir, limits, now);
                },
                std::move(done));
          case storage::MaildirsizeAction::kRecalculate:
            return RecalculateOnHelper(env, target, std::move(done));
        }
      });
}

bool CheckQuotaAsync(const QuotaEnv& env, const QuotaTarget& target,
                     uint64_t bytes, uint64_t messages,
                     absl::AnyInvocable<void(QuotaVerdict)> done) {
  if (!target.enabled()) return true;
  GetQuotaUsage(env, target,
                [target, bytes, messages, done = std::move(done)](
                    absl::StatusOr<QuotaUsage> usage) mutable {
                  if (!usage.ok()) {
                    LOG_WARNING("quota: ", usage.status().ToString(),
                                "; allowing the operation");
                    return done(QuotaVerdict::kFits);
                  }
                  done(storage::CheckQuota(target.limits, *usage, bytes, messages));
                });
  return false;
}

void RecordQuotaChange(const QuotaEnv& env, const QuotaTarget& target,
                       int64_t bytes, int64_t messages,
                       absl::AnyInvocable<void()> done) {
  if (!target.enabled() || (bytes == 0 && messages == 0)) {
    if (done) done();
    return;
  }
  storage::AppendMaildirsizeAsync(
      &env.loop->file_io(), target.maildir, bytes, messages,
      [env, target, done = std::move(done)](int r) mutable {
        if (r == -ENOENT) return RecalculateQuota(env, target, std::move(done));
        if (r < 0) {
          LOG_WARNING("quota: append to ", target.maildir,
                      "/maildirsize failed: ", strerror(-r));
        }
        if (done) done();
      });
}

void RecalculateQuota(const QuotaEnv& env, const QuotaTarget& target,
                      absl::AnyInvocable<void()> done) {
  if (!target.enabled()) {
    if (done) done();
    return;
  }
  RecalculateOnHelper(env, target,
                      [maildir = target.maildir, done = std::move(done)](
                          absl::StatusOr<QuotaUsage> usage) mutable {
                        if (!usage.ok()) {
                          LOG_WARNING("quota: recalculating ", maildir, ": ",
                                      usage.status().ToString());
                        }
                        if (done) done();
                      });
}

uint64_t MaildirNameSize(std::string_view name) {
  absl::StatusOr<storage::ParsedMaildirName> parsed = storage::ParseMaildirName(name);
  return parsed.ok() && parsed->size ? *parsed->size : 0;
}

// ------------------------------------------------------------ delivery

QuotaTarget DeliveryQuota::Target(const Directory::Mailbox& user) const {
  return location_ == nullptr ? QuotaTarget()
                              : QuotaTargetFor(policy_, *location_, user);
}

bool DeliveryQuota::CheckRecipient(
    const Directory::Mailbox& user,
    absl::AnyInvocable<void(QuotaVerdict)> done) {
  // "Is there room at all?": one more byte in one more message.
  return !CheckQuotaAsync(env_, Target(user), 1, 1, std::move(done));
}

bool DeliveryQuota::CheckMessage(
    const std::vector<Directory::Mailbox>& users, uint64_t bytes,
    absl::AnyInvocable<void(std::vector<QuotaVerdict>)> done) {
  struct Join {
    std::vector<QuotaVerdict> verdicts;
    size_t waiting = 0;
    absl::AnyInvocable<void(std::vector<QuotaVerdict>)> done;
  };
  auto join = std::make_shared<Join>();
  join->verdicts.assign(users.size(), QuotaVerdict::kFits);
  join->done = std::move(done);
  std::vector<std::pair<size_t, QuotaTarget>> limited;
  for (size_t i = 0; i < users.size(); ++i) {
    QuotaTarget t = Target(users[i]);
    if (t.enabled()) limited.emplace_back(i, std::move(t));
  }
  if (limited.empty()) return false;
  join->waiting = limited.size();
  for (auto& [i, t] : limited) {
    CheckQuotaAsync(env_, t, bytes, 1, [join, i = i](QuotaVerdict v) {
      join->verdicts[i] = v;
      if (--join->waiting == 0) join->done(std::move(join->verdicts));
    });
  }
  return true;
}

void DeliveryQuota::Settle(const std::vector<Directory::Mailbox>& users,
                           const std::vector<QuotaVerdict>& verdicts,
                           const std::vector<std::string>& new_names,
                           absl::AnyInvocable<void()> done) {
  // One extra count held while issuing, so `done` runs exactly once, last.
  struct Join {
    size_t waiting = 1;
    absl::AnyInvocable<void()> done;
    void One() {
      if (--waiting == 0) done();
    }
  };
  auto join = std::make_shared<Join>();
  join->done = std::move(done);
  for (size_t i = 0; i < users.size() && i < new_names.size(); ++i) {
    if (i < verdicts.size() && verdicts[i] != QuotaVerdict::kFits) {
      ++join->waiting;
      Retract(users[i], new_names[i], [join] { join->One(); });
      continue;
    }
    QuotaTarget t = Target(users[i]);
    if (!t.enabled()) continue;
    ++join->waiting;
    RecordQuotaChange(env_, t, static_cast<int64_t>(MaildirNameSize(new_names[i])),
                      1, [join] { join->One(); });
  }
  join->One();
}

void DeliveryQuota::Retract(const Directory::Mailbox& user,
                            std::string_view new_name,
                            absl::AnyInvocable<void()> done) {
  absl::StatusOr<std::string> root =
      location_->Expand(user.local_part, user.domain);
  if (!root.ok() || new_name.empty()) return done();
  std::string path = absl::StrCat(*root, "/new/", storage::AbslView(new_name));
  env_.loop->file_io().UnlinkAt(AT_FDCWD, path, 0,
                                [path, done = std::move(done)](int r) mutable {
                                  if (r < 0 && r != -ENOENT) {
                                    LOG_WARNING("quota: cannot remove ", path,
                                                " again: ", strerror(-r));
                                  }
                                  done();
                                });
}

}  // namespace ringmail::server
