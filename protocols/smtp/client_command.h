// SMTP client side: the outbound envelope and the MAIL / RCPT command lines
// made from it (RFC 5321 §4.1.1.2-3 with the parameters of SIZE RFC 1870,
// 8BITMIME RFC 6152, SMTPUTF8 RFC 6531 and DSN RFC 3461).
//
// Everything that goes on the wire is checked here: an address that cannot
// be written as an SMTP path is refused (the caller fails that recipient
// locally) instead of being sent, so no envelope field can inject a command
// line. Optional DSN hints that are malformed are left out, not fatal.
#ifndef RINGMAIL_PROTOCOLS_SMTP_CLIENT_COMMAND_H_
#define RINGMAIL_PROTOCOLS_SMTP_CLIENT_COMMAND_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/smtp/client_reply.h"
#include "protocols/smtp/xtext.h"  // kMaxEnvidLength, kMaxOrcptLength

namespace ringmail::smtp {

// Longest address we put between < and >. A sanity bound well above RFC
// 5321 §4.5.3.1.3's 256 octets: the server applies the real limits and
// answers with a reply we can report.
inline constexpr size_t kMaxOutboundAddress = 1000;

struct OutboundRecipient {
  // "local@domain", as stored (a local part that needs quoting may come
  // unquoted: it is quoted here), or "postmaster" / "Postmaster".
  std::string address;
  // RFC 3461 §4.1 NOTIFY value ("NEVER" or e.g. "SUCCESS,FAILURE") or "".
  std::string notify;
  // RFC 3461 §4.2 ORCPT value, "addr-type;xtext" (e.g. "rfc822;a+40b"), or "".
  std::string orcpt;
};

struct OutboundEnvelope {
  std::string mail_from;  // "local@domain", "" for the null sender <>
  std::vector<OutboundRecipient> recipients;
  uint64_t size = 0;       // body size in CRLF octets (SIZE=); 0: unknown
  bool eight_bit = false;  // the body has 8-bit octets (BODY=8BITMIME)
  bool smtputf8 = false;   // UTF-8 in the envelope or header (RFC 6531)
  std::string ret;         // RFC 3461 §4.3 "FULL" / "HDRS" / ""
  std::string envid;       // RFC 3461 §4.4 xtext, or ""
};

// Appends "<path>" for `address` to *out. "" gives "<>" (only valid for
// MAIL). A local part that is not a Dot-string (and not already a
// Quoted-string) is quoted (RFC 5321 §4.1.2). Returns false, appending
// nothing, when the address cannot be sent: empty domain, control octets,
// SP or <>"\ in the domain, or longer than kMaxOutboundAddress.
bool AppendPath(std::string_view address, std::string* out);

// Appends the MAIL command line (with CRLF). Parameters, in this order, only
// where the server advertised the extension: SIZE=n (size > 0),
// BODY=8BITMIME (eight_bit), SMTPUTF8 (smtputf8), RET= and ENVID= (DSN; a
// malformed value is left out). Returns false (nothing appended) when
// AppendPath refuses mail_from.
bool AppendMailCommand(const OutboundEnvelope& env,
                       const ServerCapabilities& caps, std::string* out);

// Appends the RCPT command line (with CRLF), with NOTIFY= and ORCPT= when
// the server advertised DSN and the values are well-formed. Returns false
// (nothing appended) when AppendPath refuses the address or it is empty.
bool AppendRcptCommand(const OutboundRecipient& rcpt,
                       const ServerCapabilities& caps, std::string* out);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_CLIENT_COMMAND_H_
