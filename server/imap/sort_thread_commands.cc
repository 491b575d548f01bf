// SORT and THREAD (RFC 5256; DISPLAYFROM/DISPLAYTO of RFC 5957), with and
// without UID. One pass over the mailbox evaluates the search program as
// SEARCH does and gathers each hit's sort or thread data, reading a message
// file at most once per command and not at all when the search needs only
// the index and the keys come from a cached ENVELOPE (THREAD=REFERENCES
// always reads: References is not in ENVELOPE).
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/log.h"
#include "protocols/imap/condstore.h"
#include "protocols/imap/response.h"
#include "protocols/imap/sort.h"
#include "protocols/imap/thread.h"
#include "server/imap/file_reader.h"
#include "server/imap/imap_session.h"
#include "server/imap/message_lookup.h"
#include "server/imap/search_eval.h"
#include "server/imap/sort_headers.h"

namespace ringmail::server::imap {

namespace proto = ::ringmail::imap;

namespace {

// Sort/thread data held by one command; a larger result is refused with
// NO [LIMIT] rather than growing without bound (about half a million
// messages with typical subjects and addresses).
constexpr size_t kMaxSortThreadBytes = 128u << 20;

}  // namespace

struct SortThreadJob {
  bool thread = false;
  std::vector<proto::SortCriterion> criteria;                 // SORT
  proto::ThreadAlgorithm algorithm = proto::ThreadAlgorithm::kReferences;  // THREAD
  proto::SearchProgram program;
  std::vector<uint32_t> candidates;  // UIDs in the view, ascending
  size_t next = 0;
  SearchNeeds search_needs = SearchNeeds::kIndex;
  bool need_headers = false;     // the keys read header values
  bool need_references = false;  // ... including References
  bool report_modseq = false;    // SORT with a MODSEQ key, RFC 7162 §3.1.5
  std::vector<proto::SortRecord> sort_records;
  std::vector<proto::ThreadRecord> thread_records;
  size_t bytes = 0;
};

namespace {

// Records one hit; false once the job holds more than kMaxSortThreadBytes.
bool AddSortThreadRecord(SortThreadJob* job, const MessageView& mv, bool uid_cmd,
                         const proto::SortHeaders& h) {
  const uint32_t number = uid_cmd ? mv.uid : mv.seq;
  if (job->thread) {
    proto::ThreadRecord r;
    r.seq = mv.seq;
    r.number = number;
    proto::FillThreadRecord(job->algorithm, h, mv.internal_date, &r);
    job->bytes += proto::ThreadRecordBytes(r);
    job->thread_records.push_back(std::move(r));
  } else {
    proto::SortRecord r;
    r.seq = mv.seq;
    r.number = number;
    r.arrival = mv.internal_date;
    r.size = mv.vsize;
    proto::FillSortRecord(job->criteria, h, &r);
    job->bytes += proto::SortRecordBytes(r);
    job->sort_records.push_back(std::move(r));
  }
  return job->bytes <= kMaxSortThreadBytes;
}

}  // namespace

void ImapSession::CmdSort(const ringmail::imap::Command& cmd) {
  auto job = std::make_shared<SortThreadJob>();
  proto::SortCommand parsed;
  proto::ArgError err;
  switch (proto::ParseSort(cmd.args, &parsed, &err)) {
    case proto::SearchStatus::kOk: break;
    case proto::SearchStatus::kBad: return FinishBad(err.text);
    case proto::SearchStatus::kBadCharset:
      return FinishNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
  }
  job->criteria = std::move(parsed.criteria);
  job->program = std::move(parsed.search);
  job->need_headers = proto::SortNeedsHeaders(job->criteria);
  job->report_modseq = proto::HasModSeqKey(job->program.root);
  StartSortThread(std::move(job));
}

void ImapSession::CmdThread(const ringmail::imap::Command& cmd) {
  auto job = std::make_shared<SortThreadJob>();
  proto::ThreadCommand parsed;
  proto::ArgError err;
  switch (proto::ParseThread(cmd.args, &parsed, &err)) {
    case proto::SearchStatus::kOk: break;
    case proto::SearchStatus::kBad: return FinishBad(err.text);
    case proto::SearchStatus::kBadCharset:
      return FinishNo("BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
  }
  job->thread = true;
  job->algorithm = parsed.algorithm;
  job->program = std::move(parsed.search);
  job->need_headers = true;  // subject and date at least
  job->need_references = parsed.algorithm == proto::ThreadAlgorithm::kReferences;
  StartSortThread(std::move(job));
}

void ImapSession::StartSortThread(std::shared_ptr<SortThreadJob> job) {
  // A MODSEQ search key makes the command CONDSTORE-enabling (RFC 7162
  // §3.1), as for SEARCH.
  if (proto::HasModSeqKey(job->program.root) && !StartModSeqCommand()) return;
  job->candidates.reserve(view_->exists());
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    job->candidates.push_back(view_->UidAt(seq));
  }
  job->search_needs = NeedsOf(job->program.root);
  SortThreadNext(std::move(job));
}

void ImapSession::SortThreadNext(std::shared_ptr<SortThreadJob> job) {
  FolderState* f = view_->folder();
  SearchContext ctx;
  ctx.max_seq = view_->exists();
  ctx.max_uid = view_->MaxUid();
  ctx.now = absl::ToUnixSeconds(svc_->loop()->now());
  while (job->next < job->candidates.size()) {
    const uint32_t uid = job->candidates[job->next];
    auto pos = f->index().PositionOfUid(uid);
    if (!pos) {  // expunged meanwhile by another session
      ++job->next;
      continue;
    }
    MessageView mv = IndexViewOf(*view_, *pos);
    const mime::Envelope* env = job->need_headers && !job->need_references
                                    ? TopEnvelope(f->CachedStructure(uid))
                                    : nullptr;
    const bool read = job->search_needs != SearchNeeds::kIndex ||
                      (job->need_headers && env == nullptr);
    if (!read) {
      ++job->next;
      if (!Matches(job->program.root, mv, ctx)) continue;
      const proto::SortHeaders h =
          env != nullptr ? SortHeadersFromEnvelope(*env) : proto::SortHeaders{};
      if (!AddSortThreadRecord(job.get(), mv, uid_cmd_, h)) {
        return FinishNo(proto::kCodeLimit, "Too many messages to sort.");
      }
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
                        const proto::SortHeaders h =
                            job->need_headers ? SortHeadersFromContent(*data)
                                              : proto::SortHeaders{};
                        if (!AddSortThreadRecord(job.get(), *mv, uid_cmd_, h)) {
                          return FinishNo(proto::kCodeLimit,
                                          "Too many messages to sort.");
                        }
                      }
                    } else if (!data.ok() && !absl::IsNotFound(data.status())) {
                      LOG_WARNING("imap: SORT/THREAD read failed: ",
                                  data.status().ToString());
                    }
                    // A vanished file: another client expunged it.
                    SortThreadNext(job);
                  });
    return;
  }
  if (job->thread) {
    const proto::ThreadForest forest =
        job->algorithm == proto::ThreadAlgorithm::kReferences
            ? proto::ThreadReferences(job->thread_records)
            : proto::ThreadOrderedSubject(job->thread_records);
    proto::AppendThread(&out(), forest);
    return Finish(proto::Status::kOk, "",
                  uid_cmd_ ? "UID THREAD completed." : "Thread completed.");
  }
  const std::vector<uint32_t> sorted =
      proto::SortMessages(std::move(job->sort_records), job->criteria);
  proto::AppendSort(&out(), sorted, job->report_modseq ? HighestModSeqOf(sorted) : 0);
  Finish(proto::Status::kOk, "", uid_cmd_ ? "UID SORT completed." : "Sort completed.");
}

}  // namespace ringmail::server::imap
