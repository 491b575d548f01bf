// RFC 5322 §3.3 date-time parsing to a UTC instant, for the "sent date" of
// IMAP SORT/THREAD (RFC 5256 §2.2). Pure.
#ifndef RINGMAIL_PROTOCOLS_MIME_DATE_TIME_H_
#define RINGMAIL_PROTOCOLS_MIME_DATE_TIME_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace ringmail::mime {

// Seconds since 1970-01-01 00:00 UTC of an unfolded Date: value:
//   [day-of-week ","] day month year hour ":" minute [":" second] [zone]
// with CFWS allowed between tokens and the obsolete forms of RFC 5322 §4.3:
// 2-digit years (< 50 is 20xx, else 19xx), 3-digit years (+1900), named
// zones (UT, GMT, EST/EDT, CST/CDT, MST/MDT, PST/PDT) and military letters
// (taken as +0000, as §4.3 advises). A missing or unknown zone is +0000.
// nullopt when the day, month, year or time cannot be read or is out of
// range (day > days in month, hour > 23, minute > 59, second > 60), so the
// caller falls back to the internal date.
std::optional<int64_t> ParseDateTime(std::string_view value);

// The calendar day written in the same Date: value (days since 1970-01-01),
// ignoring time and zone, as IMAP SENTBEFORE/SENTON/SENTSINCE require
// (RFC 3501 §6.4.4). nullopt when the day, month or year cannot be read.
std::optional<int64_t> ParseDateDay(std::string_view value);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
int64_t DaysFromCivilDate(int64_t year, unsigned month, unsigned day);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_DATE_TIME_H_
