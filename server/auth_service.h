// Password checks for IMAP/POP3/SMTP AUTH, run on the helper pool so a
// slow hash (SHA512-CRYPT, bcrypt, yescrypt) never blocks a core.
#ifndef RINGMAIL_SERVER_AUTH_SERVICE_H_
#define RINGMAIL_SERVER_AUTH_SERVICE_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "engine/helper_pool.h"
#include "engine/loop.h"
#include "server/directory.h"

namespace ringmail::server {

struct AuthResult {
  enum class Code { kOk, kBadCredentials, kTempFail };
  Code code = Code::kBadCredentials;
  Directory::Mailbox mailbox;  // set when kOk
};

class AuthService {
 public:
  // `directory` and `pool` must outlive the service.
  AuthService(const Directory* directory, engine::HelperPool* pool)
      : directory_(directory), pool_(pool) {}

  // Checks `user` ("local@domain") and `password` on a helper thread and
  // runs `done` on `loop`'s thread. The password is wiped from memory once
  // checked. An unknown user costs a hash too, so timing does not reveal
  // which users exist. While the helper queue is full the check waits (with
  // back-off); kTempFail only if it stays full for kMaxAuthQueueWait.
  void Verify(engine::Loop* loop, std::string_view user, std::string password,
              absl::AnyInvocable<void(AuthResult)> done);

  // How long a password check may wait for room in the helper queue.
  static constexpr absl::Duration kMaxAuthQueueWait = absl::Seconds(10);

 private:
  static constexpr absl::Duration kFirstAuthRetry = absl::Milliseconds(1);
  static constexpr absl::Duration kMaxAuthRetry = absl::Milliseconds(64);
  void SubmitOrWait(engine::Loop* loop, std::shared_ptr<engine::HelperPool::Work> work,
                    std::shared_ptr<absl::AnyInvocable<void(AuthResult)>> reply,
                    absl::Time deadline /* steady_now() */, absl::Duration retry);

  const Directory* directory_;
  engine::HelperPool* pool_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_AUTH_SERVICE_H_
