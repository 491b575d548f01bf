#include "server/pop3/maildrop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "protocols/pop3/uidl.h"
#include "server/imap/blocking.h"
#include "storage/mailbox/message_ops.h"

namespace ringmail::server::pop3 {
namespace {

using ringmail::pop3::MaildropEntry;
using ringmail::pop3::RetrieveStatus;

// A read that finds the file gone (renamed by another client's flag change)
// resyncs the folder and tries again this many times.
constexpr int kMaxReadAttempts = 2;

// BLOCKING (helper): the size of a file with every bare LF counted as CRLF,
// or nullopt if it cannot be read. For messages whose name has no W=.
std::optional<uint64_t> CrlfSizeBlocking(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[64 << 10];
  uint64_t size = 0;
  bool prev_cr = false;
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n' && !prev_cr) ++size;
      prev_cr = buf[i] == '\r';
    }
    size += n;
  }
  close(fd);
  return size;
}

}  // namespace

struct Maildrop::DeleteJob {
  std::vector<size_t> indices;
  size_t next = 0;
  size_t failed = 0;
  absl::AnyInvocable<void(size_t)> done;
  uint64_t freed_bytes = 0;  // unlinked by us: maildirsize (quota)
  int64_t freed = 0;
};

Maildrop::Maildrop(engine::Loop* loop, engine::HelperPool* pool,
                   imap::ImapService* imap, const Directory::Mailbox& user,
                   MaildropOptions options)
    : loop_(loop), pool_(pool), imap_(imap), user_(imap->AcquireUser(user)),
      options_(std::move(options)) {}

Maildrop::~Maildrop() {
  gate_.Close();
  if (view_) {
    view_.reset();
    // Like an IMAP UNSELECT: the last view writes the index (our own
    // deletions and \Seen changes are in it).
    if (folder_->view_count() == 0) folder_->SaveIfDirty();
  }
  imap_->ReleaseUser(user_);
}

void Maildrop::Open(OpenFn done) {
  auto folder = user_->Open("INBOX");
  if (!folder.ok()) {
    done(absl::UnavailableError("INBOX unavailable"));
    return;
  }
  imap::FolderState* f = *folder;
  f->Sync([this, alive = gate_.token(), f, done = std::move(done)](absl::Status s) mutable {
    if (!alive) return;
    if (absl::IsNotFound(s)) {
      // Nothing was ever delivered: an empty maildrop, not an error.
      user_->Forget("INBOX");
      done(std::vector<MaildropEntry>());
      return;
    }
    if (!s.ok()) {
      done(s);
      return;
    }
    folder_ = f;
    view_ = std::make_unique<imap::FolderView>(f, false, /*live=*/false);
    FinishOpen(std::move(done));
  });
}

void Maildrop::FinishOpen(OpenFn done) {
  const storage::FolderIndex& idx = folder_->index();
  std::vector<MaildropEntry> entries;
  std::vector<std::pair<size_t, std::string>> unknown;  // index, path
  entries.reserve(view_->exists());
  uids_.reserve(view_->exists());
  for (uint32_t seq = 1; seq <= view_->exists(); ++seq) {
    const uint32_t uid = view_->UidAt(seq);
    // The view was just made from the index: positions match, normally.
    std::optional<size_t> pos = seq - 1;
    if (seq > idx.size() || idx.uid(seq - 1) != uid) pos = idx.PositionOfUid(uid);
    if (!pos) continue;
    MaildropEntry m;
    m.uidl = ringmail::pop3::FormatUidl(
        options_.uidl_format, {uid, idx.uid_validity(), idx.key(*pos)});
    const uint64_t vsize = idx.vsize(*pos);
    if (vsize != storage::kUnknownSize) {
      m.size = vsize;
    } else {
      m.size = idx.message_size(*pos);
      unknown.emplace_back(entries.size(),
                           absl::StrCat(folder_->path(), "/", idx.RelativePath(*pos)));
    }
    uids_.push_back(uid);
    entries.push_back(std::move(m));
  }
  if (unknown.empty()) {
    done(std::move(entries));
    return;
  }
  // Messages from other software may lack W=: count their CRLF size once
  // on a helper (RFC 1939 §5 sizes must match what RETR sends).
  struct Sized {
    std::vector<MaildropEntry> entries;
    std::vector<std::pair<size_t, std::string>> unknown;
  };
  imap::RunBlocking<std::shared_ptr<Sized>>(
      pool_, loop_,
      [s = std::make_shared<Sized>(Sized{std::move(entries), std::move(unknown)})]() {
        for (auto& [i, path] : s->unknown) {
          if (auto n = CrlfSizeBlocking(path)) s->entries[i].size = *n;
        }
        return s;
      },
      [this, alive = gate_.token(), done = std::move(done)](std::shared_ptr<Sized> s) mutable {
        if (!alive) return;
        // Kept in the index: the next open of this folder reads no file.
        storage::FolderIndex& idx = folder_->index();
        for (const auto& [i, path] : s->unknown) {
          if (auto pos = idx.PositionOfUid(uids_[i])) idx.SetVsize(*pos, s->entries[i].size);
        }
        done(std::move(s->entries));
      });
}

void Maildrop::OpenMessage(size_t index, OpenMessageFn done) {
  assert(index < uids_.size());
  OpenAttempt(index, 1, std::move(done));
}

void Maildrop::OpenAttempt(size_t index, int attempt, OpenMessageFn done) {
  const uint32_t uid = uids_[index];
  auto pos = folder_->index().PositionOfUid(uid);
  if (!pos) {
    done(RetrieveStatus::kVanished, nullptr);
    return;
  }
  loop_->file_io().OpenAt(
      AT_FDCWD, absl::StrCat(folder_->path(), "/", folder_->index().RelativePath(*pos)),
      O_RDONLY | O_CLOEXEC, 0,
      [this, alive = gate_.token(), io = &loop_->file_io(), index, attempt, uid,
       done = std::move(done)](int fd) mutable {
        if (!alive) {
          if (fd >= 0) io->Close(fd, [](int) {});
          return;
        }
        if (fd == -ENOENT && attempt < kMaxReadAttempts) {
          // Renamed by another client (a flag change): learn the new name.
          folder_->Sync([this, alive, index, attempt,
                         done = std::move(done)](absl::Status) mutable {
            if (alive) OpenAttempt(index, attempt + 1, std::move(done));
          });
          return;
        }
        if (fd == -ENOENT) {
          done(RetrieveStatus::kVanished, nullptr);
          return;
        }
        if (fd < 0) {
          LOG_WARNING("pop3: opening ", folder_->path(), " UID ", uid, ": ",
                      strerror(-fd));
          done(RetrieveStatus::kFailed, nullptr);
          return;
        }
        done(RetrieveStatus::kOk, std::make_unique<MessageFile>(&loop_->file_io(), fd));
      });
}

void Maildrop::MarkRetrieved(size_t index, absl::AnyInvocable<void()> then) {
  assert(index < uids_.size());
  if (!options_.mark_seen) return then();
  MarkSeen(uids_[index], std::move(then));
}

void Maildrop::MarkSeen(uint32_t uid, absl::AnyInvocable<void()> then) {
  auto pos = folder_->index().PositionOfUid(uid);
  if (!pos) return then();
  if (folder_->index().flags(*pos) & storage::kFlagSeen) return then();
  if (!folder_->MayChange()) {
    // The folder's first change in this lifetime: claim its index first.
    folder_->WithClaim([this, alive = gate_.token(), uid, then = std::move(then)]() mutable {
      if (alive) MarkSeen(uid, std::move(then));
    });
    return;
  }
  const storage::MessageEntry e = folder_->index().Entry(*pos);
  auto move = storage::PlanFlagChange(folder_->path(), e, e.flags | storage::kFlagSeen,
                                      e.keywords);
  if (!move) return then();
  loop_->file_io().RenameAt(
      AT_FDCWD, move->from, AT_FDCWD, move->to,
      [this, alive = gate_.token(), uid, name = move->new_filename,
       then = std::move(then)](int res) mutable {
        if (!alive) return;
        if (res == 0) {
          folder_->NoteLocalChange();
          folder_->index().ApplyRename(uid, name, true);
          folder_->PublishFlags(uid, view_.get());
        }
        then();
      });
}

void Maildrop::Delete(std::vector<size_t> indices, absl::AnyInvocable<void(size_t)> done) {
  auto job = std::make_shared<DeleteJob>();
  job->indices = std::move(indices);
  job->done = std::move(done);
  if (job->indices.empty() || folder_ == nullptr) return DeleteNext(std::move(job));
  // Unlinks change the folder: claim its index first (once per lifetime).
  folder_->WithClaim([this, alive = gate_.token(), job]() mutable {
    if (alive) DeleteNext(std::move(job));
  });
}

void Maildrop::DeleteNext(std::shared_ptr<DeleteJob> job) {
  while (job->next < job->indices.size()) {
    const size_t index = job->indices[job->next++];
    assert(index < uids_.size());
    const uint32_t uid = uids_[index];
    auto pos = folder_->index().PositionOfUid(uid);
    if (!pos) continue;  // expunged by another session meanwhile
    std::string path = storage::ExpungePath(folder_->path(), folder_->index().Entry(*pos));
    const uint64_t size = folder_->index().message_size(*pos);
    loop_->file_io().UnlinkAt(AT_FDCWD, path, 0,
                              [this, alive = gate_.token(), job, uid, size](int res) {
      if (!alive) return;
      if (res < 0 && res != -ENOENT) {
        LOG_WARNING("pop3: unlink in ", folder_->path(), " failed: ", strerror(-res));
        ++job->failed;
      } else {
        if (res == 0) {  // -ENOENT: whoever removed it accounts for it
          job->freed_bytes += size;
          ++job->freed;
        }
        folder_->NoteLocalChange();
        folder_->index().Remove(uid);
        folder_->PublishExpunge(uid, view_.get());
        view_->RemoveOwn(uid);
      }
      DeleteNext(job);
    });
    return;
  }
  // maildirsize first: a client told the space is free can use it.
  RecordQuotaChange(QuotaEnv{loop_, pool_}, user_->quota,
                    -static_cast<int64_t>(job->freed_bytes), -job->freed,
                    [alive = gate_.token(), job] {
                      if (!alive) return;
                      auto done = std::move(job->done);
                      done(job->failed);
                    });
}

}  // namespace ringmail::server::pop3
