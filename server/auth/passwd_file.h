// Dovecot-compatible passwd-file user database.
//
//   user[@domain]:password:uid:gid:gecos:home:shell:extra_fields
//
// Trailing fields may be omitted. Blank lines and lines starting with '#'
// are ignored. The password is "{SCHEME}data"; without a scheme it is
// CRYPT. Extra fields are space-separated key=value (a bare key has an
// empty value); everything after the 7th ':' belongs to them.
// See https://doc.dovecot.org/configuration_manual/authentication/passwd_file/
//
// Names are canonicalised to lower case, both local part and domain, like
// Dovecot with its default auth_username_format=%Lu: "Bob@Example.COM" in
// the file and in a login are the same user. (Local parts are
// case-sensitive in RFC 5321 in theory; in practice nobody relies on it and
// case-folding prevents two mailboxes that differ only in case.)
//
// A PasswdFile is immutable after Parse/Load and safe to share between
// threads. VerifyPassword is pure and thread-safe (CPU-heavy for crypt
// schemes: run it on a helper thread, not a core thread).
#ifndef RINGMAIL_SERVER_AUTH_PASSWD_FILE_H_
#define RINGMAIL_SERVER_AUTH_PASSWD_FILE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"

namespace ringmail::auth {

inline constexpr size_t kMaxPasswdLineLength = 8192;
inline constexpr size_t kMaxPasswdUsers = 1'000'000;
inline constexpr size_t kMaxPasswdFileBytes = size_t{256} << 20;
inline constexpr size_t kMaxPasswdExtraFields = 64;

struct PasswdEntry {
  std::string local_part;  // lower-cased
  std::string domain;      // lower-cased; empty if the user had no '@'
  std::string scheme;      // upper-cased, e.g. "SHA512-CRYPT"; "CRYPT" if none
  std::string password;    // the data after "{SCHEME}"
  std::string uid, gid, gecos, home, shell;  // as written, may be empty
  std::vector<std::pair<std::string, std::string>> extra_fields;

  // "local@domain", or "local" when there is no domain.
  std::string user() const;
};

class PasswdFile {
 public:
  // Parses file contents. `filename` is used in error messages only.
  // InvalidArgument "<filename>:<line>: <problem>" for a bad line (empty
  // user, control characters, line longer than kMaxPasswdLineLength, too
  // many extra fields, duplicate user); ResourceExhausted beyond
  // kMaxPasswdUsers users or kMaxPasswdFileBytes.
  static absl::StatusOr<PasswdFile> Parse(std::string_view contents,
                                          std::string_view filename);

  // Reads and parses `path` (blocking; for start-up and reloads off the
  // core threads). NotFound/PermissionDenied/Internal naming the path and
  // strerror if it cannot be read.
  static absl::StatusOr<PasswdFile> Load(const std::string& path);

  // The entry for local_part@domain (both compared case-insensitively), or
  // nullptr. `domain` may be empty for users without a domain. The pointer
  // is valid as long as this PasswdFile.
  const PasswdEntry* Find(std::string_view local_part,
                          std::string_view domain) const;

  // Lower-cased domains of all users (for "is this domain local?").
  const absl::flat_hash_set<std::string>& domains() const { return domains_; }
  size_t size() const { return entries_.size(); }
  // Every entry, in file order (e.g. to check per-user settings at start).
  const std::vector<PasswdEntry>& entries() const { return entries_; }

 private:
  PasswdFile() = default;
  std::vector<PasswdEntry> entries_;
  absl::flat_hash_map<std::string, size_t> index_;  // user() -> entries_
  absl::flat_hash_set<std::string> domains_;
};

// Checks `password` against a stored scheme + data. PLAIN and CLEARTEXT
// compare directly; CRYPT, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT
// (and yescrypt "$y$" hashes under CRYPT) go through libxcrypt crypt_r.
// Comparisons are constant-time. Returns false for a wrong password or an
// unusable hash; InvalidArgument for an unsupported scheme. Thread-safe.
absl::StatusOr<bool> VerifyPassword(std::string_view scheme,
                                    std::string_view stored,
                                    std::string_view password);
absl::StatusOr<bool> VerifyPassword(const PasswdEntry& entry,
                                    std::string_view password);

}  // namespace ringmail::auth

#endif  // RINGMAIL_SERVER_AUTH_PASSWD_FILE_H_
