#include "storage/mailbox/maildirsize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

absl::Status Corrupt(std::string_view why) {
  return absl::DataLossError(absl::StrCat("maildirsize: ", AbslView(why)));
}

absl::Status Sys(std::string_view what, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat(AbslView(what), "(", path,
                                          ") failed: ", ErrnoText(err)));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT at the front of `s`, at most kMaxQuotaValue; sets *digits to how
// many there were. Overlong figures are refused before the multiplication
// that would wrap them around 2^64 into range (a 20-digit "0S" limit).
std::optional<uint64_t> TakeDigits(std::string_view s, size_t* digits) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && IsDigit(s[i])) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (kMaxQuotaValue - d) / 10) return std::nullopt;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return std::nullopt;
  *digits = i;
  return v;
}

// An optionally signed decimal at the front of `s` (advanced past it); at
// most kMaxQuotaValue in magnitude.
bool TakeSigned(std::string_view& s, int64_t* out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  size_t i = 0;
  const std::optional<uint64_t> v = TakeDigits(s, &i);
  if (!v) return false;
  s.remove_prefix(i);
  *out = negative ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
  return true;
}

size_t SkipBlanks(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
  s.remove_prefix(n);
  return n;
}

// "<n>S,<n>C" in any order, either part optional (Maildir++).
bool ParseDefinition(std::string_view line, QuotaLimits* out) {
  if (line.empty()) return false;
  while (true) {
    size_t comma = line.find(',');
    std::string_view item = line.substr(0, comma);
    int64_t v = 0;
    if (item.empty() || item[0] == '-' || item[0] == '+' ||
        !TakeSigned(item, &v) || item.size() != 1) {
      return false;
    }
    if (item[0] == 'S') {
      out->bytes = static_cast<uint64_t>(v);
    } else if (item[0] == 'C') {
      out->messages = static_cast<uint64_t>(v);
    } else {
      return false;
    }
    if (comma == std::string_view::npos) return true;
    line.remove_prefix(comma + 1);
  }
}

// Dovecot's maildir_sum_dir: ",S=<digits>" followed by ':' ',' or the end.
std::optional<uint64_t> SizeFromName(std::string_view name) {
  size_t p = name.find(",S=");
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view rest = name.substr(p + 3);
  size_t i = 0;
  const std::optional<uint64_t> v = TakeDigits(rest, &i);
  if (!v) return std::nullopt;
  if (i < rest.size() && rest[i] != ':' && rest[i] != ',') return std::nullopt;
  return v;
}

// A Maildir++ folder directory name under the root: ".Name", but not ".",
// "..", nor the "..something" names deleted folders are renamed to
// (Dovecot's "..DOVECOT-TRASHED", our "..ringmail-trash-*").
bool IsFolderName(const char* name) {
  return name[0] == '.' && name[1] != '\0' && name[1] != '.';
}

bool IsDirectory(const std::string& parent, const struct dirent* e) {
  if (e->d_type == DT_DIR) return true;
  if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) return false;
  struct stat st;
  std::string path = absl::StrCat(parent, "/", e->d_name);
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

struct CountedDir {
  std::string path;
  struct timespec mtime;
};

// Adds the messages of one new/ or cur/ directory. A missing directory
// counts nothing and is not remembered.
absl::Status SumDir(const std::string& dir, const MaildirsizeScanLimits& scan,
                    QuotaUsage* usage, std::vector<CountedDir>* seen) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Sys("stat", dir, errno);
  }
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
    return Sys("opendir", dir, errno);
  }
  seen->push_back({dir, st.st_mtim});
  size_t files = 0;
  absl::Status status;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;  // ".", "..", hidden temporaries
    if (e->d_type == DT_DIR) continue;
    if (++files > scan.max_files_per_dir) {
      status = absl::ResourceExhaustedError(
          absl::StrCat("maildirsize: more than ", scan.max_files_per_dir,
                       " files in ", dir));
      break;
    }
    std::optional<uint64_t> size = SizeFromName(e->d_name);
    if (!size) {
      struct stat fst;
      std::string path = absl::StrCat(dir, "/", e->d_name);
      if (stat(path.c_str(), &fst) != 0) {
        if (errno == ENOENT) continue;  // expunged meanwhile
        status = Sys("stat", path, errno);
        break;
      }
      size = static_cast<uint64_t>(fst.st_size);
    }
    usage->bytes += *size;
    usage->messages += 1;
  }
  closedir(d);
  return status;
}

// Writes the whole file through tmp/ and a rename. Failures are not
// reported: the next reader finds the old (or no) file and recalculates.
void WriteMaildirsize(const std::string& root, const QuotaLimits& limits,
                      const QuotaUsage& usage) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = absl::StrCat(
      root, "/tmp/", absl::ToUnixSeconds(absl::Now()), ".P", getpid(), "Q",
      counter.fetch_add(1, std::memory_order_relaxed), ".maildirsize");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return;  // no tmp/ (an incomplete Maildir): leave it
  const std::string data = FormatMaildirsize(limits, usage);
  size_t off = 0;
  bool ok = true;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0) ok = false;
  std::string path = absl::StrCat(root, "/", AbslView(kMaildirsizeFileName));
  if (!ok || rename(tmp.c_str(), path.c_str()) != 0) unlink(tmp.c_str());
}

// ---- FileIo operations.

struct ReadJob {
  engine::FileIo* io;
  absl::AnyInvocable<void(MaildirsizeRead)> done;
  std::string path;
  MaildirsizeRead result;
  size_t got = 0;
  int fd = -1;

  void Finish(int error) {
    result.error = error;
    result.data.resize(error < 0 ? 0 : got);
    if (fd < 0) return Deliver();
    io->Close(std::exchange(fd, -1), [this](int) { Deliver(); });
  }
  void Deliver() {
    auto cb = std::move(done);
    MaildirsizeRead r = std::move(result);
    delete this;
    cb(std::move(r));
  }
  void ReadMore() {
    if (got == kMaildirsizeMaxBytes) return Finish(0);
    const size_t want = kMaildirsizeMaxBytes - got;
    io->Read(fd, result.data.data() + got, want, got, [this, want](int r) {
      if (r < 0) return Finish(r);
      got += static_cast<size_t>(r);
      // A regular file reads short only at its end. What a concurrent
      // appender adds after that point is not needed: a partial last
      // line is ignored by the parser anyway.
      if (static_cast<size_t>(r) < want) return Finish(0);
      ReadMore();
    });
  }
};

struct AppendJob {
  engine::FileIo* io;
  absl::AnyInvocable<void(int)> done;
  std::string line;
  size_t written = 0;
  int fd = -1;

  void Finish(int result) {
    if (fd < 0) return Deliver(result);
    io->Close(std::exchange(fd, -1), [this, result](int r) {
      Deliver(result < 0 ? result : r);
    });
  }
  void Deliver(int result) {
    auto cb = std::move(done);
    delete this;
    cb(result);
  }
  void WriteMore() {
    if (written == line.size()) return Finish(0);
    // O_APPEND: the kernel writes at the end whatever the offset says.
    io->Write(fd, line.data() + written, line.size() - written, 0,
              [this](int r) {
                if (r < 0) return Finish(r);
                if (r == 0) return Finish(-EIO);
                written += static_cast<size_t>(r);
                WriteMore();
              });
  }
};

}  // namespace

absl::StatusOr<Maildirsize> ParseMaildirsize(std::string_view data) {
  // Only complete lines: a writer may be appending the last one right now.
  size_t end = data.rfind('\n');
  if (end == std::string_view::npos) return Corrupt("no complete line");
  data = data.substr(0, end + 1);
  if (data.find('\0') != std::string_view::npos) return Corrupt("NUL byte");
  Maildirsize file;
  size_t nl = data.find('\n');
  if (!ParseDefinition(data.substr(0, nl), &file.limits)) {
    return Corrupt("bad quota definition");
  }
  data.remove_prefix(nl + 1);
  int64_t bytes = 0, messages = 0;
  while (!data.empty()) {
    nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    int64_t b = 0, m = 0;
    SkipBlanks(line);
    if (!TakeSigned(line, &b) || SkipBlanks(line) == 0 ||
        !TakeSigned(line, &m)) {
      return Corrupt("bad usage line");
    }
    SkipBlanks(line);
    if (!line.empty()) return Corrupt("bad usage line");
    if (__builtin_add_overflow(bytes, b, &bytes) ||
        __builtin_add_overflow(messages, m, &messages)) {
      return Corrupt("usage overflow");
    }
    ++file.delta_lines;
  }
  if (bytes < 0 || messages < 0) return Corrupt("negative usage");
  if (static_cast<uint64_t>(bytes) > kMaxQuotaValue ||
      static_cast<uint64_t>(messages) > kMaxQuotaValue) {
    return Corrupt("usage out of range");
  }
  file.usage.bytes = static_cast<uint64_t>(bytes);
  file.usage.messages = static_cast<uint64_t>(messages);
  return file;
}

std::string FormatMaildirsizeDefinition(const QuotaLimits& limits) {
  std::string s;
  if (limits.bytes != 0 || limits.messages == 0) {
    absl::StrAppend(&s, limits.bytes, "S");
  }
  if (limits.messages != 0) {
    absl::StrAppend(&s, s.empty() ? "" : ",", limits.messages, "C");
  }
  return s;
}

std::string FormatMaildirsizeDelta(int64_t bytes, int64_t messages) {
  return absl::StrCat(bytes, " ", messages, "\n");
}

std::string FormatMaildirsize(const QuotaLimits& limits,
                              const QuotaUsage& usage) {
  return absl::StrCat(FormatMaildirsizeDefinition(limits), "\n", usage.bytes,
                      " ", usage.messages, "\n");
}

MaildirsizeAction AssessMaildirsize(const absl::StatusOr<Maildirsize>& parsed,
                                    size_t bytes_read,
                                    const QuotaLimits& configured) {
  if (!parsed.ok() || bytes_read >= kMaildirsizeMaxBytes) {
    return MaildirsizeAction::kRecalculate;
  }
  // Other limits: the definition line must be rewritten (Dovecot with
  // a forced rule does the same); no usage line: nothing to trust.
  if (parsed->limits != configured || parsed->delta_lines == 0) {
    return MaildirsizeAction::kRecalculate;
  }
  const QuotaUsage& u = parsed->usage;
  bool over = (configured.bytes != 0 && u.bytes > configured.bytes) ||
              (configured.messages != 0 && u.messages > configured.messages);
  if (!over) return MaildirsizeAction::kUse;
  // Maildir++: an over-quota answer is only trusted when the file is fresh
  // and was not built from deltas (which drift when other software
  // delivers or expunges without updating the file).
  return parsed->delta_lines > 1 ? MaildirsizeAction::kRecalculate
                                 : MaildirsizeAction::kCheckAge;
}

QuotaVerdict CheckQuota(const QuotaLimits& limits, const QuotaUsage& usage,
                        uint64_t bytes, uint64_t messages) {
  if (limits.bytes != 0 && bytes > limits.bytes) return QuotaVerdict::kTooBig;
  if (limits.messages != 0 && usage.messages + messages > limits.messages) {
    return QuotaVerdict::kFull;
  }
  if (limits.bytes != 0 && usage.bytes + bytes > limits.bytes) {
    return QuotaVerdict::kFull;
  }
  return QuotaVerdict::kFits;
}

void ReadMaildirsizeAsync(engine::FileIo* io, const std::string& root,
                          absl::AnyInvocable<void(MaildirsizeRead)> done) {
  auto* job = new ReadJob{io, std::move(done),
                          absl::StrCat(root, "/", AbslView(kMaildirsizeFileName))};
  job->result.data.resize(kMaildirsizeMaxBytes);
  io->OpenAt(AT_FDCWD, job->path, O_RDONLY | O_CLOEXEC, 0, [job](int fd) {
    if (fd < 0) return job->Finish(fd);
    job->fd = fd;
    job->ReadMore();
  });
}

void AppendMaildirsizeAsync(engine::FileIo* io, const std::string& root,
                            int64_t bytes, int64_t messages,
                            absl::AnyInvocable<void(int)> done) {
  assert(bytes != 0 || messages != 0);
  auto* job = new AppendJob{io, std::move(done),
                            FormatMaildirsizeDelta(bytes, messages)};
  io->OpenAt(AT_FDCWD, absl::StrCat(root, "/", AbslView(kMaildirsizeFileName)),
             O_WRONLY | O_APPEND | O_CLOEXEC, 0, [job](int fd) {
               if (fd < 0) return job->Finish(fd);
               job->fd = fd;
               job->WriteMore();
             });
}

absl::StatusOr<QuotaUsage> RecalculateMaildirsizeBlocking(
    const std::string& root, const QuotaLimits& limits,
    const MaildirsizeScanLimits& scan) {
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return QuotaUsage();  // nothing delivered yet
    return Sys("opendir", root, errno);
  }
  std::vector<std::string> folders = {root};
  absl::Status status;
  while (struct dirent* e = readdir(d)) {
    if (!IsFolderName(e->d_name) || !IsDirectory(root, e)) continue;
    if (folders.size() > scan.max_folders) {
      status = absl::ResourceExhaustedError(absl::StrCat(
          "maildirsize: more than ", scan.max_folders, " folders in ", root));
      break;
    }
    folders.push_back(absl::StrCat(root, "/", e->d_name));
  }
  closedir(d);
  if (!status.ok()) return status;
  QuotaUsage usage;
  std::vector<CountedDir> seen;
  for (const std::string& folder : folders) {
    for (const char* sub : {"/new", "/cur"}) {
      status = SumDir(folder + sub, scan, &usage, &seen);
      if (!status.ok()) return status;
    }
  }
  // A delivery or expunge during the scan makes the sum stale at once;
  // then the file is left for the next reader to recalculate.
  for (const CountedDir& c : seen) {
    struct stat st;
    if (stat(c.path.c_str(), &st) != 0 || !SameTime(st.st_mtim, c.mtime)) {
      return usage;
    }
  }
  WriteMaildirsize(root, limits, usage);
  return usage;
}

absl::StatusOr<QuotaUsage> ReadMaildirsizeBlocking(
    const std::string& root, const QuotaLimits& limits, absl::Time now,
    const MaildirsizeScanLimits& scan) {
  std::string path = absl::StrCat(root, "/", AbslView(kMaildirsizeFileName));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return RecalculateMaildirsizeBlocking(root, limits, scan);
    }
    return Sys("open", path, errno);
  }
  std::string data(kMaildirsizeMaxBytes, '\0');
  size_t got = 0;
  int err = 0;
  while (got < data.size()) {
    ssize_t n = read(fd, data.data() + got, data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  struct stat st;
  if (err == 0 && fstat(fd, &st) != 0) err = errno;
  close(fd);
  if (err != 0) return Sys("read", path, err);
  data.resize(got);
  absl::StatusOr<Maildirsize> parsed = ParseMaildirsize(data);
  switch (AssessMaildirsize(parsed, got, limits)) {
    case MaildirsizeAction::kUse:
      return parsed->usage;
    case MaildirsizeAction::kCheckAge:
      if (now - absl::TimeFromTimespec(st.st_mtim) <= kMaildirsizeStaleAfter) {
        return parsed->usage;
      }
      break;
    case MaildirsizeAction::kRecalculate:
      break;
  }
  return RecalculateMaildirsizeBlocking(root, limits, scan);
}

}  // namespace ringmail::storage
