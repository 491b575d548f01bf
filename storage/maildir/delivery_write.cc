// DeliveryQueue, writing phase: open tmp/<unique> (or an O_TMPFILE file in
// new/) in each target, write the target's header prefix and every body
// chunk, track chunk lifetimes and back-pressure, and hand the fully written
// message to the group commit.
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>

#include <cassert>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/maildir/delivery_queue.h"
#include "storage/maildir/delivery_state.h"

namespace ringmail::storage {

using internal::MessageState;
using internal::Phase;
using internal::TargetState;

namespace {
// Chunk "sequence number" of a target's header prefix write.
constexpr uint64_t kPrefixSeq = std::numeric_limits<uint64_t>::max();
// Attempts to open a tmp file (EEXIST: new name; ENOENT: recreate dirs).
constexpr int kMaxOpenAttempts = 3;
}  // namespace

void DeliveryQueue::StartOpen(MessageState* m, size_t t) {
  const std::string& root = m->targets[t].target.maildir;
  if (creator_.IsKnown(root)) return OpenTmp(m, t);
  ++m->ops_in_flight;
  creator_.Ensure(root, [this, m, t](absl::Status status) {
    --m->ops_in_flight;
    if (!status.ok()) {
      FailMessage(m, status);  // MaildirCreator logged the details.
    } else if (m->error.ok()) {
      OpenTmp(m, t);
    }
    // A failure frees the chunks: a session paused for back-pressure (its
    // chunks were waiting for this target) must be resumed, or it would
    // wait for a write completion that never comes.
    bool want_resume = m->attached;
    Advance(m);
    if (want_resume) MaybeResume(m);
  });
}

// Opens the target's file: tmp/<base> (O_EXCL: never someone else's file),
// or, for a journal-eligible message with `tmpfile`, an unnamed O_TMPFILE
// inode in new/ (delivery_tmpfile.cc links it).
void DeliveryQueue::OpenTmp(MessageState* m, size_t t) {
  TargetState& ts = m->targets[t];
  const bool tmpfile = WantsTmpfile(m);
  ++ts.open_attempts;
  ++m->ops_in_flight;
  io_->OpenAt(
      AT_FDCWD, tmpfile ? ts.new_dir : ts.tmp_path,
      tmpfile ? O_WRONLY | O_TMPFILE | O_CLOEXEC
              : O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
      0600, [this, m, t, tmpfile](int fd) {
        --m->ops_in_flight;
        TargetState& ts = m->targets[t];
        if (fd >= 0) {
          ts.fd = fd;
          ts.tmpfile = tmpfile;
          ts.created = !tmpfile;
          IssueWrites(m, t);  // no-op if the message failed meanwhile
        } else if (tmpfile && TmpfileUnsupported(fd) && m->error.ok()) {
          --ts.open_attempts;  // not this name's fault
          OpenTmp(m, t);       // now the classic way
        } else if ((fd == -EEXIST || fd == -ENOENT) &&
                   ts.open_attempts < kMaxOpenAttempts && m->error.ok()) {
          if (fd == -EEXIST) {
            // Someone else's file has our name (clock went back?).
            ts.base = NextUniqueName();
            ts.tmp_path = absl::StrCat(ts.target.maildir, "/tmp/", ts.base);
          } else {
            // The Maildir vanished behind our cache: recreate it.
            creator_.Forget(ts.target.maildir);
            int stale = dir_fds_.Erase(ts.new_dir);
            if (stale >= 0) io_->Close(stale, [](int) {});
          }
          StartOpen(m, t);
        } else {
          opts_.log(SyscallError(
              absl::StrCat("open(", tmpfile ? ts.new_dir : ts.tmp_path,
                           tmpfile ? ", O_TMPFILE)" : ")"),
              fd));
          FailMessage(m, GenericIoStatus(fd));
        }
        bool want_resume = m->attached;  // as in StartOpen
        Advance(m);
        if (want_resume) MaybeResume(m);
      });
}

// The prefix waits for the first body chunk (or the end of a message
// without one) so both go out in one WriteV: every regular-file write is a
// trip through io_uring's worker pool (buffered writes to ext4 cannot be
// issued without blocking), and for the typical small message that halves
// the file writes.
void DeliveryQueue::IssueWrites(MessageState* m, size_t t) {
  TargetState& ts = m->targets[t];
  if (ts.fd < 0 || !m->error.ok()) return;
  if (!ts.prefix_issued) {
    if (ts.target.header_prefix.empty()) {
      ts.prefix_issued = true;
      ts.prefix_done = true;
    } else if (ts.next_chunk < m->next_seq) {
      ts.prefix_issued = true;
      WritePrefixWithChunk(m, t, ts.next_chunk++);
    } else if (m->finished) {
      ts.prefix_issued = true;
      WriteSome(m, t, kPrefixSeq, 0);
    } else {
      return;  // until the first chunk (DispatchChunk) or Finish
    }
  }
  while (ts.next_chunk < m->next_seq) WriteSome(m, t, ts.next_chunk++, 0);
}

void DeliveryQueue::WritePrefixWithChunk(MessageState* m, size_t t,
                                         uint64_t seq) {
  TargetState& ts = m->targets[t];
  const std::string& prefix = ts.target.header_prefix;
  auto it = m->chunks.find(seq);
  assert(it != m->chunks.end());
  internal::Chunk* chunk = it->second.get();
  assert(chunk->body_offset == 0 && chunk->size > 0 && !prefix.empty());
  ++chunk->writes_in_flight;
  ++m->ops_in_flight;
  const iovec parts[] = {
      {const_cast<char*>(prefix.data()), prefix.size()},
      {chunk->data.get(), chunk->size},
  };
  const size_t prefix_len = prefix.size();
  const size_t total = prefix_len + chunk->size;
  io_->WriteV(ts.fd, parts, 0, [this, m, t, seq, prefix_len, total,
                                chunk](int r) {
    --m->ops_in_flight;
    --chunk->writes_in_flight;  // alive: a write in flight pins it
    TargetState& ts = m->targets[t];
    bool chunk_complete = false;
    if (r <= 0) {
      std::string what = absl::StrCat("pwritev(", internal::FileLabel(ts), ")");
      opts_.log(r < 0 ? SyscallError(what, r)
                      : absl::StrCat(what, " wrote 0 bytes"));
      FailMessage(m, GenericIoStatus(r < 0 ? r : -EIO));
    } else if (static_cast<size_t>(r) == total) {
      ts.prefix_done = true;
      chunk_complete = true;
    } else if (m->error.ok()) {
      // Short: finish each part with plain writes.
      size_t done = static_cast<size_t>(r);
      if (done < prefix_len) {
        WriteSome(m, t, kPrefixSeq, done);
        WriteSome(m, t, seq, 0);
      } else {
        ts.prefix_done = true;
        WriteSome(m, t, seq, done - prefix_len);
      }
    }
    // As in WriteSome: FailMessage may have freed the chunk just now.
    if (auto it = m->chunks.find(seq);
        it != m->chunks.end() &&
        (it->second->writes_in_flight == 0 || chunk_complete)) {
      ReleaseChunk(m, seq, chunk_complete);
    }
    bool want_resume = m->attached;
    Advance(m);
    if (want_resume) MaybeResume(m);
  });
}

// Writes the rest of one buffer (prefix or chunk `seq`) from `done_bytes`
// on; resubmits after short writes.
void DeliveryQueue::WriteSome(MessageState* m, size_t t, uint64_t seq,
                              size_t done_bytes) {
  TargetState& ts = m->targets[t];
  const std::string& prefix = ts.target.header_prefix;
  const char* data;
  size_t len;
  uint64_t offset;
  internal::Chunk* chunk = nullptr;
  if (seq == kPrefixSeq) {
    data = prefix.data() + done_bytes;
    len = prefix.size() - done_bytes;
    offset = done_bytes;
  } else {
    auto it = m->chunks.find(seq);
    assert(it != m->chunks.end());
    chunk = it->second.get();
    ++chunk->writes_in_flight;
    data = chunk->data.get() + done_bytes;
    len = chunk->size - done_bytes;
    offset = prefix.size() + chunk->body_offset + done_bytes;
  }
  assert(len > 0);
  ++m->ops_in_flight;
  io_->Write(ts.fd, data, len, offset, [this, m, t, seq, done_bytes, len,
                                        chunk](int r) {
    --m->ops_in_flight;
    if (chunk != nullptr) --chunk->writes_in_flight;
    TargetState& ts = m->targets[t];
    bool complete = false;
    if (r < 0 || r == 0) {
      std::string what = absl::StrCat("pwrite(", internal::FileLabel(ts), ")");
      opts_.log(r < 0 ? SyscallError(what, r)
                      : absl::StrCat(what, " wrote 0 bytes"));
      FailMessage(m, GenericIoStatus(r < 0 ? r : -EIO));
    } else if (static_cast<size_t>(r) < len && m->error.ok()) {
      WriteSome(m, t, seq, done_bytes + r);  // short write: the rest
    } else {
      complete = static_cast<size_t>(r) == len;
    }
    if (seq == kPrefixSeq) {
      ts.prefix_done = ts.prefix_done || complete;
    } else if (auto it = m->chunks.find(seq);
               // FailMessage above frees every chunk no write is using,
               // this one included: look it up, never trust `chunk` now.
               it != m->chunks.end() &&
               (it->second->writes_in_flight == 0 || complete)) {
      ReleaseChunk(m, seq, complete);
    }
    bool want_resume = m->attached;
    Advance(m);
    if (want_resume) MaybeResume(m);  // attached: `m` is still alive
  });
}

void DeliveryQueue::DispatchChunk(MessageState* m) {
  std::unique_ptr<internal::Chunk> chunk = std::move(m->filling);
  if (!chunk || chunk->size == 0 || !m->error.ok()) return;
  if (m->journal_eligible) {
    // Journal mode keeps a copy of the body for the record, as long as the
    // message's records stay small enough (else it takes the fsync path).
    uint64_t projected =
        m->targets.size() * (m->body_bytes + m->max_prefix + 4096);
    if (projected > journal_limit_) {
      m->journal_eligible = false;
      m->journal_body = std::string();
    } else {
      m->journal_body.append(chunk->data.get(), chunk->size);
    }
  }
  uint64_t seq = m->next_seq++;
  chunk->targets_pending = m->targets.size();
  m->chunks.emplace(seq, std::move(chunk));
  for (size_t t = 0; t < m->targets.size(); ++t) IssueWrites(m, t);
}

// A target finished with chunk `seq` (`written`), or a write of it ended
// after the message failed. Frees the buffer when nobody needs it.
void DeliveryQueue::ReleaseChunk(MessageState* m, uint64_t seq, bool written) {
  auto it = m->chunks.find(seq);
  if (it == m->chunks.end()) return;
  internal::Chunk& c = *it->second;
  if (written) {
    assert(c.targets_pending > 0);
    --c.targets_pending;
  }
  if (c.targets_pending == 0 || (!m->error.ok() && c.writes_in_flight == 0)) {
    m->chunks.erase(it);
  }
}

void DeliveryQueue::FailMessage(MessageState* m, absl::Status status) {
  assert(!status.ok());
  if (m->error.ok()) m->error = std::move(status);
  // Free every buffer no write is using; the rest go when their writes end.
  absl::erase_if(m->chunks, [](const auto& entry) {
    return entry.second->writes_in_flight == 0;
  });
}

void DeliveryQueue::MaybeResume(MessageState* m) {
  if (!m->pause_reported) return;
  if (m->error.ok() && m->chunks.size() >= opts_.max_chunks_in_flight) return;
  m->pause_reported = false;
  if (m->resume) m->resume();
}

// Moves a message in the writing phase forward once its I/O has drained.
void DeliveryQueue::Advance(MessageState* m) {
  if (m->phase != Phase::kWriting || m->ops_in_flight > 0) return;
  if (!m->error.ok()) return Cleanup(m);
  if (!m->finished) return;  // more body may come
  for (const TargetState& ts : m->targets) {
    // ops_in_flight == 0 and no error: every target is open and written.
    assert(ts.fd >= 0 && ts.prefix_done);
    (void)ts;
  }
  assert(m->chunks.empty() && m->filling == nullptr);
  ComputeNewNames(m);
  m->phase = Phase::kReady;
  Enqueue(m);
}

}  // namespace ringmail::storage
