// SEARCH program evaluation (RFC 3501 §6.4.4; RFC 5182 "$"; RFC 7162
// MODSEQ) against one MessageView at a time. Pure: no I/O.
//
// The caller computes NeedsOf(program.root) once per command, loads that
// much for every candidate message and calls Matches(). String keys compare
// ASCII case-insensitively; other octets (UTF-8) compare exactly. No charset
// conversion is done: parts in other charsets match on their raw octets.
#ifndef RINGMAIL_SERVER_IMAP_SEARCH_EVAL_H_
#define RINGMAIL_SERVER_IMAP_SEARCH_EVAL_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocols/imap/search.h"
#include "protocols/imap/sequence_set.h"
#include "server/imap/message_view.h"

namespace ringmail::server::imap {

// What a program reads, cheapest first; each level includes the ones above.
enum class SearchNeeds : uint8_t {
  kIndex,    // flags, keywords, sizes, internal date, UID, seq, modseq
  kHeaders,  // + the top-level header block (content may be a prefix that
             //   holds the whole header block)
  kBody,     // + the whole content; the structure (parsed here when
             //   MessageView::structure is null)
};
SearchNeeds NeedsOf(const ringmail::imap::SearchNode& node);
// Whether evaluating `node` reads the index's cold fields (internal date,
// sizes), directly or to read the message file: flag-only searches
// (UNSEEN, KEYWORD, UID ...) do not.
bool NeedsColdFields(const ringmail::imap::SearchNode& node);

struct SearchContext {
  uint32_t max_seq = 0;  // messages in the mailbox: "*" of sequence sets
  uint32_t max_uid = 0;  // largest UID in use: "*" of UID sets
  // RFC 5182 saved result as UIDs, for "$". Null: nothing saved, and "$"
  // matches no message.
  const ringmail::imap::ResolvedSet* saved_uids = nullptr;
  int64_t now = 0;  // unix seconds; for relative-date keys (RFC 5032) later
};

// Decoded octets searched per body part at most (BODY/TEXT); the rest of a
// larger part is not searched. Bounds the work per message.
inline constexpr uint64_t kMaxSearchDecodedPerPart = 64ull * 1024 * 1024;

// True when `view` satisfies `node`. Never fails: a message whose data was
// not loaded simply lacks the headers/body the keys look for, and an
// unparsable Date: header matches no SENT* key.
bool Matches(const ringmail::imap::SearchNode& node, const MessageView& view,
             const SearchContext& ctx);

// The calendar day (days since 1970-01-01) written in an RFC 5322 Date:
// value (RFC 5322 §3.3, obsolete 2- and 3-digit years included), ignoring
// time and zone as SENTBEFORE/SENTON/SENTSINCE require. nullopt if the day,
// month and year cannot be read.
std::optional<int64_t> ParseSentDay(std::string_view date_value);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_SEARCH_EVAL_H_
