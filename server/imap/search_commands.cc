// SEARCH and UID SEARCH (RFC 3501 §6.4.4), answered as SEARCH or, with
// RETURN (...), ESEARCH (RFC 4731); MODSEQ keys (RFC 7162 §3.1.5).
#include <algorithm>

#include "absl/time/clock.h"
#include "protocols/imap/args.h"
#include "protocols/imap/esearch.h"
#include "server/imap/file_reader.h"
#include "server/imap/imap_session.h"
#include "server/imap/message_lookup.h"
#include "server/imap/message_view.h"
#include "server/imap/search_eval.h"

namespace ringmail::server::imap {

struct SearchJob {
  ringmail::imap::SearchReturn ret;  // RETURN (...): answer with ESEARCH
  ringmail::imap::SearchProgram program;
  std::vector<uint32_t> candidates;  // UIDs in the view
  size_t next = 0;
  SearchNeeds needs = SearchNeeds::kIndex;
  bool cold = true;                  // NeedsColdFields
  std::vector<uint32_t> hits;        // sequence numbers or UIDs
  bool report_modseq = false;        // MODSEQ key: "(MODSEQ n)", RFC 7162 §3.1.5
  AscendingLookup lookup;            // the candidates are ascending
};

// ------------------------------------------------------------ SEARCH

void ImapSession::CmdSearch(const ringmail::imap::Command& cmd) {
  auto job = std::make_shared<SearchJob>();
  ringmail::imap::ArgError err;
  ringmail::imap::ArgList keys;
  if (!ringmail::imap::ParseSearchReturn(cmd.args, &job->ret, &keys, &err)) {
    return FinishBad(err.text);
  }
  switch (ringmail::imap::ParseSearch(keys, &job->program, &err)) {
    case ringmail::imap::SearchStatus::kOk: break;
    case ringmail::imap::SearchStatus::kBad: return FinishBad(err.text);
    case ringmail::imap::SearchStatus::kBadCharset:
      return Finish(ringmail::imap::Status::kNo, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
  }
  if (ringmail::imap::HasModSeqKey(job->program.root)) {
    if (!StartModSeqCommand()) return;
    job->report_modseq = true;
  }
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    job->candidates.push_back(view_->UidAt(seq));
  }
  job->needs = NeedsOf(job->program.root);
  job->cold = NeedsColdFields(job->program.root);
  SearchNext(std::move(job));
}

void ImapSession::SearchNext(std::shared_ptr<SearchJob> job) {
  FolderState* f = view_->folder();
  SearchContext ctx;
  ctx.max_seq = view_->exists();
  ctx.max_uid = view_->MaxUid();
  ctx.now = absl::ToUnixSeconds(svc_->loop()->now());
  while (job->next < job->candidates.size()) {
    uint32_t uid = job->candidates[job->next];
    auto pos = job->lookup.Position(f->index(), uid);
    if (!pos) {
      ++job->next;
      continue;
    }
    MessageView mv = IndexViewOf(*view_, *pos, job->lookup.Seq(*view_, uid), job->cold);
    if (job->needs == SearchNeeds::kIndex) {
      if (Matches(job->program.root, mv, ctx)) job->hits.push_back(uid_cmd_ ? uid : mv.seq);
      ++job->next;
      continue;
    }
    ReadWholeFile(&svc_->loop()->file_io(), MessagePathOf(*f, *pos), mv.size,
                  svc_->ctx().config->imap.max_message_size * 2,
                  [this, alive = gate_.token(), job, f, uid, ctx](
                      absl::StatusOr<std::string> data) {
                    if (!alive) return;
                    ++job->next;
                    // Rebuilt after the read: a view from before it may
                    // point into a keyword table replaced meanwhile.
                    std::optional<MessageView> mv = LoadedViewOf(*view_, uid, data);
                    if (mv) {
                      if (Matches(job->program.root, *mv, ctx)) {
                        job->hits.push_back(uid_cmd_ ? uid : mv->seq);
                      }
                    }
                    SearchNext(job);
                  });
    return;
  }
  std::sort(job->hits.begin(), job->hits.end());
  if (job->ret.extended) {
    ringmail::imap::AppendEsearch(&out(), tag_, uid_cmd_, job->ret, job->hits,
                                  job->report_modseq ? HighestModSeqOf(job->hits) : 0);
  } else {
    ringmail::imap::AppendSearch(&out(), job->hits,
                                 job->report_modseq ? HighestModSeqOf(job->hits) : 0);
  }
  Finish(ringmail::imap::Status::kOk, "", uid_cmd_ ? "UID SEARCH completed." : "Search completed.");
}

}  // namespace ringmail::server::imap
