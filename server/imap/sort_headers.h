// The header values SORT and THREAD read (ringmail::imap::SortHeaders),
// taken from a cached MIME structure's ENVELOPE data when the server has
// one, or from the message text. Both give identical values for the same
// message (first occurrence of each field, unfolded, same header limits),
// so a result never depends on what happened to be cached. Pure.
#ifndef RINGMAIL_SERVER_IMAP_SORT_HEADERS_H_
#define RINGMAIL_SERVER_IMAP_SORT_HEADERS_H_

#include <string_view>

#include "protocols/imap/sort.h"
#include "protocols/mime/structure.h"

namespace ringmail::server::imap {

// The top-level message's envelope in `s`, or nullptr (no structure, or a
// structure without one).
const mime::Envelope* TopEnvelope(const mime::Structure* s);

// From a cached envelope. References is not part of ENVELOPE: the result
// never has it (THREAD=REFERENCES must read the message).
ringmail::imap::SortHeaders SortHeadersFromEnvelope(const mime::Envelope& env);

// From the message (LF or CRLF; only its top-level header block is read).
ringmail::imap::SortHeaders SortHeadersFromContent(std::string_view content);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_SORT_HEADERS_H_
