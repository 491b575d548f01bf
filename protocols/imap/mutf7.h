// IMAP mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) unless
// the client enabled UTF8=ACCEPT (RFC 6855). The codec is common/mutf7.h.
#ifndef RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_
#define RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_

#include <string>
#include <string_view>

namespace ringmail::imap {

// A mailbox name as sent by the client, to UTF-8: with UTF8=ACCEPT enabled
// (RFC 6855 §3) names are UTF-8 as they stand (validated); otherwise they
// are modified UTF-7, decoded strictly (common::DecodeMutf7).
bool MailboxNameToUtf8(std::string_view wire, bool utf8_accept,
                       std::string* out);

// A UTF-8 mailbox name to modified UTF-7 for a client without UTF8=ACCEPT
// (common::EncodeMutf7). False on invalid UTF-8.
bool Utf8ToMutf7(std::string_view utf8, std::string* out);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_MUTF7_H_
