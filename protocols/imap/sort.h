// IMAP SORT (RFC 5256 §3, with DISPLAYFROM/DISPLAYTO of RFC 5957): command
// parsing, per-message sort keys from header values, ordering and the
// "* SORT" response. Pure: the server gathers the header values.
#ifndef RINGMAIL_PROTOCOLS_IMAP_SORT_H_
#define RINGMAIL_PROTOCOLS_IMAP_SORT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"
#include "protocols/imap/search.h"

namespace ringmail::imap {

// Criteria in one SORT command (RFC 5256 has 8 keys; repeats are legal but
// pointless).
inline constexpr size_t kMaxSortCriteria = 16;
// Octets of one string sort key kept; longer keys compare by this prefix.
// Bounds the memory a SORT holds per message.
inline constexpr size_t kMaxSortKeyOctets = 1024;
// Addresses parsed from a From/To/Cc value to find its first mailbox.
inline constexpr size_t kMaxSortAddresses = 64;

enum class SortKey : uint8_t {
  kArrival, kCc, kDate, kFrom, kSize, kSubject, kTo,
  kDisplayFrom, kDisplayTo,  // RFC 5957
};

struct SortCriterion {
  SortKey key = SortKey::kArrival;
  bool reverse = false;
};

struct SortCommand {
  std::vector<SortCriterion> criteria;  // 1..kMaxSortCriteria
  SearchProgram search;
};

// args: "(" ["REVERSE" SP] sort-key *(SP ["REVERSE" SP] sort-key) ")" SP
//       charset 1*(SP search-key)
// kBadCharset unless the charset is UTF-8 or US-ASCII; kBad with err->text
// on any other syntax error.
SearchStatus ParseSort(ArgList args, SortCommand* out, ArgError* err);

// The charset argument of SORT and THREAD (an astring, not prefixed by
// "CHARSET" as in SEARCH).
SearchStatus CheckSortCharset(const Arg& charset, ArgError* err);

// The header values SORT and THREAD read from one message: the first
// occurrence of each field, unfolded, encoded words still raw (exactly as
// mime::Envelope holds them); nullopt when the field is absent.
struct SortHeaders {
  std::optional<std::string> date, subject, from, to, cc, message_id,
      in_reply_to, references;
  bool operator==(const SortHeaders&) const = default;
};

// True if a criterion reads header values (all but ARRIVAL and SIZE).
bool SortNeedsHeaders(const std::vector<SortCriterion>& criteria);

// RFC 5256 §2.2: the Date: value as a UTC instant, or the internal date
// when it is absent or cannot be parsed.
int64_t SentDate(const std::optional<std::string>& date, int64_t internal_date);

// RFC 5256 §3 FROM/TO/CC: addr-mailbox of the first address (group markers
// skipped), ASCII upper-cased; "" when there is none.
std::string AddressSortKey(std::string_view address_list);
// RFC 5957 §3: the first address's display name (RFC 2047 decoded) if
// non-empty, else addr-mailbox "@" addr-host, else ""; ASCII upper-cased.
std::string DisplaySortKey(std::string_view address_list);

// One message to be sorted. The caller sets seq, number, arrival and size;
// FillSortRecord sets the keys the criteria use (others stay empty).
struct SortRecord {
  uint32_t seq = 0;      // mailbox order: the final tie-breaker (§3)
  uint32_t number = 0;   // reported: sequence number, or UID for UID SORT
  int64_t arrival = 0;   // internal date, unix seconds
  uint64_t size = 0;     // RFC822.SIZE
  int64_t sent = 0;      // DATE
  std::string subject;   // base subject (§2.1)
  std::string from, to, cc, display_from, display_to;
};
void FillSortRecord(const std::vector<SortCriterion>& criteria,
                    const SortHeaders& headers, SortRecord* record);
// Octets a record holds (for the caller's memory budget).
size_t SortRecordBytes(const SortRecord& record);

// The records' numbers in SORT order: criteria in turn, each ascending
// unless REVERSE, then ascending seq (REVERSE never applies to it).
std::vector<uint32_t> SortMessages(std::vector<SortRecord> records,
                                   const std::vector<SortCriterion>& criteria);

// "* SORT 2 3 1\r\n"; "* SORT\r\n" when empty. `highest_modseq` > 0 adds
// " (MODSEQ n)" when there is a number (RFC 7162 §3.1.5, search-sort-mod-seq:
// the search used MODSEQ).
void AppendSort(std::string* out, const std::vector<uint32_t>& numbers,
                uint64_t highest_modseq = 0);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_SORT_H_
