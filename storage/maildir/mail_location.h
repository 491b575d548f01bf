// Mail location templates, Dovecot-style: where a user's Maildir lives.
//
//   %u  full user name "local@domain" (domain lower-cased)
//   %n  local part
//   %d  domain, lower-cased
//   %%  a literal '%'
//
// The default is "<data_dir>/mail/%d/%n/Maildir". Expansion validates the
// user parts so the result can never leave the template's directory tree.
// Pure: no I/O, thread-safe after construction.
#ifndef RINGMAIL_STORAGE_MAILDIR_MAIL_LOCATION_H_
#define RINGMAIL_STORAGE_MAILDIR_MAIL_LOCATION_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ringmail::storage {

inline constexpr size_t kMaxMailLocationTemplateLength = 1024;
inline constexpr size_t kMaxUserPartLength = 255;   // each of local, domain
inline constexpr size_t kMaxMailLocationPathLength = 4096;  // PATH_MAX

// "<data_dir>/mail/%d/%n/Maildir" (trailing '/' of data_dir dropped).
std::string DefaultMailLocationTemplate(std::string_view data_dir);

// Checks one user part (local part or domain) for use in a path: rejects
// empty, ".", "..", anything containing '/', NUL or a control character
// (< 0x20 or 0x7f), and anything longer than kMaxUserPartLength.
// InvalidArgument naming the problem (not the value: it may be hostile).
absl::Status ValidateUserPart(std::string_view part);

class MailLocation {
 public:
  // Validates the template: absolute, at most
  // kMaxMailLocationTemplateLength bytes, only the escapes above, no "."
  // or ".." path segments. InvalidArgument otherwise.
  static absl::StatusOr<MailLocation> Create(std::string_view tmpl);

  // Expands the template for one user. `domain` is lower-cased; the local
  // part is used as given (lookups canonicalise it, see
  // server/auth/passwd_file.h). An empty domain is allowed only if the
  // template does not use %d or %u. InvalidArgument on a bad part or an
  // over-long result.
  absl::StatusOr<std::string> Expand(std::string_view local_part,
                                     std::string_view domain) const;

  const std::string& template_string() const { return tmpl_; }

 private:
  explicit MailLocation(std::string tmpl) : tmpl_(std::move(tmpl)) {}
  std::string tmpl_;
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_MAIL_LOCATION_H_
