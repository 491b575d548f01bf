// Folder names <-> Maildir++ directories, and SPECIAL-USE (RFC 6154).
//
// INBOX is the Maildir root. Folder "A/B" (client delimiter '/' or '.') is
// the directory ".A.B" under the root, each component stored in modified
// UTF-7 exactly as Dovecot's Maildir++ layout does by default, so Dovecot
// and ringmail can share one tree. Callers pass names as UTF-8 (the IMAP
// layer decodes the client's mUTF-7); the codec is common/mutf7.h.
//
// Pure functions, thread-safe.
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_NAME_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_NAME_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringmail::storage {

// The on-disk directory name must fit one path component (NAME_MAX).
inline constexpr size_t kMaxFolderDirNameBytes = 255;
// Bounds on the UTF-8 name a client can send (checked before encoding).
inline constexpr size_t kMaxFolderNameBytes = 1024;
inline constexpr size_t kMaxFolderDepth = 32;

struct FolderNameOptions {
  // Hierarchy delimiter shown to clients: '/' or '.'.
  char delimiter = '/';
};

// RFC 6154 attributes for the folders every new user gets.
enum class SpecialUse { kNone, kSent, kDrafts, kTrash, kJunk, kArchive };

// "\\Sent", "\\Drafts", ... ("" for kNone).
std::string_view SpecialUseAttribute(SpecialUse use);

// The default folders created for a new user, in creation order.
struct DefaultFolder {
  std::string_view name;
  SpecialUse use;
};
const std::vector<DefaultFolder>& DefaultSpecialUseFolders();

// The special use of a top-level folder named like one of the defaults
// (exact, case-sensitive match as Dovecot's mailbox { special_use } config).
SpecialUse SpecialUseOf(std::string_view name);

// True for "INBOX" in any case (RFC 3501 §5.1).
bool IsInboxName(std::string_view name);

// Checks a client-supplied UTF-8 folder name. Rejects (InvalidArgument,
// text safe to show a client): empty name, empty component (leading,
// trailing or doubled delimiter), "." or ".." components, the on-disk
// separator '.' inside a component when the delimiter is '/', '/' anywhere
// when the delimiter is '.', a leading '~' (Dovecot refuses these without
// mail_full_filesystem_access: they look like home directories), control
// characters, '*' and '%' (LIST wildcards; Dovecot refuses to create them),
// invalid UTF-8, more than kMaxFolderDepth components, and names whose
// directory would exceed kMaxFolderDirNameBytes.
absl::Status ValidateFolderName(std::string_view name,
                                const FolderNameOptions& opts);

// "INBOX" in canonical case when IsInboxName, else `name` unchanged; also
// canonicalises a leading "inbox<delim>" component.
std::string CanonicalFolderName(std::string_view name,
                                const FolderNameOptions& opts);

// Validates and maps a name to its directory under the root: "" for INBOX,
// ".A.B" (mUTF-7) otherwise.
absl::StatusOr<std::string> FolderDirName(std::string_view name,
                                          const FolderNameOptions& opts);

// Inverse of FolderDirName for a directory entry of the root: ".A.B" ->
// "A<delim>B" in UTF-8. InvalidArgument for entries that are not folders
// ("." "..", "..x" trash names, bad mUTF-7, empty components, a component
// containing the client delimiter).
absl::StatusOr<std::string> FolderNameFromDir(std::string_view dir,
                                              const FolderNameOptions& opts);

// Splits a validated name at the client delimiter.
std::vector<std::string> SplitFolderName(std::string_view name,
                                         const FolderNameOptions& opts);

// One hierarchy level between UTF-8 and its on-disk form, modified UTF-7
// (common/mutf7.h, the codec the IMAP layer uses too). InvalidArgument,
// naming the reason, on invalid input; decoding accepts only the canonical
// form, so a name read from disk and written back is the same bytes.
absl::StatusOr<std::string> EncodeFolderLevel(std::string_view utf8);
absl::StatusOr<std::string> DecodeFolderLevel(std::string_view mutf7);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_NAME_H_
