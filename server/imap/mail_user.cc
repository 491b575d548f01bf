#include "server/imap/mail_user.h"

#include "absl/strings/str_cat.h"

namespace ringmail::server::imap {

absl::StatusOr<std::string> MailUser::FolderPath(std::string_view name) const {
  auto dir = storage::FolderDirName(name, options_);
  if (!dir.ok()) return dir.status();
  if (dir->empty()) return root_;
  return absl::StrCat(root_, "/", *dir);
}

absl::StatusOr<FolderState*> MailUser::Open(std::string_view name) {
  std::string canonical = storage::CanonicalFolderName(name, options_);
  auto it = folders_.find(canonical);
  if (it != folders_.end()) return it->second.get();
  auto path = FolderPath(canonical);
  if (!path.ok()) return path.status();
  auto state = std::make_unique<FolderState>(loop_, pool_, watcher_, canonical, *path, guest_);
  FolderState* raw = state.get();
  folders_.emplace(canonical, std::move(state));
  return raw;
}

FolderState* MailUser::FindOpen(std::string_view name) {
  auto it = folders_.find(storage::CanonicalFolderName(name, options_));
  return it == folders_.end() ? nullptr : it->second.get();
}

void MailUser::Forget(std::string_view name) {
  auto it = folders_.find(storage::CanonicalFolderName(name, options_));
  if (it != folders_.end() && it->second->Forgettable()) folders_.erase(it);
}

}  // namespace ringmail::server::imap
