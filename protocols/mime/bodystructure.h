// IMAP BODY / BODYSTRUCTURE formatting (RFC 3501 §7.4.2), byte-compatible
// with Dovecot's imap-bodystructure.c:
//  - text/* parts get a line count and, when they have no charset
//    parameter, ("charset" "us-ascii") appended to their parameters;
//  - a missing Content-Transfer-Encoding is written "7bit";
//  - message/rfc822 and message/global parts carry the embedded ENVELOPE,
//    BODYSTRUCTURE and line count;
//  - a multipart with no body parts is written with one empty text/plain
//    part (the grammar needs at least one);
//  - extension data: md5, disposition, language (always a list) and
//    location for leaves; params, disposition, language, location for
//    multiparts.
// Sizes are CRLF octets. Strings use AppendImapString (quoted or literal).
#ifndef RINGMAIL_PROTOCOLS_MIME_BODYSTRUCTURE_H_
#define RINGMAIL_PROTOCOLS_MIME_BODYSTRUCTURE_H_

#include <string>

#include "protocols/mime/structure.h"

namespace ringmail::mime {

// Appends the structure of parts[part] ("(...)"). `extended` selects
// BODYSTRUCTURE (true) or BODY (false). A tree deeper than 600 levels (only
// possible from a hand-made Structure) is cut with an empty text/plain part.
void AppendBodyStructure(std::string* out, const Structure& s, int part,
                         bool extended);

// BODYSTRUCTURE / BODY of the whole message (part 0).
std::string FormatBodyStructure(const Structure& s, bool extended = true);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_BODYSTRUCTURE_H_
