// Who is local: the users of the passwd-file and the local domains (the
// passwd-file's domains plus the config's local_domains). Immutable after
// construction, so every core reads it without locks.
#ifndef RINGMAIL_SERVER_DIRECTORY_H_
#define RINGMAIL_SERVER_DIRECTORY_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "server/auth/passwd_file.h"

namespace ringmail::server {

class Directory {
 public:
  // Loads `passwd_path`; `extra_domains` are added to the local domains.
  // Fails with the file and line of a bad entry.
  static absl::StatusOr<std::unique_ptr<Directory>> Load(
      const std::string& passwd_path,
      const std::vector<std::string>& extra_domains);

  // `domain` must be lower-case.
  bool IsLocalDomain(std::string_view domain) const;

  struct Mailbox {
    std::string local_part;  // canonical (as stored in the passwd-file)
    std::string domain;      // lower-case
  };
  // The mailbox for an address in a local domain, or nullopt when there is
  // no such user.
  std::optional<Mailbox> FindMailbox(std::string_view local_part,
                                     std::string_view domain) const;

  // The passwd-file entry (password hash, extra fields), or nullptr.
  const auth::PasswdEntry* FindEntry(std::string_view local_part,
                                     std::string_view domain) const;

  size_t user_count() const;
  // The passwd-file itself (immutable, like the Directory).
  const auth::PasswdFile& passwd() const { return *passwd_; }

 private:
  Directory() = default;
  std::unique_ptr<auth::PasswdFile> passwd_;
  absl::flat_hash_set<std::string> domains_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_DIRECTORY_H_
