// Dovecot's "subscriptions" file in the Maildir root.
//
// Two formats exist (Dovecot 2.3 subscription-file.c):
//   * version 1: one name per line, hierarchy delimiter as configured;
//   * version 2: header "V\t2\n\n", then one name per line with the
//     hierarchy levels separated by TAB (so the file does not depend on
//     the delimiter), each level tab-escaped (\001 -> \0011, \t -> \001t,
//     \r -> \001r, \n -> \001n).
// Dovecot keeps the version of an existing file and creates new files in
// version 1; we do the same. Names are stored in modified UTF-7 (what IMAP
// clients send), INBOX canonicalised. Updated under "subscriptions.lock".
#ifndef RINGMAIL_STORAGE_MAILBOX_SUBSCRIPTIONS_H_
#define RINGMAIL_STORAGE_MAILBOX_SUBSCRIPTIONS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/mailbox/dotlock.h"
#include "storage/mailbox/folder_name.h"

namespace ringmail::storage {

inline constexpr std::string_view kSubscriptionsFileName = "subscriptions";
inline constexpr size_t kMaxSubscriptionsFileBytes = 4u << 20;
inline constexpr size_t kMaxSubscriptions = 100'000;

struct Subscriptions {
  int version = 1;                 // 1 or 2, kept on rewrite
  std::vector<std::string> names;  // UTF-8, client delimiter, file order
};

// Parses either version. Lines that do not decode (bad mUTF-7, bad tab
// escape) are skipped so one bad entry does not hide the others.
// ResourceExhausted beyond kMaxSubscriptions names.
absl::StatusOr<Subscriptions> ParseSubscriptions(std::string_view text,
                                                 const FolderNameOptions& opts);

// Text in `subs.version`'s format. InvalidArgument if a name cannot be
// encoded.
absl::StatusOr<std::string> FormatSubscriptions(const Subscriptions& subs,
                                                const FolderNameOptions& opts);

// BLOCKING. Reads <root>/subscriptions (empty when missing).
absl::StatusOr<Subscriptions> ReadSubscriptionsFile(
    const std::string& root, const FolderNameOptions& opts);

// BLOCKING: dotlock, re-read, add/remove `name` (UTF-8), rewrite if changed.
// Returns the resulting list. Subscribing to a name that does not exist is
// allowed (RFC 3501 §6.3.6).
absl::StatusOr<Subscriptions> SetSubscribedBlocking(
    const std::string& root, std::string_view name, bool subscribe,
    const FolderNameOptions& opts, const DotlockOptions& lock_opts);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_SUBSCRIPTIONS_H_
