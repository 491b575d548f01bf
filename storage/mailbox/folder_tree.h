// The folder tree of one user's Maildir++ root: LIST, CREATE, DELETE,
// RENAME.
//
// Which functions block:
//   * ListFolders, DeleteFolderBlocking, RenameFolderBlocking,
//     CreateFolderBlocking, EnsureDefaultFoldersBlocking are BLOCKING:
//     run them on a helper thread. They read directories (readdir has no
//     io_uring opcode) or are multi-step directory operations. Pure apart
//     from the file system: immutable inputs, a result value.
//   * CreateFolderAsync goes through engine::FileIo (mkdir x4, open, close)
//     and is what a core calls for IMAP CREATE.
// A folder is created like Dovecot/Courier do: the directory, its tmp/,
// new/, cur/, and an empty "maildirfolder" file marking it as a Maildir++
// subfolder (maildrop/deliver look for it).
#ifndef RINGMAIL_STORAGE_MAILBOX_FOLDER_TREE_H_
#define RINGMAIL_STORAGE_MAILBOX_FOLDER_TREE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/file_io.h"
#include "storage/mailbox/folder_name.h"

namespace ringmail::storage {

inline constexpr std::string_view kMaildirFolderMarker = "maildirfolder";

struct FolderTreeLimits {
  size_t max_folders = 10'000;            // ListFolders entries
  size_t max_files_per_dir = 10'000'000;  // delete / INBOX rename
};

struct FolderInfo {
  std::string name;  // UTF-8, client delimiter; "INBOX" for the root
  std::string dir;   // "" for INBOX, ".A.B" otherwise
  bool has_children = false;
  // The name only exists as the parent of other folders (".A.B" exists,
  // ".A" does not): LIST shows \Noselect (and \NonExistent, RFC 5258).
  bool noselect = false;
  SpecialUse special_use = SpecialUse::kNone;
};

// BLOCKING. Every folder under `root`, INBOX first then sorted by name.
// Implied parents are included with noselect. Directory entries that are
// not valid folder names (bad mUTF-7, Dovecot's "..DOVECOT-TRASHED",
// ours) are skipped. NotFound if `root` is missing; ResourceExhausted
// beyond limits.max_folders.
absl::StatusOr<std::vector<FolderInfo>> ListFolders(
    const std::string& root, const FolderNameOptions& opts,
    const FolderTreeLimits& limits);

// BLOCKING. mkdir folder + tmp/new/cur + maildirfolder. AlreadyExists if
// the folder directory exists; InvalidArgument for a bad name or INBOX.
absl::Status CreateFolderBlocking(const std::string& root,
                                  std::string_view name,
                                  const FolderNameOptions& opts);

// BLOCKING. Creates each DefaultSpecialUseFolders() entry that is missing
// (for a new user). Returns the names created.
absl::StatusOr<std::vector<std::string>> EnsureDefaultFoldersBlocking(
    const std::string& root, const FolderNameOptions& opts);

// BLOCKING. RFC 3501 §6.3.4. INBOX cannot be deleted (InvalidArgument).
// A folder with children loses its messages and directory; its name stays
// as \Noselect because the children's directories imply it. A name that
// only exists as a parent (\Noselect) with children: FailedPrecondition.
// NotFound if nothing exists. The directory is first renamed to a hidden
// "..ringmail-trash-*" name (so other processes never see half a folder),
// then removed recursively (bounded depth: the folder's own tmp/new/cur).
absl::Status DeleteFolderBlocking(const std::string& root,
                                  std::string_view name,
                                  const FolderNameOptions& opts,
                                  const FolderTreeLimits& limits);

// BLOCKING. RFC 3501 §6.3.5. Renames the folder and every child
// (".A" and ".A.*" -> ".B" and ".B.*"). AlreadyExists if the new name or
// one of the renamed children's targets exists; NotFound if the old name
// does not exist at all; InvalidArgument for renaming into itself.
// INBOX: creates `new_name` and moves every message of INBOX's new/ and
// cur/ into it (rename(2) per file), leaving INBOX empty; INBOX's children
// are not moved.
absl::Status RenameFolderBlocking(const std::string& root,
                                  std::string_view old_name,
                                  std::string_view new_name,
                                  const FolderNameOptions& opts,
                                  const FolderTreeLimits& limits);

// CREATE through FileIo from a core: mkdir <root>/<dir>, then its tmp/,
// new/, cur/ and the maildirfolder marker. A bad name or INBOX returns
// InvalidArgument at once and `done` never runs. Otherwise returns OK and
// `done` runs exactly once, later: OK; AlreadyExists if the folder
// directory existed; Unavailable/ResourceExhausted for I/O errors. `io`
// must outlive the operation.
absl::Status CreateFolderAsync(engine::FileIo* io, const std::string& root,
                       std::string_view name, const FolderNameOptions& opts,
                       absl::AnyInvocable<void(absl::Status)> done);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_FOLDER_TREE_H_
