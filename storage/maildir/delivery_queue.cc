// DeliveryQueue: construction, Begin/Shutdown, the IncomingMessage handle,
// and message completion. Writing is in delivery_write.cc, the group commit
// in delivery_commit.cc.
#include "storage/maildir/delivery_queue.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/maildir/delivery_state.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::storage {

using internal::MessageState;
using internal::Phase;

DeliveryQueue::DeliveryQueue(engine::FileIo* io, DeliveryOptions opts,
                             absl::AnyInvocable<absl::Time()> clock,
                             RunAfterFn run_after)
    : io_(io),
      opts_(std::move(opts)),
      clock_(std::move(clock)),
      run_after_(std::move(run_after)),
      host_(SanitizeMaildirHost(opts_.hostname)),
      pid_(opts_.pid != 0 ? opts_.pid : static_cast<int64_t>(getpid())),
      creator_(io, opts_.max_known_dirs, opts_.log),
      dir_fds_(opts_.max_open_dir_fds) {
  assert(io_ != nullptr);
  if (!opts_.log) opts_.log = StderrLog();
  opts_.chunk_size = std::max<size_t>(opts_.chunk_size, 1);
  opts_.max_chunks_in_flight = std::max<size_t>(opts_.max_chunks_in_flight, 1);
  opts_.max_batch_messages = std::max<size_t>(opts_.max_batch_messages, 1);
  opts_.max_batches_in_flight =
      std::max<size_t>(opts_.max_batches_in_flight, 1);
  if (opts_.durability == Durability::kJournal) {
    if (opts_.journal.fd < 0 || opts_.journal.file_size < kJournalMinSize) {
      opts_.log("journal mode without a journal file: using fsync mode");
    } else {
      SyncFsFn sync = std::move(opts_.sync_fs);
      if (!sync) {
        syncer_ = std::make_unique<FsSyncer>(io_, opts_.log);
        sync = [s = syncer_.get()](std::vector<std::string> dirs,
                                   engine::IoCallback done) {
          s->Sync(std::move(dirs), std::move(done));
        };
      }
      journal_ = std::make_unique<JournalWriter>(
          io_, opts_.journal, opts_.checkpoint_interval, opts_.log,
          [this](absl::Duration d, absl::AnyInvocable<void()> fn) {
            run_after_(d, std::move(fn));
          },
          std::move(sync));
      opts_.journal.fd = -1;  // owned by journal_
      journal_limit_ = std::min<uint64_t>(opts_.journal_max_message_bytes,
                                          journal_->data_size() / 8);
    }
  }
  if (opts_.tmpfile && journal_ != nullptr) ProbeProcFd();
}

DeliveryQueue::~DeliveryQueue() {
  // Shutdown() must have drained: callbacks still hold raw pointers.
  assert(messages_.empty());
  assert(batches_.empty());
  for (int fd : dir_fds_.TakeAll()) io_->Close(fd, [](int) {});
  journal_.reset();
  syncer_.reset();  // joins its thread
}

std::string DeliveryQueue::NextUniqueName() {
  absl::Time now = clock_();
  UniqueName n;
  n.secs = absl::ToUnixSeconds(now);
  n.usecs = absl::ToUnixMicros(now) - n.secs * 1'000'000;
  n.pid = pid_;
  n.core = opts_.core_id;
  n.seq = seq_++;
  n.host = host_;
  return FormatUniqueName(n);
}

absl::StatusOr<std::unique_ptr<IncomingMessage>> DeliveryQueue::Begin(
    std::vector<DeliveryTarget> targets) {
  if (shutting_down_) return absl::UnavailableError("delivery shutting down");
  if (targets.empty() || targets.size() > opts_.max_targets_per_message) {
    return absl::InvalidArgumentError("bad number of delivery targets");
  }
  auto m = std::make_unique<MessageState>();
  m->id = next_message_id_++;
  for (DeliveryTarget& target : targets) {
    if (target.maildir.empty() || target.maildir.front() != '/' ||
        target.maildir.back() == '/') {
      return absl::InvalidArgumentError("maildir must be an absolute path");
    }
    if (target.header_prefix.size() > opts_.max_header_prefix_bytes) {
      return absl::InvalidArgumentError("header prefix too long");
    }
    m->max_prefix = std::max(m->max_prefix, target.header_prefix.size());
    internal::TargetState& ts = m->targets.emplace_back();
    ts.target = std::move(target);
    ts.base = NextUniqueName();
    ts.tmp_path = absl::StrCat(ts.target.maildir, "/tmp/", ts.base);
    ts.new_dir = absl::StrCat(ts.target.maildir, "/new");
  }
  m->journal_eligible = journal_ != nullptr;
  MessageState* raw = m.get();
  messages_.emplace(raw->id, std::move(m));
  for (size_t t = 0; t < raw->targets.size(); ++t) StartOpen(raw, t);
  return std::unique_ptr<IncomingMessage>(new IncomingMessage(this, raw));
}

void DeliveryQueue::Shutdown(absl::AnyInvocable<void()> drained) {
  assert(!shutting_down_);
  shutting_down_ = true;
  drained_ = std::move(drained);
  MaybeDrained();
}

void DeliveryQueue::MaybeDrained() {
  if (!shutting_down_ || !drained_ || !messages_.empty() ||
      !batches_.empty() || probe_in_flight_) {
    return;
  }
  assert(ready_.empty());
  if (journal_ != nullptr && !journal_shutdown_) {
    // Final checkpoint, so that a clean restart has nothing to replay.
    journal_shutdown_ = true;
    std::weak_ptr<bool> alive = alive_;
    journal_->Shutdown([this, alive] {
      if (alive.expired()) return;
      journal_closed_ = true;
      MaybeDrained();
    });
    return;
  }
  if (journal_ != nullptr && !journal_closed_) return;
  CloseDirFdsThenDrained();
}

void DeliveryQueue::CloseDirFdsThenDrained() {
  auto drained = std::make_shared<absl::AnyInvocable<void()>>(
      std::move(drained_));
  drained_ = nullptr;
  std::vector<int> fds = dir_fds_.TakeAll();
  if (fds.empty()) {
    run_after_(absl::ZeroDuration(), [drained] { (*drained)(); });
    return;
  }
  auto left = std::make_shared<size_t>(fds.size());
  for (int fd : fds) {
    io_->Close(fd, [left, drained](int) {
      if (--*left == 0) (*drained)();
    });
  }
}

// Result known (OK or failed, files cleaned up). Reports it once the caller
// has called Finish; forgets the message.
void DeliveryQueue::Complete(MessageState* m) {
  assert(m->ops_in_flight == 0);
  m->phase = Phase::kDone;
  if (m->attached) return;  // Finish/Abort not called yet.
  if (m->finished) {
    DeliveryResult result;
    result.status = m->error;
    if (result.status.ok()) {
      for (const internal::TargetState& ts : m->targets) {
        assert(ts.renamed);
        result.new_names.push_back(ts.new_name);
      }
    }
    // Deferred so `done` never runs inside Finish() and never re-enters
    // the caller from a call it is making.
    run_after_(absl::ZeroDuration(),
               [done = std::move(m->done), result = std::move(result)]() mutable {
                 done(std::move(result));
               });
  }
  messages_.erase(m->id);  // `m` is gone from here on.
  MaybeDrained();
}

// Closes and unlinks whatever the failed message left behind.
void DeliveryQueue::Cleanup(MessageState* m) {
  assert(!m->error.ok());
  assert(m->ops_in_flight == 0);
  m->phase = Phase::kCleaning;
  m->chunks.clear();
  m->filling.reset();
  auto after = [this, m](int r, std::string what) {
    if (r < 0 && r != -ENOENT) opts_.log(SyscallError(what, r));
    if (--m->ops_in_flight == 0) Complete(m);
  };
  for (internal::TargetState& ts : m->targets) {
    if (ts.fd >= 0) {
      // An O_TMPFILE inode that was never linked has no name: closing the
      // last fd frees it, there is nothing to unlink.
      ++m->ops_in_flight;
      std::string what = absl::StrCat("close(", internal::FileLabel(ts), ")");
      io_->Close(ts.fd, [after, what](int r) mutable { after(r, what); });
      ts.fd = -1;
      ts.tmpfile = false;
    }
    // ENOENT is fine: e.g. an IMAP client expunged the new/ file already.
    std::string path = ts.renamed ? absl::StrCat(ts.new_dir, "/", ts.new_name)
                       : ts.created ? ts.tmp_path
                                    : std::string();
    if (!path.empty()) {
      ++m->ops_in_flight;
      std::string what = absl::StrCat("unlink(", path, ")");
      io_->UnlinkAt(AT_FDCWD, path, 0,
                    [after, what](int r) mutable { after(r, what); });
      ts.created = false;
      ts.renamed = false;
    }
  }
  if (m->ops_in_flight == 0) Complete(m);
}

// ---- IncomingMessage ----

IncomingMessage::~IncomingMessage() {
  if (state_ != nullptr) Abort();
}

absl::Span<char> IncomingMessage::Reserve(size_t min_bytes) {
  MessageState* m = state_;
  assert(m != nullptr);
  const size_t chunk_size = queue_->opts_.chunk_size;
  assert(min_bytes <= chunk_size);
  min_bytes = std::clamp<size_t>(min_bytes, 1, chunk_size);
  if (m->filling && m->filling->capacity - m->filling->size < min_bytes) {
    queue_->DispatchChunk(m);
  }
  if (!m->filling) {
    m->filling = std::make_unique<internal::Chunk>();
    m->filling->data = std::make_unique_for_overwrite<char[]>(chunk_size);
    m->filling->capacity = chunk_size;
    m->filling->body_offset = m->body_bytes;
  }
  internal::Chunk& c = *m->filling;
  return absl::Span<char>(c.data.get() + c.size, c.capacity - c.size);
}

void IncomingMessage::Commit(size_t bytes) {
  MessageState* m = state_;
  assert(m != nullptr && m->filling != nullptr);
  internal::Chunk& c = *m->filling;
  assert(bytes <= c.capacity - c.size);
  if (!m->error.ok()) {
    c.size = 0;  // discard: the message already failed
    c.body_offset = m->body_bytes;
    return;
  }
  m->body_lf += std::count(c.data.get() + c.size,
                           c.data.get() + c.size + bytes, '\n');
  c.size += bytes;
  m->body_bytes += bytes;
  if (m->body_bytes + m->max_prefix > queue_->opts_.max_message_bytes) {
    queue_->opts_.log(absl::StrCat("message exceeds max_message_bytes (",
                                   queue_->opts_.max_message_bytes, ")"));
    queue_->FailMessage(m, absl::ResourceExhaustedError("message too large"));
    queue_->Advance(m);
    return;
  }
  if (c.size == c.capacity) queue_->DispatchChunk(m);
}

bool IncomingMessage::WantsPause() const {
  MessageState* m = state_;
  assert(m != nullptr);
  if (!m->error.ok()) return false;
  if (m->chunks.size() < queue_->opts_.max_chunks_in_flight) return false;
  m->pause_reported = true;
  return true;
}

void IncomingMessage::SetResumeCallback(absl::AnyInvocable<void()> resume) {
  assert(state_ != nullptr);
  state_->resume = std::move(resume);
}

void IncomingMessage::Finish(DeliveryDone done) {
  MessageState* m = state_;
  assert(m != nullptr);
  state_ = nullptr;
  m->done = std::move(done);
  m->finished = true;
  m->attached = false;
  m->resume = nullptr;
  if (m->filling && m->filling->size > 0 && m->error.ok()) {
    queue_->DispatchChunk(m);
  }
  m->filling.reset();
  // A message without body chunks still owes its prefix writes (IssueWrites
  // held them for a first chunk).
  for (size_t t = 0; t < m->targets.size(); ++t) queue_->IssueWrites(m, t);
  if (m->phase == Phase::kDone) {
    queue_->Complete(m);
  } else {
    queue_->Advance(m);
  }
}

void IncomingMessage::Abort() {
  MessageState* m = state_;
  assert(m != nullptr);
  state_ = nullptr;
  m->attached = false;
  m->resume = nullptr;
  m->filling.reset();
  if (m->phase == Phase::kDone) {
    queue_->Complete(m);
    return;
  }
  queue_->FailMessage(m, absl::CancelledError("delivery aborted"));
  queue_->Advance(m);
}

}  // namespace ringmail::storage
