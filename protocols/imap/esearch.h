// ESEARCH (RFC 4731): the RETURN options of SEARCH / UID SEARCH and the
// "* ESEARCH" response. Pure.
#ifndef RINGMAIL_PROTOCOLS_IMAP_ESEARCH_H_
#define RINGMAIL_PROTOCOLS_IMAP_ESEARCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"

namespace ringmail::imap {

enum SearchReturnOption : uint8_t {
  kReturnMin = 1 << 0,
  kReturnMax = 1 << 1,
  kReturnAll = 1 << 2,
  kReturnCount = 1 << 3,
};

struct SearchReturn {
  // RETURN was given: answer with ESEARCH instead of SEARCH (RFC 4731 §3.1:
  // never ESEARCH for a SEARCH without RETURN).
  bool extended = false;
  uint8_t options = 0;  // SearchReturnOption set; "RETURN ()" means ALL
};

// Strips a leading `RETURN (opt ...)` from SEARCH arguments:
//   search = "SEARCH" [SP "RETURN" SP "(" [opt *(SP opt)] ")"] SP
//            search-criteria
// On success *rest holds the arguments after it (all of `args` when there
// is no RETURN). MIN, MAX, ALL and COUNT are known (any case, repeats
// allowed); any other option, or RETURN without a list, fails with the BAD
// text in *err (§3.1: unknown options are a BAD). SAVE (RFC 5182) is not
// supported and refused the same way.
bool ParseSearchReturn(ArgList args, SearchReturn* ret, ArgList* rest,
                       ArgError* err);

// Appends `* ESEARCH (TAG "tag")[ UID][ MIN n][ MAX n][ COUNT n][ ALL set]`
// for `hits` (ascending, no duplicates): MIN, MAX and ALL only when there
// is a hit (§3.1), COUNT always when asked; ALL as a compact sequence set
// ("2:4,9"). `highest_modseq` > 0 adds " MODSEQ n" (RFC 7162 §3.1.5) when
// there is a hit. The tag is one the reader accepted (no '"' or '\').
void AppendEsearch(std::string* out, std::string_view tag, bool uid,
                   const SearchReturn& ret, const std::vector<uint32_t>& hits,
                   uint64_t highest_modseq = 0);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_ESEARCH_H_
