// The shared-mailboxes dictionary: which owners have shared folders with
// whom, so LIST in the shared namespace does not scan every user's tree.
//
// The file uses Dovecot's "file" dict format (dict-file.c) with the keys of
// Dovecot's acl_shared_dict (acl-lookup-dict.c), so a Dovecot configured
// with `acl_shared_dict = file:<data_dir>/shared-mailboxes` reads it:
// alternating key and value lines,
//
//     shared/shared-boxes/user/<grantee>/<owner>
//     1
//     shared/shared-boxes/anyone/<owner>
//     1
//
// An owner's keys are recomputed from all of the owner's dovecot-acl files
// (an entry with the `l` right for user=X gives user/X; anyone and
// authenticated give anyone), like `doveadm acl recalc` does for one user.
// Rewrites are dotlocked ("<file>.lock") and atomic.
#ifndef RINGMAIL_STORAGE_MAILBOX_ACL_SHARED_DICT_H_
#define RINGMAIL_STORAGE_MAILBOX_ACL_SHARED_DICT_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/mailbox/acl.h"
#include "storage/mailbox/dotlock.h"

namespace ringmail::storage {

inline constexpr std::string_view kSharedDictKeyPrefix = "shared/shared-boxes/";

struct SharedDictLimits {
  size_t max_file_bytes = 4 << 20;
  size_t max_pairs = 65536;
  // Owners one LIST of the shared namespace considers.
  size_t max_owners = 256;
};

using SharedDictPairs = std::vector<std::pair<std::string, std::string>>;

// Parses the file; a trailing key without a value is dropped.
// InvalidArgument above limits.max_pairs.
absl::StatusOr<SharedDictPairs> ParseSharedDict(std::string_view text,
                                                const SharedDictLimits& limits);
std::string SerializeSharedDict(const SharedDictPairs& pairs);

// The grantee ids ("user/<name>", "anyone") an owner's folder ACL shares
// with: positive entries carrying `l`, not taken away by the same
// identifier's negative entry.
std::vector<std::string> SharedDictGrantees(const AclFile& file);

// The owners (sorted, unique, at most limits.max_owners) that shared a
// folder with `user` or with anyone. `user` itself is left out.
std::vector<std::string> OwnersSharingWith(const SharedDictPairs& pairs,
                                           std::string_view user,
                                           const SharedDictLimits& limits);

// BLOCKING. The pairs of `path`; a missing file has none.
absl::StatusOr<SharedDictPairs> ReadSharedDictBlocking(const std::string& path,
                                                       const SharedDictLimits& limits);

// BLOCKING. Under the dotlock, replaces every key of `owner` with one per
// grantee id (value "1"). NotFound if the directory is missing.
absl::Status ReplaceOwnerSharesBlocking(const std::string& path,
                                        std::string_view owner,
                                        const std::vector<std::string>& grantees,
                                        const SharedDictLimits& limits,
                                        const DotlockOptions& lock);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_ACL_SHARED_DICT_H_
