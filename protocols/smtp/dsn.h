// Delivery Status Notifications: the multipart/report message an MTA sends
// back to a sender (RFC 3464, RFC 6522) with RFC 3463 status codes, and the
// mapping from an SMTP reply to such a code. Pure: the caller supplies the
// clock readings, the unique token and the original message.
//
// Which recipients a DSN covers (NOTIFY, RFC 3461 §4.1) and whether one is
// sent at all (never to the null sender, RFC 3461 §6.2) is the caller's
// decision; this module only formats.
#ifndef RINGMAIL_PROTOCOLS_SMTP_DSN_H_
#define RINGMAIL_PROTOCOLS_SMTP_DSN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "protocols/smtp/xtext.h"  // XtextEncode, XtextDecode

namespace ringmail::smtp {

// RFC 3464 §2.3.3 (no "expanded": we do not expand aliases when relaying).
enum class DsnAction : uint8_t { kFailed, kDelayed, kDelivered, kRelayed };

struct DsnRecipient {
  // The envelope address, canonical "local@domain" (local part unquoted,
  // as the SMTP session stores it); quoted again where RFC 5322 needs it.
  std::string final_recipient;
  // The ORCPT value as received ("rfc822;xtext"), or "". Written decoded.
  std::string original_recipient;
  DsnAction action = DsnAction::kFailed;
  // RFC 3463 "class.subject.detail"; a malformed one is replaced by X.0.0
  // with the class the action implies (5 failed, 4 delayed, 2 otherwise).
  std::string status;
  std::string remote_mta;  // host name, or "" when no remote MTA was involved
  // The remote reply on one line ("550 5.1.1 no such user"), or "".
  std::string diagnostic;
  // Our own explanation when there is no remote reply ("Host or domain name
  // not found"), or "". Written as "Diagnostic-Code: X-Ringmail; ...".
  std::string reason;
  absl::Time last_attempt = absl::InfinitePast();      // infinite: omitted
  absl::Time will_retry_until = absl::InfinitePast();  // kDelayed only
};

struct DsnInput {
  std::string reporting_mta;  // our host name
  std::string from_address;   // "MAILER-DAEMON@host"
  std::string to_address;     // envelope sender of the original (not "")
  std::string envid;          // decoded ORIGINAL-ENVELOPE-ID, or ""
  std::string queue_id;       // original's queue id, or ""
  absl::Time arrival = absl::InfinitePast();  // infinite: no Arrival-Date
  absl::Time now;
  std::vector<DsnRecipient> recipients;  // at least one
  std::string_view original_message;     // LF line endings, as stored
  // RET=FULL returns the whole message, else only its header (RFC 3461
  // §4.3 leaves the default to us; like Postfix the caller passes true
  // unless the sender said RET=HDRS).
  bool return_full = false;
  // A bigger message is returned as headers only; a header block bigger
  // than this is cut at the last whole line within it.
  size_t max_returned_bytes = 10 << 20;
  // Unique, unguessable token (e.g. 128 random bits in hex), at most
  // kMaxBoundaryToken octets of RFC 2046 bchars other than space; other
  // octets are dropped. Also makes the Message-ID unique.
  std::string boundary;
};

inline constexpr size_t kMaxBoundaryToken = 60;

// The complete DSN message, header and body, with LF line endings. Every
// line we generate is shorter than 998 octets (RFC 5322 §2.1.1): fields
// and text are folded, and a word too long to fit is split. The returned
// original is copied unchanged. Text taken from the input (diagnostics,
// reasons, host names, the envelope id) has control octets replaced by '?';
// non-ASCII text is replaced too, except addresses: those are written raw
// (UTF-8) in the human-readable part and as RFC 6533 "utf-8" addresses in
// the 7-bit delivery-status part. The subject follows the most serious
// action: failed, then delayed, then delivered/relayed. Besides the RFC 3464
// fields the per-message block carries X-Ringmail-Queue-ID and
// X-Ringmail-Sender (extension fields, like Postfix's X-Postfix-*).
//
// The chosen boundary is checked against the content; should the content
// contain it, a counter is appended (a few tries; with a random token this
// never happens).
std::string BuildDsn(const DsnInput& in);

// RFC 3463 status for an SMTP reply: the enhanced code (RFC 2034) when
// `enhanced` starts with a well-formed one ("5.1.1" or "5.1.1 text"), with
// its class forced to the reply's own class; else "2.0.0", "4.0.0" or
// "5.0.0" by the reply code's first digit. A code that is not 2xx, 4xx or
// 5xx gives "4.5.0" (a protocol problem; the caller decides on retrying).
std::string StatusForReply(int code, std::string_view enhanced);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_DSN_H_
