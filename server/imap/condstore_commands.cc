// CONDSTORE and QRESYNC (RFC 7162) in the IMAP session: enabling, the
// SELECT/EXAMINE parameters and their responses, the mod-sequence parts of
// FETCH, STORE, SEARCH and EXPUNGE, and the HIGHESTMODSEQ bookkeeping at
// the end of every command. The command handlers in imap_*_commands.cc
// call in here; mod-sequences themselves are kept by storage::FolderIndex.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/imap/condstore.h"
#include "protocols/imap/response.h"
#include "server/imap/flags.h"
#include "server/imap/imap_session.h"
#include "storage/mailbox/modseq.h"

namespace ringmail::server::imap {
namespace {

namespace proto = ::ringmail::imap;

// Output queued for the client above which the FETCH responses of a
// QRESYNC SELECT wait for the socket to drain (bounds memory per session,
// like FETCH).
constexpr size_t kMaxQueuedOutput = 4 << 20;
// Changed messages rendered per turn of the loop before looking at the
// output queue again.
constexpr size_t kSelectFetchBatch = 512;

std::vector<storage::UidRange> ToStorage(const std::vector<proto::SequenceSet::Range>& r) {
  std::vector<storage::UidRange> out;
  out.reserve(r.size());
  for (const auto& x : r) out.push_back({x.first, x.last});
  return out;
}

std::vector<proto::SequenceSet::Range> ToProto(const std::vector<storage::UidRange>& r) {
  std::vector<proto::SequenceSet::Range> out;
  out.reserve(r.size());
  for (const auto& x : r) out.push_back({x.first, x.last});
  return out;
}

const std::vector<storage::UidRange> kEveryUid = {{1, UINT32_MAX}};

// Removes UIDs [1, upto] from normalised ranges.
void DropThrough(uint32_t upto, std::vector<storage::UidRange>* uids) {
  std::vector<storage::UidRange> out;
  for (storage::UidRange r : *uids) {
    if (r.last <= upto) continue;
    r.first = std::max(r.first, upto + 1);
    out.push_back(r);
  }
  *uids = std::move(out);
}

bool HasItem(const proto::FetchRequest& r, proto::FetchAtt att) {
  for (const proto::FetchItem& i : r.items) {
    if (i.att == att) return true;
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------ enabling

bool ImapSession::EnableModSeqExtension(std::string_view capability) {
  std::string cap = absl::AsciiStrToUpper(absl::string_view(capability.data(), capability.size()));
  if (cap == "CONDSTORE") {
    if (modseq_.condstore) return false;
    EnableCondstore();
    return true;
  }
  if (cap == "QRESYNC") {
    if (modseq_.qresync) return false;
    // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
    modseq_.qresync = true;
    EnableCondstore();
    if (view_) view_->SetModSeqReporting(view_->folder()->persistent_modseqs(), true);
    return true;
  }
  return false;
}

void ImapSession::EnableCondstore() {
  if (modseq_.condstore) return;
  modseq_.condstore = true;
  if (!view_) return;
  FolderState* f = view_->folder();
  view_->SetModSeqReporting(f->persistent_modseqs(), modseq_.qresync);
  // Enabled while a mailbox is selected: say where it stands (as Dovecot
  // does). With expunges still held back, only the value the client has
  // seen everything up to (RFC 7162 §3.2).
  if (!f->persistent_modseqs()) {
    proto::AppendUntaggedStatus(&out(), proto::Status::kOk, proto::kCodeNoModSeq,
                                "No permanent modsequences");
    return;
  }
  uint64_t h = view_->HasPendingExpunge() ? modseq_.last_full : f->index().highest_modseq();
  proto::AppendUntaggedStatus(&out(), proto::Status::kOk, proto::CodeHighestModSeq(h),
                              "Highest");
}

bool ImapSession::StartModSeqCommand() {
  EnableCondstore();
  if (view_ && !view_->folder()->persistent_modseqs()) {
    // RFC 7162 §3.1.2.2: no MODSEQ operations on a NOMODSEQ mailbox.
    FinishBad("Mailbox has no permanent modsequences.");
    return false;
  }
  return true;
}

// ------------------------------------------------------------ SELECT

void ImapSession::CloseForSelect() {
  if (!view_) return;
  Unselect();
  // RFC 7162 §3.2.11: marks where the old mailbox's responses end.
  proto::AppendUntaggedStatus(&out(), proto::Status::kOk, proto::kCodeClosed,
                              "Previous mailbox closed.");
}

bool ImapSession::ParseSelectArgs(const proto::Command& cmd, proto::SelectParams* out) {
  proto::ArgError err;
  if (!proto::ParseSelectParams(cmd.args.From(1), out, &err)) {
    FinishBad(err.text);
    return false;
  }
  if (out->qresync && !modseq_.qresync) {
    // RFC 7162 §3.2.5: only after ENABLE QRESYNC.
    FinishBad("QRESYNC not enabled.");
    return false;
  }
  // With no mailbox selected yet, this sends nothing for the old one.
  if (out->condstore || out->qresync) EnableCondstore();
  return true;
}

void ImapSession::FinishSelect(const proto::SelectParams& params, bool read_only) {
  FolderState* f = view_->folder();
  const storage::FolderIndex& idx = f->index();
  view_->SetModSeqReporting(modseq_.condstore && f->persistent_modseqs(), modseq_.qresync);
  modseq_.last_full = idx.highest_modseq();
  modseq_.sent = 0;
  std::string_view code = read_only ? proto::kCodeReadOnly : proto::kCodeReadWrite;
  std::string_view text = read_only ? "Examine completed." : "Select completed.";
  if (modseq_.condstore) {
    if (f->persistent_modseqs()) {
      proto::AppendUntaggedStatus(&out(), proto::Status::kOk,
                                  proto::CodeHighestModSeq(idx.highest_modseq()), "Highest");
    } else {
      proto::AppendUntaggedStatus(&out(), proto::Status::kOk, proto::kCodeNoModSeq,
                                  "No permanent modsequences");
    }
  }
  // RFC 7162 §3.2.5: a UIDVALIDITY that does not match means a plain
  // SELECT; so does a mailbox without permanent mod-sequences.
  if (!params.qresync || params.qresync->uid_validity != idx.uid_validity() ||
      !f->persistent_modseqs()) {
    return Finish(proto::Status::kOk, code, text);
  }
  const proto::QresyncParams& q = *params.qresync;
  const std::vector<storage::UidRange> filter =
      q.known_uids.empty() ? kEveryUid : ToStorage(q.known_uids);
  storage::FolderIndex::Vanished vanished = idx.ExpungedSince(q.modseq, filter);
  if (!vanished.exact) {
    // §3.2.5.2 seq-match-data: while the client's sequence numbers still
    // match ours, nothing it knew at or below that UID was expunged (UIDs
    // only grow, so nothing was added below it either).
    uint32_t upto = 0;
    for (const auto& [seq, uid] : q.seq_uid_samples) {
      if (seq == 0 || seq > view_->exists() || view_->UidAt(seq) != uid) break;
      upto = uid;
    }
    if (upto != 0) DropThrough(upto, &vanished.uids);
  }
  proto::AppendVanished(&out(), true, ToProto(vanished.uids));
  // Then every message of known-uids changed since (UID, FLAGS, MODSEQ),
  // in sequence order.
  auto changed = std::make_shared<std::vector<uint32_t>>();
  proto::ResolvedSet known(q.known_uids);
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    const uint32_t uid = view_->UidAt(seq);
    if (!q.known_uids.empty() && !known.Contains(uid)) continue;
    auto pos = idx.PositionOfUid(uid);
    if (pos && idx.modseq(*pos) > q.modseq) changed->push_back(uid);
  }
  SendChangedMessages(changed, 0, std::string(code), std::string(text));
}

void ImapSession::SendChangedMessages(std::shared_ptr<std::vector<uint32_t>> uids,
                                      size_t next, std::string code, std::string text) {
  if (gone_) return;
  if (!view_) return Finish(proto::Status::kOk, code, text);
  FolderState* f = view_->folder();
  const storage::FolderIndex& idx = f->index();
  size_t end = std::min(uids->size(), next + kSelectFetchBatch);
  for (; next < end; ++next) {
    const uint32_t uid = (*uids)[next];
    auto pos = idx.PositionOfUid(uid);
    const uint32_t seq = view_->SeqOfUid(uid);
    if (!pos || seq == 0) continue;
    absl::StrAppend(&out(), "* ", seq, " FETCH (UID ", uid, " FLAGS ");
    AppendFlagList(&out(), ImapFlagsFromStorage(idx.flags(*pos), view_->IsRecent(uid)),
                   KeywordNames(idx.keywords(*pos), f->keywords()));
    absl::StrAppend(&out(), " MODSEQ (", idx.modseq(*pos), "))\r\n");
  }
  if (next >= uids->size()) return Finish(proto::Status::kOk, code, text);
  FlushOutput();
  if (stream_->pending_output() <= kMaxQueuedOutput) {
    svc_->loop()->Defer([this, alive = gate_.token(), uids, next, code, text] {
      if (alive) SendChangedMessages(uids, next, code, text);
    });
    return;
  }
  svc_->loop()->AddTimer(absl::Milliseconds(2), [this, alive = gate_.token(), uids, next, code, text] {
    if (alive) SendChangedMessages(uids, next, code, text);
  });
}

// ------------------------------------------------------------ FETCH

bool ImapSession::PrepareModSeqFetch(std::string_view set_text, proto::FetchRequest* request,
                                     std::vector<uint32_t>* uids) {
  const bool modseq_item = HasItem(*request, proto::FetchAtt::kModSeq);
  if (request->vanished && (!uid_cmd_ || !modseq_.qresync)) {
    // RFC 7162 §3.2.6: UID FETCH only, after ENABLE QRESYNC.
    FinishBad("VANISHED needs UID FETCH and ENABLE QRESYNC.");
    return false;
  }
  // FETCH MODSEQ and CHANGEDSINCE are CONDSTORE-enabling (§3.1).
  if ((modseq_item || request->changedsince) && !StartModSeqCommand()) return false;
  if (!modseq_.condstore || !view_->folder()->persistent_modseqs()) return true;
  // Once CONDSTORE is on, FETCH responses with flags carry MODSEQ (§3.1.4,
  // as Dovecot), and so does every CHANGEDSINCE response (§3.1.4.1).
  if (!modseq_item && (request->changedsince || request->sets_seen ||
                       HasItem(*request, proto::FetchAtt::kFlags))) {
    request->items.push_back(proto::FetchItem{proto::FetchAtt::kModSeq});
  }
  const storage::FolderIndex& idx = view_->folder()->index();
  if (request->changedsince) {
    const uint64_t since = *request->changedsince;
    uids->erase(std::remove_if(uids->begin(), uids->end(),
                               [&](uint32_t uid) {
                                 auto pos = idx.PositionOfUid(uid);
                                 return !pos || idx.modseq(*pos) <= since;
                               }),
                uids->end());
  }
  if (request->vanished) {
    // The UID set as given, "*" being the last UID ever assigned: expunged
    // UIDs above the largest live one count too.
    proto::SequenceSet set;
    bool saved = false;
    if (proto::SequenceSet::Parse(set_text, &set, &saved) && !saved) {
      proto::ResolvedSet resolved(set.Resolve(std::max<uint32_t>(idx.next_uid() - 1, 1)));
      storage::FolderIndex::Vanished v =
          idx.ExpungedSince(*request->changedsince, ToStorage(resolved.ranges()));
      proto::AppendVanished(&out(), true, ToProto(v.uids));
    }
  }
  for (uint32_t uid : *uids) {
    if (auto pos = idx.PositionOfUid(uid)) {
      modseq_.sent = std::max(modseq_.sent, idx.modseq(*pos));
    }
  }
  return true;
}

// ------------------------------------------------------------ STORE

void ImapSession::ReportStore(uint32_t uid, bool silent, bool changed) {
  if (!view_) return;
  const bool modseq = modseq_.condstore && view_->folder()->persistent_modseqs();
  // RFC 7162 §3.1.3: with CONDSTORE a changed message is reported with
  // its new MODSEQ even for .SILENT.
  if (silent && !(modseq && changed)) return;
  FolderState* f = view_->folder();
  auto p = f->index().PositionOfUid(uid);
  if (!p) return;
  const storage::FolderIndex& idx = f->index();
  absl::StrAppend(&out(), "* ", view_->SeqOfUid(uid), " FETCH (");
  const char* sep = "";
  if (!silent) {
    out() += "FLAGS ";
    AppendFlagList(&out(), ImapFlagsFromStorage(idx.flags(*p), view_->IsRecent(uid)),
                   KeywordNames(idx.keywords(*p), f->keywords()));
    sep = " ";
  }
  if (uid_cmd_) {
    absl::StrAppend(&out(), sep, "UID ", uid);
    sep = " ";
  }
  if (modseq) {
    absl::StrAppend(&out(), sep, "MODSEQ (", idx.modseq(*p), ")");
    modseq_.sent = std::max(modseq_.sent, idx.modseq(*p));
  }
  out() += ")\r\n";
}

// ------------------------------------------------------------ SEARCH

uint64_t ImapSession::HighestModSeqOf(const std::vector<uint32_t>& hits) const {
  const storage::FolderIndex& idx = view_->folder()->index();
  uint64_t best = 0;
  for (uint32_t n : hits) {
    const uint32_t uid = uid_cmd_ ? n : (n <= view_->exists() ? view_->UidAt(n) : 0);
    if (auto pos = idx.PositionOfUid(uid)) best = std::max(best, idx.modseq(*pos));
  }
  return best;
}

// ------------------------------------------------------------ EXPUNGE

void ImapSession::ReportExpunged(uint32_t seq, uint32_t uid) {
  if (!modseq_.qresync) {
    absl::StrAppend(&out(), "* ", seq, " EXPUNGE\r\n");
    return;
  }
  // RFC 7162 §3.2.10: one "* VANISHED <uids>" at the end of the command
  // (FlushOwnVanished) instead of one EXPUNGE per message.
  modseq_.vanished.push_back(uid);
}

void ImapSession::FlushOwnVanished() {
  if (modseq_.vanished.empty()) return;
  std::sort(modseq_.vanished.begin(), modseq_.vanished.end());
  out() += "* VANISHED ";
  out() += proto::FormatNumberSet(modseq_.vanished);
  out() += "\r\n";
  modseq_.vanished.clear();
}

// ------------------------------------------------------------ end of command

std::string ImapSession::ModSeqAfterCommand(bool may_use_tagged_code) {
  FolderState* f = view_->folder();
  if (!f->persistent_modseqs()) return {};
  const uint64_t h = f->index().highest_modseq();
  modseq_.sent = std::max(modseq_.sent, view_->TakeModSeqSent());
  std::string code;
  if (view_->HasPendingExpunge()) {
    // RFC 7162 §3.2: expunges are held back (FETCH/STORE/SEARCH) while
    // MODSEQs above them may have gone out; a client that takes its
    // highest MODSEQ from those would miss the expunges after a
    // disconnect. Tell it the value it has everything up to.
    if (modseq_.condstore && h > modseq_.last_full) {
      proto::AppendUntaggedStatus(&out(), proto::Status::kOk,
                                  proto::CodeHighestModSeq(modseq_.last_full), "Highest");
    }
  } else {
    // Expunges and new messages carry no MODSEQ: a higher HIGHESTMODSEQ
    // than the client saw goes with the reply (as Dovecot does).
    if (modseq_.condstore && h > modseq_.last_full && h > modseq_.sent) {
      code = proto::CodeHighestModSeq(h);
      if (!may_use_tagged_code) {
        proto::AppendUntaggedStatus(&out(), proto::Status::kOk, code, "Highest");
        code.clear();
      }
    }
    modseq_.last_full = h;
  }
  modseq_.sent = 0;
  return code;
}

}  // namespace ringmail::server::imap
