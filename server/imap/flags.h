// Message flags between the Maildir store and IMAP (RFC 3501 §2.3.2).
//
// Storage keeps the system flags as Maildir info letters
// (storage::MessageFlag) and keywords as a 26-bit mask whose names live in
// the folder's dovecot-keywords table (storage::MaildirKeywords). IMAP sees
// ringmail::imap::FlagBit plus keyword names. \Recent is session state
// (MessageEntry::recent), never stored; the Maildir "P" (passed) flag has no
// IMAP name and is preserved untouched by STORE.
#ifndef RINGMAIL_SERVER_IMAP_FLAGS_H_
#define RINGMAIL_SERVER_IMAP_FLAGS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/args.h"
#include "server/imap/message_view.h"
#include "storage/mailbox/folder_index.h"
#include "storage/mailbox/keywords.h"

namespace ringmail::server::imap {

// storage::MessageFlag bits (+ session \Recent) -> imap::FlagBit set.
uint8_t ImapFlagsFromStorage(uint8_t storage_flags, bool recent);

// imap::FlagBit set -> storage::MessageFlag bits. \Recent is dropped;
// storage-only bits (kFlagPassed) are taken from `keep`.
uint8_t StorageFlagsFromImap(uint8_t imap_flags, uint8_t keep);

// Names of the keywords in `mask`, as views into `table` (which must outlive
// the result). Bits without a name in the table are skipped.
std::vector<std::string_view> KeywordNames(
    uint32_t mask, const storage::MaildirKeywords& table);

// Fills view->imap_flags and view->keywords from an index entry.
void SetViewFlags(const storage::MessageEntry& entry,
                  const storage::MaildirKeywords& table, MessageView* view);

// Appends "(\Answered \Flagged \Deleted \Seen \Draft \Recent kw ...)" in the
// same order as ringmail::imap::FormatFlagList, without allocating.
void AppendFlagList(std::string* out, uint8_t imap_flags,
                    const std::vector<std::string_view>& keywords);

// Keywords of `set` that `table` does not know yet, deduplicated
// case-insensitively, in the order given. The caller assigns them under the
// dovecot-keywords lock (storage::AssignKeywordsBlocking) before STORE or
// APPEND.
std::vector<std::string> UnknownKeywords(const ringmail::imap::FlagSet& set,
                                         const storage::MaildirKeywords& table);

struct StoreOutcome {
  uint8_t flags = 0;      // new storage::MessageFlag bits
  uint32_t keywords = 0;  // new keyword mask
  bool changed = false;   // flags or keywords differ from the input
  // Keywords that must be added but have no letter in `table` (replace and
  // add modes only; removing an unknown keyword is a no-op). Non-empty means
  // the outcome is incomplete: assign these names, then call ApplyStore
  // again with the updated table. If a name still cannot be assigned (all
  // 26 letters used), the caller fails the command rather than looping.
  std::vector<std::string> unknown_keywords;
};

// STORE semantics (RFC 3501 §6.4.6) on one message: FLAGS replaces the
// system flags and keywords, +FLAGS adds, -FLAGS removes. \Recent in `set`
// is ignored (the parser refuses it for STORE anyway); kFlagPassed is kept.
StoreOutcome ApplyStore(uint8_t storage_flags, uint32_t keyword_mask,
                        ringmail::imap::StoreMode mode,
                        const ringmail::imap::FlagSet& set,
                        const storage::MaildirKeywords& table);

// The five system flags, as SELECT's FLAGS and PERMANENTFLAGS list them.
inline constexpr uint8_t kSystemFlags =
    ringmail::imap::kFlagSeen | ringmail::imap::kFlagAnswered |
    ringmail::imap::kFlagFlagged | ringmail::imap::kFlagDeleted |
    ringmail::imap::kFlagDraft;

// FLAGS for SELECT/EXAMINE: the system flags plus every keyword defined in
// the folder (RFC 3501 §7.2.6).
ringmail::imap::FlagSet MailboxFlags(const storage::MaildirKeywords& table);

// The PERMANENTFLAGS response code (RFC 3501 §7.1): the system flags and
// known keywords, with "\*" while the table has a free letter. A read-only
// mailbox gets "PERMANENTFLAGS ()".
std::string PermanentFlagsCode(const storage::MaildirKeywords& table,
                               bool read_only);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_FLAGS_H_
