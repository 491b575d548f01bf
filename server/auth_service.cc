#include "server/auth_service.h"

#include <strings.h>

#include <algorithm>
#include <memory>

#include "engine/log.h"
#include "server/auth/passwd_file.h"

namespace ringmail::server {
namespace {

// Unknown users are checked against this SHA512-CRYPT hash of a random
// string, so a failed login costs the same whether or not the user exists.
constexpr std::string_view kDummyHash =
    "$6$ringmaildummy$Jq0Cjq9Vb7kPZ0b2yWQeXoM2pI7xq6T0tW3m0v7nE9mYbU2o1Z0u8dQq"
    "Hn4q3wJb1oQ9c5xN6r3sW2e1f0gA/";

void Wipe(std::string& s) {
  explicit_bzero(s.data(), s.size());
  s.clear();
}

}  // namespace

void AuthService::Verify(engine::Loop* loop, std::string_view user,
                         std::string password,
                         absl::AnyInvocable<void(AuthResult)> done) {
  size_t at = user.rfind('@');
  std::string local(user.substr(0, at));
  std::string domain(at == std::string_view::npos ? std::string_view()
                                                   : user.substr(at + 1));
  const auth::PasswdEntry* entry = directory_->FindEntry(local, domain);
  // `reply` crosses to the helper and back inside the work, one thread at a
  // time; it stays ours if the pool refuses the work.
  auto reply =
      std::make_shared<absl::AnyInvocable<void(AuthResult)>>(std::move(done));
  engine::HelperPool::Work work = [entry, password = std::move(password),
                                   reply]() mutable -> engine::Task {
    AuthResult result;
    absl::StatusOr<bool> ok =
        entry != nullptr
            ? auth::VerifyPassword(*entry, password)
            : auth::VerifyPassword("SHA512-CRYPT", kDummyHash, password);
    Wipe(password);
    if (entry != nullptr && ok.ok() && *ok) {
      result.code = AuthResult::Code::kOk;
      result.mailbox = {entry->local_part, entry->domain};
    } else if (entry != nullptr && !ok.ok()) {
      // An unusable hash in the passwd-file: the admin must see it.
      LOG_ERROR("auth: cannot verify password of ", entry->user(), ": ",
                ok.status().ToString());
    }
    return [reply, result = std::move(result)]() mutable {
      (*reply)(std::move(result));
    };
  };
  SubmitOrWait(loop, std::make_shared<engine::HelperPool::Work>(std::move(work)),
               std::move(reply), loop->steady_now() + kMaxAuthQueueWait, kFirstAuthRetry);
}

void AuthService::SubmitOrWait(
    engine::Loop* loop, std::shared_ptr<engine::HelperPool::Work> work,
    std::shared_ptr<absl::AnyInvocable<void(AuthResult)>> reply,
    absl::Time deadline, absl::Duration retry) {
  if (pool_->Submit(loop, *work)) return;
  if (loop->steady_now() >= deadline) {
    LOG_WARNING("auth: helper queue full for ", absl::FormatDuration(kMaxAuthQueueWait),
                "; answering a temporary failure");
    loop->Defer([reply] {
      AuthResult busy;
      busy.code = AuthResult::Code::kTempFail;
      (*reply)(std::move(busy));
    });
    return;
  }
  // A login storm (every client reconnecting after a restart) fills the
  // helper queues for a moment: wait with back-off instead of refusing,
  // as Dovecot's auth clients queue their requests.
  loop->AddTimer(retry, [this, loop, work = std::move(work), reply = std::move(reply),
                         deadline, retry]() mutable {
    SubmitOrWait(loop, std::move(work), std::move(reply), deadline,
                 std::min(retry * 2, kMaxAuthRetry));
  });
}

}  // namespace ringmail::server
