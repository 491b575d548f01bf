// What the index knows of one message, for FETCH, SEARCH, SORT and THREAD
// (defined in message_lookup.cc), so every command sees a message the same
// way.
#ifndef RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_
#define RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/imap/folder_state.h"
#include "server/imap/message_view.h"
#include "storage/mailbox/folder_index.h"

namespace ringmail::server::imap {

// The view of the message at index position `pos` in this session's numbering: seq, UID, flags (with
// \Recent), keywords, internal date and sizes; no content or structure.
// Its keyword names are views into the folder's keyword table, which a sync
// or another session's STORE/APPEND replaces at any asynchronous step: use
// the result within the synchronous step that built it, never capture it in
// a callback (see CurrentViewOf).
MessageView IndexViewOf(const FolderView& view, size_t pos);
// The same when the message's sequence number is known (0: look it up);
// without `cold` the internal date and sizes are left 0 (they are read
// from the mapped index file: a FLAGS-only FETCH or SEARCH need not touch
// those pages).
MessageView IndexViewOf(const FolderView& view, size_t pos, uint32_t seq, bool cold = true);

// Index positions and sequence numbers of UIDs asked for in ascending
// order (FETCH, SEARCH over a set): each answer is found by stepping on
// from the previous one, not by a binary search over the folder each time,
// and checked, so changes between the calls (expunges, new messages) only
// cost a search.
class AscendingLookup {
 public:
  std::optional<size_t> Position(const storage::FolderIndex& idx, uint32_t uid);
  // 0 if `uid` is not in the view.
  uint32_t Seq(const FolderView& view, uint32_t uid);

 private:
  size_t pos_ = 0;   // where the next UID's position is expected
  uint32_t seq_ = 1;  // the same for its sequence number
};

// IndexViewOf for `uid` as the folder's index has it now; nullopt when the
// message has been expunged meanwhile. Callbacks of file reads and helper
// round trips call this instead of keeping a view from before the step.
std::optional<MessageView> CurrentViewOf(const FolderView& view, uint32_t uid);

// CurrentViewOf plus the content a file read returned and the folder's
// cached structure, if any; nullopt when the read failed or the message
// is gone. The view borrows `data`.
std::optional<MessageView> LoadedViewOf(const FolderView& view, uint32_t uid,
                                        const absl::StatusOr<std::string>& data);

// The path of the file of the message at `pos` in the folder's index.
std::string MessagePathOf(const FolderState& folder, size_t pos);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_MESSAGE_LOOKUP_H_
