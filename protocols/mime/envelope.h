// IMAP ENVELOPE formatting (RFC 3501 §7.4.2).
#ifndef RINGMAIL_PROTOCOLS_MIME_ENVELOPE_H_
#define RINGMAIL_PROTOCOLS_MIME_ENVELOPE_H_

#include <string>

#include "protocols/mime/structure.h"

namespace ringmail::mime {

// Appends "(date subject from sender reply-to to cc bcc in-reply-to
// message-id)". Text fields are nstrings of the unfolded header values
// (encoded words left raw); address fields are parsed address lists, NIL when
// absent or empty. Sender and Reply-To default to From when absent or empty
// (RFC 3501 §7.4.2).
void AppendEnvelope(std::string* out, const Envelope& env);
std::string FormatEnvelope(const Envelope& env);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_ENVELOPE_H_
