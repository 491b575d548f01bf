#include "protocols/mime/imap_string.h"

#include <string>

namespace ringmail::mime {

bool CanQuote(std::string_view s) {
  if (s.size() > kMaxQuotedLength) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

void AppendImapQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendImapLiteral(std::string* out, std::string_view s) {
  out->push_back('{');
  out->append(std::to_string(s.size()));
  out->append("}\r\n");
  for (char c : s) out->push_back(c == '\0' ? static_cast<char>(0x80) : c);
}

void AppendImapString(std::string* out, std::string_view s) {
  if (CanQuote(s)) {
    AppendImapQuoted(out, s);
  } else {
    AppendImapLiteral(out, s);
  }
}

void AppendImapNString(std::string* out, const std::string* s) {
  if (s == nullptr) {
    out->append("NIL");
  } else {
    AppendImapString(out, *s);
  }
}

}  // namespace ringmail::mime
