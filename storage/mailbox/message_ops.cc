#include "storage/mailbox/message_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"
#include "storage/maildir/maildir_name.h"

namespace ringmail::storage {

std::optional<FileMove> PlanFlagChange(const std::string& folder,
                                       const MessageEntry& entry,
                                       uint8_t flags, uint32_t keywords) {
  std::string name = WithInfoFlags(entry.filename, flags, keywords);
  if (entry.in_cur && name == entry.filename) return std::nullopt;
  return FileMove{absl::StrCat(folder, "/", entry.RelativePath()),
                  absl::StrCat(folder, "/cur/", name), name};
}

std::string ExpungePath(const std::string& folder, const MessageEntry& entry) {
  return absl::StrCat(folder, "/", entry.RelativePath());
}

absl::StatusOr<FileMove> PlanCopy(const std::string& src_folder,
                                  const MessageEntry& entry,
                                  const std::string& target_folder,
                                  std::string_view new_base) {
  if (new_base.empty() || new_base.find_first_of(",:/") != std::string_view::npos) {
    return absl::InvalidArgumentError("bad base name for copy");
  }
  std::string head(entry.key());
  size_t comma = head.find(',');
  std::string fields = comma == std::string::npos ? "" : head.substr(comma);
  std::string name = absl::StrCat(
      AbslView(new_base), fields, ":2,", FormatInfoFlags(entry.flags, entry.keywords));
  return FileMove{absl::StrCat(src_folder, "/", entry.RelativePath()),
                  absl::StrCat(target_folder, "/cur/", name), name};
}

int SetMtimeBlocking(const std::string& path, int64_t mtime) {
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = mtime;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  return utimensat(AT_FDCWD, path.c_str(), ts, 0) == 0 ? 0 : -errno;
}

namespace {

struct AppendJob {
  engine::FileIo* io;
  SetMtimeFn* set_mtime;
  AppendRequest req;
  absl::AnyInvocable<void(absl::StatusOr<std::string>)> done;
  std::string tmp_path;
  std::string name;  // final name in cur/
  int fd = -1;
  uint64_t written = 0;

  void Fail(int err, bool unlink_tmp) {
    auto finish = [this, err] {
      auto cb = std::move(done);
      delete this;
      cb(GenericIoStatus(err));
    };
    auto after_close = [this, unlink_tmp, finish](int) mutable {
      if (!unlink_tmp) return finish();
      io->UnlinkAt(AT_FDCWD, tmp_path, 0, [finish](int) mutable { finish(); });
    };
    if (fd >= 0) {
      int f = std::exchange(fd, -1);
      io->Close(f, std::move(after_close));
    } else {
      after_close(0);
    }
  }

  void WriteMore() {
    const std::string& d = *req.data;
    if (written == d.size()) return SetTime();
    io->Write(fd, d.data() + written, d.size() - written, written,
              [this](int r) {
                if (r < 0) return Fail(r, true);
                if (r == 0) return Fail(-EIO, true);
                written += static_cast<uint64_t>(r);
                WriteMore();
              });
  }
  void SetTime() {
    (*set_mtime)(tmp_path, req.internal_date, [this](int r) {
      if (r < 0) return Fail(r, true);
      // Full fsync (not datasync): the mtime is metadata we must keep.
      io->Fsync(fd, false, [this](int r2) {
        if (r2 < 0) return Fail(r2, true);
        io->Close(std::exchange(fd, -1), [this](int r3) {
          if (r3 < 0) return Fail(r3, true);
          Rename();
        });
      });
    });
  }
  void Rename() {
    std::string to = absl::StrCat(req.folder, "/cur/", name);
    io->RenameAt(AT_FDCWD, tmp_path, AT_FDCWD, to, [this](int r) {
      if (r < 0) return Fail(r, true);
      // Make the new directory entry durable.
      io->OpenAt(AT_FDCWD, absl::StrCat(req.folder, "/cur"),
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, [this](int dfd) {
                   if (dfd < 0) return Fail(dfd, false);
                   io->Fsync(dfd, false, [this, dfd](int r2) {
                     io->Close(dfd, [this, r2](int) {
                       if (r2 < 0) return Fail(r2, false);
                       auto cb = std::move(done);
                       std::string n = std::move(name);
                       delete this;
                       cb(std::move(n));
                     });
                   });
                 });
    });
  }
};

}  // namespace

void AppendMessageAsync(
    engine::FileIo* io, SetMtimeFn* set_mtime, AppendRequest req,
    absl::AnyInvocable<void(absl::StatusOr<std::string>)> done) {
  auto* job = new AppendJob{io, set_mtime, std::move(req), std::move(done)};
  job->tmp_path = absl::StrCat(job->req.folder, "/tmp/", job->req.base);
  job->name = absl::StrCat(
      FormatNewName(job->req.base, job->req.data->size(), job->req.vsize),
      ":2,", FormatInfoFlags(job->req.flags, job->req.keywords));
  io->OpenAt(AT_FDCWD, job->tmp_path,
             O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600, [job](int fd) {
               if (fd < 0) return job->Fail(fd, false);
               job->fd = fd;
               job->WriteMore();
             });
}

}  // namespace ringmail::storage
