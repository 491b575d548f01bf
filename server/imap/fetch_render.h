// FETCH response rendering (RFC 3501 §6.4.5, §7.4.2; RFC 7162 MODSEQ):
// one "* n FETCH (...)" line per message from a parsed request and a
// MessageView. Pure: no I/O, no flag changes.
//
// Contract with the caller (server glue):
//  - Call NeedsOf() once per command and load what it asks for: index data
//    always; `content` (all of it, or only the top-level header block when
//    headers_only) and `structure` (cached, or left null to have it parsed
//    here from `content`).
//  - \Seen: when request.sets_seen and the message is not \Seen, the caller
//    sets \Seen in storage FIRST, passes the updated flags in the view and
//    sets FetchRenderOptions::add_flags so FLAGS is reported even if not
//    requested (RFC 3501 §6.4.5 "the \Seen flag is set"; Dovecot does the
//    same). In a read-only (EXAMINE) mailbox nothing changes.
//  - CHANGEDSINCE filtering (skip messages with modseq <= n) is the
//    caller's; RenderFetch adds MODSEQ whenever the request carries
//    CHANGEDSINCE (RFC 7162 §3.1.4.1).
#ifndef RINGMAIL_SERVER_IMAP_FETCH_RENDER_H_
#define RINGMAIL_SERVER_IMAP_FETCH_RENDER_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "protocols/imap/fetch.h"
#include "server/imap/message_view.h"

namespace ringmail::server::imap {

struct FetchNeeds {
  // Message octets are needed. When headers_only is also set, a prefix of
  // the message holding the complete top-level header block suffices.
  bool content = false;
  bool headers_only = false;
  // A parsed mime::Structure is needed (ENVELOPE, BODY, BODYSTRUCTURE,
  // BODY[<part>...]). If the caller has none cached it must load the full
  // content so it can be parsed (RenderFetch does that itself when
  // MessageView::structure is null).
  bool structure = false;
  // The index's cold fields (internal date, sizes: read from the mapped
  // ringmail-index) are needed; FLAGS, UID and MODSEQ alone do not touch
  // them.
  bool cold = false;
};
FetchNeeds NeedsOf(const ringmail::imap::FetchRequest& request);

struct FetchRenderOptions {
  bool uid_command = false;  // UID FETCH: UID always returned (§6.4.8)
  bool add_flags = false;    // \Seen was just set: report FLAGS
};

// Appends "* <seq> FETCH (...)\r\n" to *out. Items appear in request order;
// UID is put first when the options demand it and it was not requested,
// FLAGS and MODSEQ last when added. Section data is always a literal
// "{n}\r\n..." of the stored octets with every bare LF sent as CRLF (and
// NUL sent as 0x80, RFC 3501 §4.3); a part that does not exist, or a
// partial origin beyond the end, gives "{0}\r\n" like Dovecot. Never fails:
// a stale or missing structure is replaced by parsing `content`.
void RenderFetch(const ringmail::imap::FetchRequest& request,
                 const MessageView& view, const FetchRenderOptions& options,
                 std::string* out);
inline void RenderFetch(const ringmail::imap::FetchRequest& request,
                        const MessageView& view, bool uid_command,
                        std::string* out) {
  FetchRenderOptions o;
  o.uid_command = uid_command;
  RenderFetch(request, view, o, out);
}

inline constexpr uint64_t kTakeAll = std::numeric_limits<uint64_t>::max();

// Appends the CRLF form of `lf` (every LF not preceded by CR becomes CRLF;
// CRLF stays), skipping its first `skip` octets and appending at most
// `take` octets. Offsets count the CRLF form, so a skip can land between an
// inserted CR and its LF. A LF at lf[0] counts as bare.
void AppendCrlf(std::string_view lf, uint64_t skip, uint64_t take,
                std::string* out);

// Octets of the CRLF form of `lf` (same counting as AppendCrlf).
uint64_t CrlfSize(std::string_view lf);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_FETCH_RENDER_H_
