// Tiny string helpers. Debian's abseil is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), so absl::StrCat does not accept
// std::string_view; these do, and numbers go through std::to_string.
#ifndef RINGMAIL_PROTOCOLS_SMTP_TEXT_UTIL_H_
#define RINGMAIL_PROTOCOLS_SMTP_TEXT_UTIL_H_

#include <initializer_list>
#include <string>
#include <string_view>

namespace ringmail::smtp {

inline void AppendAll(std::string* out,
                      std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) out->append(p);
}

inline std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string s;
  AppendAll(&s, parts);
  return s;
}

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_TEXT_UTIL_H_
