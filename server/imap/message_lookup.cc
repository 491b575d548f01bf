// What the index knows of one message, in a session's numbering, and the
// message file's path (message_lookup.h), for FETCH, SEARCH, SORT, THREAD.
#include "server/imap/message_lookup.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/imap/flags.h"

namespace ringmail::server::imap {

MessageView IndexViewOf(const FolderView& view, size_t pos) { return IndexViewOf(view, pos, 0); }

MessageView IndexViewOf(const FolderView& view, size_t pos, uint32_t seq, bool cold) {
  const storage::FolderIndex& idx = view.folder()->index();
  MessageView mv;
  mv.uid = idx.uid(pos);
  mv.seq = seq != 0 ? seq : view.SeqOfUid(mv.uid);
  mv.imap_flags = ImapFlagsFromStorage(idx.flags(pos), idx.recent(pos));
  mv.keywords = KeywordNames(idx.keywords(pos), view.folder()->keywords());
  if (view.IsRecent(mv.uid)) mv.imap_flags |= ringmail::imap::kFlagRecent;
  mv.modseq = idx.modseq(pos);
  if (!cold) return mv;
  mv.internal_date = idx.internal_date(pos);
  mv.size = idx.message_size(pos);
  const uint64_t vsize = idx.vsize(pos);
  mv.vsize = vsize == storage::kUnknownSize ? mv.size : vsize;
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

std::optional<size_t> AscendingLookup::Position(const storage::FolderIndex& idx, uint32_t uid) {
  const std::vector<uint32_t>& uids = idx.uids();
  if (pos_ < uids.size() && uids[pos_] == uid) return pos_++;
  std::optional<size_t> pos;
  if (pos_ < uids.size() && uids[pos_] < uid) {
    auto it = std::lower_bound(uids.begin() + static_cast<std::ptrdiff_t>(pos_), uids.end(), uid);
    if (it != uids.end() && *it == uid) pos = static_cast<size_t>(it - uids.begin());
  } else {
    pos = idx.PositionOfUid(uid);
  }
  if (pos) pos_ = *pos + 1;
  return pos;
}

uint32_t AscendingLookup::Seq(const FolderView& view, uint32_t uid) {
  if (seq_ <= view.size_with_unannounced() && view.UidAt(seq_) == uid) return seq_++;
  const uint32_t seq = view.SeqOfUid(uid);
  if (seq != 0) seq_ = seq + 1;
  return seq;
}

std::string MessagePathOf(const FolderState& f, size_t pos) {
  return absl::StrCat(f.path(), "/", f.index().RelativePath(pos));
}

}  // namespace ringmail::server::imap
