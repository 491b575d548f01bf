// The runtime writer (one per core): appends, group fdatasync, checkpoints.
#include "storage/maildir/journal_writer.h"

#include <errno.h>

#include <cassert>
#include <utility>

namespace ringmail::storage {

JournalWriter::JournalWriter(engine::FileIo* io, JournalFile file,
                             absl::Duration checkpoint_interval, LogFn log,
                             JournalRunAfterFn run_after, SyncFsFn sync)
    : io_(io),
      file_(file),
      data_size_(file.file_size - kJournalHeaderBytes),
      interval_(checkpoint_interval),
      log_(std::move(log)),
      run_after_(std::move(run_after)),
      sync_(std::move(sync)) {
  assert(file_.file_size >= kJournalMinSize);
  // Logical position 0 maps to the checkpoint's physical offset.
  head_.logical = file_.checkpoint_offset - kJournalHeaderBytes;
  head_.seq = file_.checkpoint_seq;
  applied_ = tail_ = head_;
}

JournalWriter::~JournalWriter() {
  assert(ops_in_flight_ == 0);
  if (file_.fd >= 0) io_->Close(file_.fd, [](int) {});
}

bool JournalWriter::Fits(absl::Span<const uint64_t> sizes) const {
  uint64_t pos = head_.logical;
  for (uint64_t s : sizes) {
    uint64_t left = data_size_ - pos % data_size_;
    if (s > left) pos += left;  // wrap (record or implicit padding)
    pos += s;
  }
  return pos - tail_.logical <= data_size_;
}

JournalWriter::Position JournalWriter::Append(
    absl::Span<const JournalRecordRef> records, engine::IoCallback done) {
  // Segments of contiguous physical bytes (at most 2: a batch is at most a
  // quarter of the ring).
  struct Segment {
    uint64_t offset;
    size_t from;
  };
  auto buf = std::make_shared<std::string>();
  std::vector<Segment> segs;
  segs.push_back({Phys(head_.logical), 0});
  for (const JournalRecordRef& r : records) {
    uint64_t size = JournalRecordSize(r);
    uint64_t left = data_size_ - head_.logical % data_size_;
    if (size > left) {
      if (left >= kJournalRecordHeaderBytes) {
        AppendJournalWrapRecord(buf.get(), left, file_.epoch, head_.seq++);
      }
      head_.logical += left;
      segs.push_back({Phys(head_.logical), buf->size()});
    } else if (left == data_size_ && buf->size() > segs.back().from) {
      // The previous record ended exactly at the end of the ring: this one
      // starts at its beginning, not after the end of the file. (Found by
      // the durability simulation: the write went past the end, the file
      // grew, and the next start found no valid journal — every record
      // lost.)
      segs.push_back({Phys(head_.logical), buf->size()});
    }
    AppendJournalMessageRecord(buf.get(), r, file_.epoch, head_.seq++);
    head_.logical += size;
  }
  auto pending = std::make_shared<int>(0);
  auto err = std::make_shared<int>(0);
  auto cb = std::make_shared<engine::IoCallback>(std::move(done));
  ++*pending;  // held until every write is issued
  ++ops_in_flight_;
  for (size_t i = 0; i < segs.size(); ++i) {
    size_t to = i + 1 < segs.size() ? segs[i + 1].from : buf->size();
    if (to == segs[i].from) continue;
    ++*pending;
    WriteSegment(buf, segs[i].from, to - segs[i].from, segs[i].offset, pending,
                 err, cb);
  }
  SegmentDone(pending, err, cb);
  return head_;
}

void JournalWriter::WriteSegment(std::shared_ptr<std::string> buf, size_t from,
                                 size_t len, uint64_t offset,
                                 std::shared_ptr<int> pending,
                                 std::shared_ptr<int> err,
                                 std::shared_ptr<engine::IoCallback> done) {
  io_->Write(file_.fd, buf->data() + from, len, offset,
             [this, buf, from, len, offset, pending, err, done](int r) {
               if (r <= 0) {
                 int e = r < 0 ? r : -EIO;
                 log_(SyscallError("journal pwrite", e));
                 if (*err == 0) *err = e;
               } else if (static_cast<size_t>(r) < len && *err == 0) {
                 WriteSegment(buf, from + r, len - r, offset + r, pending, err,
                              done);
                 return;
               }
               SegmentDone(pending, err, done);
             });
}

void JournalWriter::SegmentDone(std::shared_ptr<int> pending,
                                std::shared_ptr<int> err,
                                std::shared_ptr<engine::IoCallback> done) {
  if (--*pending > 0) return;
  auto finish = [this, done](int r) {
    --ops_in_flight_;
    if (r < 0) broken_ = true;
    (*done)(r);
    MaybeShutdownDone();
  };
  if (*err < 0) {
    // Still complete from a later callback, never from inside Append.
    io_->Fsync(file_.fd, true, [finish, e = *err](int) mutable { finish(e); });
    return;
  }
  io_->Fsync(file_.fd, true, [this, finish](int r) mutable {
    if (r < 0) {
      log_(SyscallError("journal fdatasync", r));
    } else if (broken_) {
      // Another flush of this file (a checkpoint's header fdatasync, its
      // syncfs) failed before this one completed. Linux reports a
      // write-back error once per file description: to whichever fsync
      // asks first. This batch's pages may be among those lost although
      // its own fdatasync says 0. (Found by the durability simulation.)
      log_("journal fdatasync after an earlier journal write-back error: batch not durable");
      r = -EIO;
    }
    finish(r);
  });
}

void JournalWriter::MarkApplied(Position end, absl::Span<const std::string> dirs) {
  assert(end.logical >= applied_.logical);
  applied_ = end;
  for (const std::string& d : dirs) dirs_.insert(d);
  if (!space_waiters_.empty() || used_bytes() > data_size_ / 2) {
    StartCheckpoint();
  } else {
    ArmTimer();
  }
}

void JournalWriter::WaitForSpace(absl::AnyInvocable<void()> fn) {
  space_waiters_.push_back(std::move(fn));
  StartCheckpoint();
}

void JournalWriter::ArmTimer() {
  if (timer_armed_ || checkpointing_ || applied_.logical == tail_.logical) return;
  timer_armed_ = true;
  std::weak_ptr<bool> alive = alive_;
  run_after_(interval_, [this, alive] {
    if (alive.expired()) return;
    timer_armed_ = false;
    StartCheckpoint();
  });
}

void JournalWriter::StartCheckpoint() {
  if (checkpointing_ || broken_) return;
  if (applied_.logical == tail_.logical) return;  // nothing to retire yet
  checkpointing_ = true;
  ++ops_in_flight_;
  Position target = applied_;
  std::vector<std::string> dirs(dirs_.begin(), dirs_.end());
  dirs_.clear();
  sync_(std::move(dirs), [this, target](int r) { CheckpointSynced(target, r); });
}

void JournalWriter::CheckpointSynced(Position target, int r) {
  if (r < 0) {
    log_(SyscallError("checkpoint syncfs", r));
    broken_ = true;
    return CheckpointDone();
  }
  // Record the new checkpoint durably before reusing the space: until then
  // recovery starts from the old checkpoint and must find the chain intact.
  JournalFile next = file_;
  next.checkpoint_offset = Phys(target.logical);
  next.checkpoint_seq = target.seq;
  next.generation = file_.generation + 1;
  auto slot = std::make_shared<std::string>(EncodeJournalHeader(next));
  uint64_t where = (next.generation % 2 == 0) ? 0 : kJournalHeaderSlot1;
  io_->Write(file_.fd, slot->data(), slot->size(), where,
             [this, slot, next, target](int r) {
               if (r != static_cast<int>(slot->size())) {
                 log_(SyscallError("journal header pwrite", r < 0 ? r : -EIO));
                 broken_ = true;
                 return CheckpointDone();
               }
               io_->Fsync(file_.fd, true, [this, next, target](int r) {
                 if (r < 0) {
                   log_(SyscallError("journal header fdatasync", r));
                   broken_ = true;
                 } else {
                   file_ = next;
                   tail_ = target;
                   ++checkpoints_;
                 }
                 CheckpointDone();
               });
             });
}

void JournalWriter::CheckpointDone() {
  checkpointing_ = false;
  --ops_in_flight_;
  std::vector<absl::AnyInvocable<void()>> waiters = std::move(space_waiters_);
  space_waiters_.clear();
  for (auto& w : waiters) w();
  if (shutting_down_) {
    // Shutdown() found this checkpoint in progress and left the final one
    // to it, but its target was taken before the last batches were
    // applied: retire those too, else a clean restart has records to
    // replay. (Found by the durability simulation.)
    StartCheckpoint();
  } else if (!broken_) {
    if (used_bytes() > data_size_ / 2 && applied_.logical != tail_.logical) {
      StartCheckpoint();
    } else {
      ArmTimer();
    }
  }
  MaybeShutdownDone();
}

void JournalWriter::Shutdown(absl::AnyInvocable<void()> done) {
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  StartCheckpoint();  // final checkpoint: a clean restart replays nothing
  MaybeShutdownDone();
}

void JournalWriter::MaybeShutdownDone() {
  if (!shutting_down_ || !shutdown_done_ || ops_in_flight_ > 0) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  int fd = file_.fd;
  file_.fd = -1;
  io_->Close(fd, [done = std::move(done)](int) mutable { done(); });
}

}  // namespace ringmail::storage
