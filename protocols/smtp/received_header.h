// The Received: trace field the SMTP server prepends (RFC 5321 §4.4) and the
// RFC 5322 §3.3 date it ends with.
#ifndef RINGMAIL_PROTOCOLS_SMTP_RECEIVED_HEADER_H_
#define RINGMAIL_PROTOCOLS_SMTP_RECEIVED_HEADER_H_

#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace ringmail::smtp {

struct ReceivedInfo {
  std::string_view helo;       // client's HELO/EHLO argument (untrusted)
  std::string_view client_ip;  // textual address, no brackets
  std::string_view hostname;   // our host name
  std::string_view protocol;   // "SMTP", "ESMTP", "UTF8SMTP" (RFC 6531 §3.7.3)
  std::string_view queue_id;
  std::string_view single_rcpt;  // "for <...>" clause only when non-empty
  absl::Time when;
};

// Appends the whole field, folded with LF+TAB and ending in LF (we store LF
// line endings). Without reverse DNS the TCP-info is "(unknown [ip])" as
// Postfix writes it. Control characters in client-supplied text are replaced
// by '?' so they can never break the header.
void AppendReceivedHeader(const ReceivedInfo& info, std::string* out);

// "Tue, 3 Oct 2023 10:00:00 +0000" in UTC, locale-independent.
std::string FormatRfc5322Date(absl::Time t);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_RECEIVED_HEADER_H_
