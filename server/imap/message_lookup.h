// What the index knows of one message, for FETCH, SEARCH, SORT and THREAD
// (defined in message_lookup.cc), so every command sees a message the same
// way.
#ifndef RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_
#define RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_

#include <string>

#include "server/imap/folder_state.h"
#include "server/imap/message_view.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::server::imap {

// The view of `e` in this session's numbering: seq, UID, flags (with
// \Recent), keywords, internal date and sizes; no content or structure.
// Borrowed from the folder's keyword table: valid while it is unchanged.
MessageView IndexViewOf(const FolderView& view, const storage::MessageEntry& e);

// The message file's path.
std::string MessagePathOf(const FolderState& folder, const storage::MessageEntry& e);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_
