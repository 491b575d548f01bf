#include "server/directory.h"

#include "absl/strings/ascii.h"

namespace ringmail::server {

absl::StatusOr<std::unique_ptr<Directory>> Directory::Load(
    const std::string& passwd_path, const std::vector<std::string>& extra_domains) {
  auto passwd = auth::PasswdFile::Load(passwd_path);
  if (!passwd.ok()) return passwd.status();
  std::unique_ptr<Directory> d(new Directory());
  d->passwd_ = std::make_unique<auth::PasswdFile>(std::move(*passwd));
  for (const std::string& domain : d->passwd_->domains()) d->domains_.insert(domain);
  for (const std::string& domain : extra_domains) {
    d->domains_.insert(absl::AsciiStrToLower(domain));
  }
  return d;
}

bool Directory::IsLocalDomain(std::string_view domain) const {
  return domains_.contains(absl::string_view(domain.data(), domain.size()));
}

std::optional<Directory::Mailbox> Directory::FindMailbox(
    std::string_view local_part, std::string_view domain) const {
  const auth::PasswdEntry* e = passwd_->Find(local_part, domain);
  if (e == nullptr) return std::nullopt;
  return Mailbox{e->local_part, e->domain};
}

const auth::PasswdEntry* Directory::FindEntry(std::string_view local_part,
                                              std::string_view domain) const {
  return passwd_->Find(local_part, domain);
}

size_t Directory::user_count() const { return passwd_->size(); }

}  // namespace ringmail::server
