#include "protocols/smtp/dsn.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <initializer_list>

#include "protocols/smtp/dsn_text.h"
#include "protocols/smtp/received_header.h"
#include "protocols/smtp/text_util.h"

namespace ringmail::smtp {
namespace {

using dsn_internal::AddrSpec;
using dsn_internal::AppendClean;
using dsn_internal::AppendFoldedField;
using dsn_internal::AppendWrapped;
using dsn_internal::IsAscii;
using dsn_internal::Utf8AddrXtext;

// How often a colliding boundary is extended before we give up (a random
// token never collides; this only bounds the work on hostile content).
constexpr int kBoundaryTries = 8;

std::string Clean(std::string_view s) {
  std::string out;
  AppendClean(s, /*utf8=*/false, &out);
  return out;
}

bool IsDigits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 3463 §2: status-code = class "." subject "." detail, class 2/4/5,
// subject and detail 1*3digit.
bool IsStatus(std::string_view s) {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
      s[1] != '.') {
    return false;
  }
  s.remove_prefix(2);
  const size_t dot = s.find('.');
  return dot != std::string_view::npos && IsDigits(s.substr(0, dot), 1, 3) &&
         IsDigits(s.substr(dot + 1), 1, 3);
}

std::string_view ActionName(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed: return "failed";
    case DsnAction::kDelayed: return "delayed";
    case DsnAction::kDelivered: return "delivered";
    case DsnAction::kRelayed: return "relayed";
  }
  return "failed";
}

std::string StatusFor(const DsnRecipient& r) {
  if (IsStatus(r.status)) return r.status;
  switch (r.action) {
    case DsnAction::kFailed: return "5.0.0";
    case DsnAction::kDelayed: return "4.0.0";
    default: return "2.0.0";
  }
}

// "rfc822; addr", or RFC 6533's "utf-8; ..." for an address that is not
// ASCII, so the delivery-status part stays 7-bit.
std::string AddressField(std::string_view canonical) {
  const std::string spec = AddrSpec(canonical);
  if (IsAscii(spec)) return Concat({"rfc822; ", Clean(spec)});
  return Concat({"utf-8; ", Utf8AddrXtext(spec)});
}

// The ORCPT value "type;xtext" for Original-Recipient (RFC 3464 §2.3.1):
// the address decoded, unless that would not be printable ASCII, in which
// case the 7-bit form as received is kept.
std::string OriginalRecipientField(std::string_view orcpt) {
  const size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos) return Clean(orcpt);
  const std::string type = Clean(orcpt.substr(0, semi));
  const std::string_view value = orcpt.substr(semi + 1);
  if (type.size() == 5 && (type[0] | 0x20) == 'u' && (type[1] | 0x20) == 't' &&
      (type[2] | 0x20) == 'f' && type[3] == '-' && type[4] == '8') {
    return Concat({type, "; ", Utf8AddrXtext(value)});  // RFC 6533 §3
  }
  const std::optional<std::string> decoded = XtextDecode(value);
  const bool printable =
      decoded && std::all_of(decoded->begin(), decoded->end(), [](char c) {
        return c >= 0x20 && c < 0x7f;
      });
  return Concat({type, "; ", printable ? *decoded : Clean(value)});
}

std::string Hours(absl::Duration d) {
  char buf[64];
  if (d < absl::Hours(1)) {
    std::snprintf(buf, sizeof buf, "%lld minute(s)",
                  static_cast<long long>(absl::ToInt64Minutes(d)));
  } else if (d < absl::Hours(48)) {
    std::snprintf(buf, sizeof buf, "%.1f hour(s)", absl::ToDoubleHours(d));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f day(s)", absl::ToDoubleHours(d) / 24);
  }
  return buf;
}

// The human-readable line for one recipient, Postfix style.
std::string RecipientLine(const DsnRecipient& r) {
  std::string line = "<";
  AppendClean(AddrSpec(r.final_recipient), /*utf8=*/true, &line);
  line += ">: ";
  const bool success =
      r.action == DsnAction::kDelivered || r.action == DsnAction::kRelayed;
  if (!r.remote_mta.empty()) {
    AppendAll(&line, {success ? "delivery via " : "host ", Clean(r.remote_mta),
                      success ? ": " : " said: "});
  }
  if (!r.diagnostic.empty()) {
    AppendClean(r.diagnostic, false, &line);
  } else if (!r.reason.empty()) {
    AppendClean(r.reason, false, &line);
  } else {
    AppendAll(&line, {ActionName(r.action), " (status ", StatusFor(r), ")"});
  }
  return line;
}

std::string_view Heading(DsnAction a) {
  switch (a) {
    case DsnAction::kFailed:
      return "Delivery to these recipients failed permanently:";
    case DsnAction::kDelayed:
      return "Delivery to these recipients is delayed and will be retried:";
    default:
      return "Delivery to these recipients succeeded:";
  }
}

// The text/plain part: a Postfix-like letter, then one line per recipient
// (grouped by action when the report mixes actions).
std::string HumanPart(const DsnInput& in, DsnAction worst, bool mixed) {
  std::string t;
  std::string host;
  AppendClean(in.reporting_mta, false, &host);
  AppendAll(&t, {"This is the mail system at host ", host, ".\n\n"});
  switch (worst) {
    case DsnAction::kFailed:
      t += "I'm sorry to have to tell you that your message could not be\n"
           "delivered to one or more recipients. It is attached below.\n\n";
      break;
    case DsnAction::kDelayed: {
      t += "THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE.\n\n";
      if (in.arrival != absl::InfinitePast()) {
        absl::Time until = absl::InfinitePast();
        for (const DsnRecipient& r : in.recipients) {
          if (r.action == DsnAction::kDelayed) {
            until = std::max(until, r.will_retry_until);
          }
        }
        AppendAll(&t, {"Your message could not be delivered for ",
                       Hours(in.now - in.arrival), ".\n"});
        if (until != absl::InfinitePast()) {
          AppendAll(&t, {"It will be retried until it is ",
                         Hours(until - in.arrival), " old.\n"});
        }
        t += "\n";
      }
      break;
    }
    default:
      t += "Your message was delivered to the destination(s) listed below.\n"
           "If it went into a mailbox you will get no further notice;\n"
           "otherwise other systems may still report delivery errors.\n\n";
      break;
  }
  if (worst != DsnAction::kDelivered && worst != DsnAction::kRelayed) {
    t += "For further assistance, please send mail to postmaster.\n\n"
         "If you do so, please include this problem report. You can\n"
         "delete your own text from the attached returned message.\n\n";
  }
  t += "                   The mail system\n";
  for (DsnAction a : {DsnAction::kFailed, DsnAction::kDelayed,
                      DsnAction::kDelivered, DsnAction::kRelayed}) {
    bool first = true;
    for (const DsnRecipient& r : in.recipients) {
      if (r.action != a) continue;
      if (first && mixed) AppendAll(&t, {"\n", Heading(a), "\n"});
      first = false;
      t += "\n";
      AppendWrapped(RecipientLine(r), &t);
    }
  }
  return t;
}

// The message/delivery-status part (RFC 3464 §2.2, §2.3).
std::string StatusPart(const DsnInput& in) {
  std::string s;
  if (!in.envid.empty()) {
    AppendFoldedField("Original-Envelope-Id", Clean(in.envid), &s);
  }
  AppendFoldedField("Reporting-MTA", Concat({"dns; ", Clean(in.reporting_mta)}),
                    &s);
  if (!in.queue_id.empty()) {
    AppendFoldedField("X-Ringmail-Queue-ID", Clean(in.queue_id), &s);
  }
  AppendFoldedField("X-Ringmail-Sender", AddressField(in.to_address), &s);
  if (in.arrival != absl::InfinitePast()) {
    AppendFoldedField("Arrival-Date", FormatRfc5322Date(in.arrival), &s);
  }
  for (const DsnRecipient& r : in.recipients) {
    s += "\n";
    if (!r.original_recipient.empty()) {
      AppendFoldedField("Original-Recipient",
                        OriginalRecipientField(r.original_recipient), &s);
    }
    AppendFoldedField("Final-Recipient", AddressField(r.final_recipient), &s);
    AppendFoldedField("Action", ActionName(r.action), &s);
    AppendFoldedField("Status", StatusFor(r), &s);
    if (!r.remote_mta.empty()) {
      AppendFoldedField("Remote-MTA", Concat({"dns; ", Clean(r.remote_mta)}),
                        &s);
    }
    if (!r.diagnostic.empty()) {
      AppendFoldedField("Diagnostic-Code",
                        Concat({"smtp; ", Clean(r.diagnostic)}), &s);
    } else if (!r.reason.empty()) {
      AppendFoldedField("Diagnostic-Code",
                        Concat({"X-Ringmail; ", Clean(r.reason)}), &s);
    }
    if (r.last_attempt != absl::InfinitePast()) {
      AppendFoldedField("Last-Attempt-Date", FormatRfc5322Date(r.last_attempt),
                        &s);
    }
    if (r.action == DsnAction::kDelayed &&
        r.will_retry_until != absl::InfinitePast()) {
      AppendFoldedField("Will-Retry-Until",
                        FormatRfc5322Date(r.will_retry_until), &s);
    }
  }
  return s;
}

// The header block of a stored message: up to and including the LF that
// precedes the first empty line (all of it when there is none), cut at the
// last whole line within `limit`.
std::string_view HeadersOf(std::string_view msg, size_t limit) {
  std::string_view h = msg;
  if (!h.empty() && h[0] == '\n') return {};
  const size_t blank = h.find("\n\n");
  if (blank != std::string_view::npos) h = h.substr(0, blank + 1);
  if (h.size() > limit) {
    const size_t lf = h.rfind('\n', limit - 1);
    h = lf == std::string_view::npos || limit == 0 ? std::string_view()
                                                   : h.substr(0, lf + 1);
  }
  return h;
}

bool IsBchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos;
}

bool Contains(std::initializer_list<std::string_view> parts,
              std::string_view needle) {
  for (std::string_view p : parts) {
    if (p.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

std::string StatusForReply(int code, std::string_view enhanced) {
  const int cls = code / 100;
  if (code < 200 || code > 599 || (cls != 2 && cls != 4 && cls != 5)) {
    return "4.5.0";
  }
  const std::string_view token = enhanced.substr(0, enhanced.find(' '));
  if (IsStatus(token)) {
    std::string s(token);
    s[0] = static_cast<char>('0' + cls);  // RFC 3463 §2: class must agree
    return s;
  }
  return Concat({std::string(1, static_cast<char>('0' + cls)), ".0.0"});
}

std::string BuildDsn(const DsnInput& in) {
  assert(!in.recipients.empty());
  DsnAction worst = DsnAction::kDelivered;
  bool any_failed = false, any_delayed = false, any_success = false;
  for (const DsnRecipient& r : in.recipients) {
    any_failed |= r.action == DsnAction::kFailed;
    any_delayed |= r.action == DsnAction::kDelayed;
    any_success |= r.action == DsnAction::kDelivered ||
                   r.action == DsnAction::kRelayed;
  }
  if (any_failed) {
    worst = DsnAction::kFailed;
  } else if (any_delayed) {
    worst = DsnAction::kDelayed;
  }
  const bool mixed = any_failed + any_delayed + any_success > 1;

  const bool full = in.return_full &&
                    in.original_message.size() <= in.max_returned_bytes;
  const std::string_view returned =
      full ? in.original_message
           : HeadersOf(in.original_message, in.max_returned_bytes);
  const std::string human = HumanPart(in, worst, mixed);
  const std::string status = StatusPart(in);

  std::string boundary;
  for (char c : in.boundary) {
    if (IsBchar(c) && boundary.size() < kMaxBoundaryToken) boundary += c;
  }
  if (boundary.empty()) boundary = "ringmail-dsn";
  const std::string base = boundary;
  for (int i = 1; i <= kBoundaryTries &&
                  Contains({returned, human, status}, "--" + boundary);
       ++i) {
    boundary = Concat({base, "=", std::to_string(i)});
  }

  const bool human_8bit = !IsAscii(human);
  const bool returned_8bit = !IsAscii(returned);
  std::string out;
  out.reserve(returned.size() + human.size() + status.size() + 2048);

  // Message header (RFC 3464 §2, RFC 3834 §5 Auto-Submitted).
  std::string from;
  AppendClean(AddrSpec(in.from_address), true, &from);
  std::string to;
  AppendClean(AddrSpec(in.to_address), true, &to);
  AppendFoldedField("From", Concat({"Mail Delivery System <", from, ">"}),
                    &out);
  AppendFoldedField("To", Concat({"<", to, ">"}), &out);
  AppendFoldedField("Subject",
                    worst == DsnAction::kFailed
                        ? "Undelivered Mail Returned to Sender"
                    : worst == DsnAction::kDelayed
                        ? "Delayed Mail (still being retried)"
                        : "Successful Mail Delivery Report",
                    &out);
  AppendFoldedField("Date", FormatRfc5322Date(in.now), &out);
  // Unique because the token is; dot-atom-text (RFC 5322 §3.6.4).
  std::string id = absl::FormatTime("%Y%m%d%H%M%S", in.now, absl::UTCTimeZone());
  for (std::string_view part : {std::string_view(in.queue_id),
                                std::string_view(base)}) {
    id += '.';
    for (char c : part) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_') {
        id += c;
      }
    }
    if (id.back() == '.') id.pop_back();
  }
  AppendFoldedField("Message-ID",
                    Concat({"<", id, "@", Clean(in.reporting_mta), ">"}), &out);
  AppendFoldedField("Auto-Submitted", "auto-replied", &out);
  AppendFoldedField("MIME-Version", "1.0", &out);
  AppendFoldedField("Content-Type",
                    Concat({"multipart/report; report-type=delivery-status; "
                            "boundary=\"",
                            boundary, "\""}),
                    &out);
  AppendFoldedField("Content-Transfer-Encoding",
                    human_8bit || returned_8bit ? "8bit" : "7bit", &out);
  out += "\nThis is a MIME-encapsulated message.\n";

  // RFC 6522 §3: the human-readable part first.
  AppendAll(&out, {"\n--", boundary,
                   "\nContent-Description: Notification\n"
                   "Content-Type: text/plain; charset=",
                   human_8bit ? "utf-8\nContent-Transfer-Encoding: 8bit\n"
                              : "us-ascii\n",
                   "\n", human});
  AppendAll(&out, {"\n--", boundary,
                   "\nContent-Description: Delivery report\n"
                   "Content-Type: message/delivery-status\n\n",
                   status});
  const std::string_view what =
      worst == DsnAction::kFailed    ? "Undelivered Message"
      : worst == DsnAction::kDelayed ? "Delayed Message"
                                     : "Delivered Message";
  AppendAll(&out, {"\n--", boundary, "\nContent-Description: ", what,
                   full ? "" : " Headers", "\nContent-Type: ",
                   full ? "message/rfc822" : "text/rfc822-headers", "\n",
                   returned_8bit ? "Content-Transfer-Encoding: 8bit\n" : "",
                   "\n", returned, "\n--", boundary, "--\n"});
  return out;
}

}  // namespace ringmail::smtp
