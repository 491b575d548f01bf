#include "protocols/imap/mutf7.h"

#include "common/mutf7.h"
#include "common/utf8.h"

namespace ringmail::imap {

bool MailboxNameToUtf8(std::string_view wire, bool utf8_accept,
                       std::string* out) {
  if (utf8_accept) {
    if (!common::IsValidUtf8(wire)) return false;
    out->assign(wire);
    return true;
  }
  return common::DecodeMutf7(wire, out);
}

bool Utf8ToMutf7(std::string_view utf8, std::string* out) {
  return common::EncodeMutf7(utf8, out);
}

}  // namespace ringmail::imap
