// What the index knows of one message, in a session's numbering, and the
// message file's path (message_lookup.h), for FETCH, SEARCH, SORT, THREAD.
#include "server/imap/message_lookup.h"

#include "absl/strings/str_cat.h"
#include "server/imap/flags.h"

namespace ringmail::server::imap {

MessageView IndexViewOf(const FolderView& view, size_t pos) {
  const storage::FolderIndex& idx = view.folder()->index();
  MessageView mv;
  mv.uid = idx.uid(pos);
  mv.seq = view.SeqOfUid(mv.uid);
  mv.imap_flags = ImapFlagsFromStorage(idx.flags(pos), idx.recent(pos));
  mv.keywords = KeywordNames(idx.keywords(pos), view.folder()->keywords());
  if (view.IsRecent(mv.uid)) mv.imap_flags |= ringmail::imap::kFlagRecent;
  mv.internal_date = idx.internal_date(pos);
  mv.size = idx.message_size(pos);
  const uint64_t vsize = idx.vsize(pos);
  mv.vsize = vsize == storage::kUnknownSize ? mv.size : vsize;
  mv.modseq = idx.modseq(pos);
  return mv;
}

std::optional<MessageView> CurrentViewOf(const FolderView& view, uint32_t uid) {
  const storage::FolderIndex& idx = view.folder()->index();
  std::optional<size_t> pos = idx.PositionOfUid(uid);
  if (!pos) return std::nullopt;
  return IndexViewOf(view, *pos);
}

std::optional<MessageView> LoadedViewOf(const FolderView& view, uint32_t uid,
                                        const absl::StatusOr<std::string>& data) {
  if (!data.ok()) return std::nullopt;
  std::optional<MessageView> mv = CurrentViewOf(view, uid);
  if (!mv) return std::nullopt;
  mv->content = *data;
  mv->structure = view.folder()->CachedStructure(uid);
  return mv;
}

std::string MessagePathOf(const FolderState& f, size_t pos) {
  return absl::StrCat(f.path(), "/", f.index().RelativePath(pos));
}

}  // namespace ringmail::server::imap
