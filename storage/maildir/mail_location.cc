#include "storage/maildir/mail_location.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

std::string DefaultMailLocationTemplate(std::string_view data_dir) {
  while (data_dir.size() > 1 && data_dir.back() == '/') {
    data_dir.remove_suffix(1);
  }
  return absl::StrCat(AbslView(data_dir), "/mail/%d/%n/Maildir");
}

absl::Status ValidateUserPart(std::string_view part) {
  if (part.empty()) return absl::InvalidArgumentError("empty user part");
  if (part.size() > kMaxUserPartLength) {
    return absl::InvalidArgumentError("user part too long");
  }
  if (part == "." || part == "..") {
    return absl::InvalidArgumentError("user part is a dot path segment");
  }
  for (char c : part) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          "user part contains '/' or a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MailLocation> MailLocation::Create(std::string_view tmpl) {
  if (tmpl.empty() || tmpl.front() != '/') {
    return absl::InvalidArgumentError("mail location must be absolute");
  }
  if (tmpl.size() > kMaxMailLocationTemplateLength) {
    return absl::InvalidArgumentError("mail location template too long");
  }
  for (size_t i = 0; i < tmpl.size(); ++i) {
    unsigned char u = static_cast<unsigned char>(tmpl[i]);
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          "mail location contains a control character");
    }
    if (tmpl[i] != '%') continue;
    if (i + 1 == tmpl.size()) {
      return absl::InvalidArgumentError("mail location ends with '%'");
    }
    char e = tmpl[++i];
    if (e != 'u' && e != 'n' && e != 'd' && e != '%') {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown mail location escape %", std::string(1, e)));
    }
  }
  for (absl::string_view seg : absl::StrSplit(AbslView(tmpl), '/')) {
    if (seg == "." || seg == "..") {
      return absl::InvalidArgumentError(
          "mail location contains a '.' or '..' segment");
    }
  }
  return MailLocation(std::string(tmpl));
}

absl::StatusOr<std::string> MailLocation::Expand(
    std::string_view local_part, std::string_view domain) const {
  absl::Status st = ValidateUserPart(local_part);
  if (!st.ok()) return st;
  std::string lower_domain = absl::AsciiStrToLower(AbslView(domain));
  bool uses_domain = tmpl_.find("%d") != std::string::npos ||
                     tmpl_.find("%u") != std::string::npos;
  if (!lower_domain.empty() || uses_domain) {
    st = ValidateUserPart(lower_domain);
    if (!st.ok()) return st;
  }
  std::string out;
  out.reserve(tmpl_.size() + local_part.size() * 2 + domain.size() * 2);
  for (size_t i = 0; i < tmpl_.size(); ++i) {
    if (tmpl_[i] != '%') {
      out += tmpl_[i];
      continue;
    }
    switch (tmpl_[++i]) {  // Create() guarantees a valid escape follows.
      case 'u':
        absl::StrAppend(&out, AbslView(local_part), lower_domain.empty() ? "" : "@",
                        lower_domain);
        break;
      case 'n': out.append(local_part); break;
      case 'd': out.append(lower_domain); break;
      default: out += '%'; break;
    }
  }
  if (out.size() > kMaxMailLocationPathLength) {
    return absl::InvalidArgumentError("expanded mail location too long");
  }
  // Defence in depth: the checks above already make these impossible.
  for (absl::string_view seg : absl::StrSplit(out, '/')) {
    if (seg == "." || seg == "..") {
      return absl::InvalidArgumentError("expanded mail location escapes");
    }
  }
  return out;
}

}  // namespace ringmail::storage
