// What the index knows of one message, in a session's numbering, and the
// message file's path (message_lookup.h), for FETCH, SEARCH, SORT, THREAD.
#include "server/imap/message_lookup.h"

#include "absl/strings/str_cat.h"
#include "server/imap/flags.h"

namespace ringmail::server::imap {

MessageView IndexViewOf(const FolderView& view, const storage::MessageEntry& e) {
  MessageView mv;
  mv.seq = view.SeqOfUid(e.uid);
  mv.uid = e.uid;
  SetViewFlags(e, view.folder()->keywords(), &mv);
  if (view.IsRecent(e.uid)) mv.imap_flags |= ringmail::imap::kFlagRecent;
  mv.internal_date = e.internal_date;
  mv.size = e.size;
  mv.vsize = e.vsize == storage::kUnknownSize ? e.size : e.vsize;
  mv.modseq = e.modseq;
  return mv;
}

std::optional<MessageView> CurrentViewOf(const FolderView& view, uint32_t uid) {
  const storage::FolderIndex& idx = view.folder()->index();
  std::optional<size_t> pos = idx.PositionOfUid(uid);
  if (!pos) return std::nullopt;
  return IndexViewOf(view, idx.at(*pos));
}

std::string MessagePathOf(const FolderState& f, const storage::MessageEntry& e) {
  return absl::StrCat(f.path(), "/", e.RelativePath());
}

}  // namespace ringmail::server::imap
