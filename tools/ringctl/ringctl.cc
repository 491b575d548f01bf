// ringctl: administration of a ringmail installation.
//
//   ringctl [--data_dir=DIR | --control_socket=PATH] [--queue_dir=DIR] queue <cmd> [args]
//
// With ringmaild running, the request goes to its control socket
// (server/control_server.h) and the reply is printed as it comes. When the
// socket is absent or refuses connections (the daemon is stopped), ringctl
// works on the spool directly: list/show/stats read it (read-only load),
// delete/hold/release append state-log records the daemon replays at its
// next start. The output is the same either way (server/control_format.h).
//
// Exit status: 0 on success, 1 when the daemon (or the offline action)
// reports an error, 2 on bad usage.
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/control_format.h"
#include "storage/queue/spool.h"
#include "storage/queue/spool_layout.h"
#include "storage/queue/state_record.h"

namespace ringmail::tools {
namespace {

namespace control = server::control;
namespace queue = storage::queue;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
// Longest reply line the client buffers before giving up (the daemon's
// lines are far shorter: replies are cut to 1 KiB per field).
constexpr size_t kMaxReplyLineBytes = 64 * 1024;

constexpr char kUsage[] =
    "usage: ringctl [--data_dir=DIR | --control_socket=PATH] [--queue_dir=DIR] "
    "queue <command>\n"
    "  queue list [domain=D] [state=pending|deferred] [min_age=SECONDS] [held]\n"
    "  queue show ID\n"
    "  queue flush [DOMAIN]\n"
    "  queue delete ID | --domain D\n"
    "  queue hold ID | --domain D | --all\n"
    "  queue release ID | --domain D | --all\n"
    "  queue stats\n";

struct Options {
  std::string data_dir = "./var";
  std::string control_socket;  // default <data_dir>/ringmail.sock
  std::string queue_dir;       // default <data_dir>/queue
  std::string line;            // the request
};

bool TakeFlag(std::string_view arg, std::string_view name, std::string* out) {
  if (arg.substr(0, name.size()) != name || arg.size() <= name.size() ||
      arg[name.size()] != '=') {
    return false;
  }
  *out = std::string(arg.substr(name.size() + 1));
  return true;
}

// ---- online

enum class Connect { kOk, kDaemonDown, kError };

Connect ConnectSocket(const std::string& path, int* fd_out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "ringctl: control socket path too long: %s\n", path.c_str());
    return Connect::kError;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("ringctl: socket");
    return Connect::kError;
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    close(fd);
    if (err == ENOENT || err == ECONNREFUSED) return Connect::kDaemonDown;
    std::fprintf(stderr, "ringctl: connect %s: %s\n", path.c_str(), std::strerror(err));
    return Connect::kError;
  }
  *fd_out = fd;
  return Connect::kOk;
}

// Sends the request and prints the reply; returns the exit status.
int RunOnline(int fd, const std::string& line) {
  std::string req = line + "\n";
  std::string_view left = req;
  while (!left.empty()) {
    ssize_t n = send(fd, left.data(), left.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::perror("ringctl: send");
      return kExitError;
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
  int rc = kExitOk;
  std::string buf;
  char chunk[16384];
  while (true) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string_view l(buf.data(), nl);
      if (l == control::kEndLine) return rc;
      if (l.substr(0, 4) == "ERR ") {
        std::fprintf(stderr, "ringctl: %.*s\n", static_cast<int>(l.size() - 4), l.data() + 4);
        rc = kExitError;
      } else {
        std::fwrite(buf.data(), 1, nl + 1, stdout);
      }
      buf.erase(0, nl + 1);
    }
    if (buf.size() > kMaxReplyLineBytes) {
      std::fprintf(stderr, "ringctl: reply line too long\n");
      return kExitError;
    }
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(stderr, "ringctl: the daemon closed the connection before the "
                           "end of its reply\n");
      return kExitError;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
}

// ---- offline: the spool, directly (ringmaild is stopped)

struct Spool {
  std::vector<control::QueueEntry> entries;  // every core, in load order
};

absl::Status LoadSpool(const std::string& root, Spool* out) {
  auto cores = queue::ListSpoolCores(root);
  if (!cores.ok()) return cores.status();
  for (int core : *cores) {
    queue::LoadOptions opts;
    opts.read_only = true;
    auto loaded = queue::LoadCoreSpool(root, core, opts);
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(),
                          absl::StrCat("core ", core, ": ", loaded.status().message()));
    }
    for (queue::LoadedMessage& m : *loaded) {
      control::QueueEntry e;
      e.core = core;
      e.file = std::move(m.file);
      e.env = std::move(m.envelope);
      e.rcpts = std::move(m.recipients);
      e.held = m.held;
      e.delay_warned = m.delay_warned;
      e.size = m.size;
      e.file_bytes = m.file_bytes;
      out->entries.push_back(std::move(e));
    }
  }
  return absl::OkStatus();
}

// Appends `r` to the core's state log and makes it durable (the daemon
// replays it at start, like one of its own appends).
absl::Status AppendRecord(const std::string& root, int core, const queue::StateRecord& r) {
  const std::string path =
      absl::StrCat(queue::CoreSpoolDir(root, core), "/", std::string(queue::kStateLogName));
  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const std::string line = queue::EncodeStateRecord(r);
  std::string_view left = line;
  while (!left.empty()) {
    ssize_t n = write(fd, left.data(), left.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      absl::Status s = absl::InternalError(absl::StrCat("write ", path, ": ", std::strerror(errno)));
      close(fd);
      return s;
    }
    left.remove_prefix(static_cast<size_t>(n));
  }
  absl::Status s = absl::OkStatus();
  if (fdatasync(fd) != 0) {
    s = absl::InternalError(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
  }
  close(fd);
  return s;
}

// delete/hold/release of one entry; prints "<word> <id>".
absl::Status MutateOffline(const std::string& root, control::Verb verb,
                           const control::QueueEntry& e) {
  queue::StateRecord r;
  r.file = e.file;
  if (verb == control::Verb::kDelete) {
    r.kind = queue::StateRecord::Kind::kRemoved;
    if (absl::Status s = AppendRecord(root, e.core, r); !s.ok()) return s;
    // The record is durable first: a crash before the unlink leaves a file
    // the next start unlinks itself.
    const std::string path = absl::StrCat(queue::CoreSpoolDir(root, e.core), "/new/", e.file);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(absl::StrCat("unlink ", path, ": ", std::strerror(errno)));
    }
    std::printf("deleted %s\n", control::OneLine(e.env.id).c_str());
    return absl::OkStatus();
  }
  const bool hold = verb == control::Verb::kHold;
  if (e.held != hold) {
    r.kind = hold ? queue::StateRecord::Kind::kHold : queue::StateRecord::Kind::kRelease;
    if (absl::Status s = AppendRecord(root, e.core, r); !s.ok()) return s;
  }
  std::printf("%s %s\n", hold ? "held" : "released", control::OneLine(e.env.id).c_str());
  return absl::OkStatus();
}

int Fail(const std::string& text) {
  std::fprintf(stderr, "ringctl: %s\n", text.c_str());
  return kExitError;
}

int RunOffline(const Options& o, const control::ControlRequest& req) {
  using control::Verb;
  if (req.verb == Verb::kFlush) {
    std::printf("ringmaild is not running: nothing to flush (queued mail is retried "
                "when it starts)\n");
    return kExitOk;
  }
  Spool spool;
  if (absl::Status s = LoadSpool(o.queue_dir, &spool); !s.ok()) {
    return Fail(absl::StrCat("queue_dir ", o.queue_dir, ": ", s.message()));
  }
  const absl::Time now = absl::Now();
  auto find = [&](const std::string& id) -> const control::QueueEntry* {
    for (const control::QueueEntry& e : spool.entries) {
      if (e.env.id == id || e.file == id) return &e;
    }
    return nullptr;
  };
  switch (req.verb) {
    case Verb::kList:
      for (const control::QueueEntry& e : spool.entries) {
        if (control::Matches(req.filter, e, now)) {
          std::fputs(control::FormatListEntry(e, now).c_str(), stdout);
        }
      }
      return kExitOk;
    case Verb::kShow: {
      const control::QueueEntry* e = find(req.target.id);
      if (e == nullptr) return Fail(absl::StrCat("no such message: ", req.target.id));
      std::fputs(control::FormatShow(*e, now).c_str(), stdout);
      return kExitOk;
    }
    case Verb::kStats:
      std::fputs(control::FormatStats(control::StatsFromEntries(spool.entries), now).c_str(),
                 stdout);
      return kExitOk;
    case Verb::kDelete:
    case Verb::kHold:
    case Verb::kRelease: {
      const control::Selector& sel = req.target;
      if (!sel.id.empty()) {
        const control::QueueEntry* e = find(sel.id);
        if (e == nullptr) return Fail(absl::StrCat("no such message: ", sel.id));
        absl::Status s = MutateOffline(o.queue_dir, req.verb, *e);
        return s.ok() ? kExitOk : Fail(std::string(s.message()));
      }
      size_t count = 0;
      for (const control::QueueEntry& e : spool.entries) {
        if (!sel.all && !control::HasWaitingAt(e, sel.domain)) continue;
        if (absl::Status s = MutateOffline(o.queue_dir, req.verb, e); !s.ok()) {
          return Fail(std::string(s.message()));
        }
        ++count;
      }
      const char* word = req.verb == Verb::kDelete ? "deleted"
                         : req.verb == Verb::kHold ? "held"
                                                   : "released";
      std::printf("total %s=%zu\n", word, count);
      return kExitOk;
    }
    case Verb::kFlush:
      break;
  }
  return kExitOk;
}

int Main(int argc, char** argv) {
  Options o;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (!words.empty()) {
      words.emplace_back(a);  // after the command: arguments, even "--domain"
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    } else if (TakeFlag(a, "--data_dir", &o.data_dir) ||
               TakeFlag(a, "--control_socket", &o.control_socket) ||
               TakeFlag(a, "--queue_dir", &o.queue_dir)) {
    } else if (a.substr(0, 2) == "--") {
      std::fprintf(stderr, "ringctl: unknown flag %s\n%s", argv[i], kUsage);
      return kExitUsage;
    } else {
      words.emplace_back(a);
    }
  }
  if (o.control_socket.empty()) o.control_socket = o.data_dir + "/ringmail.sock";
  if (o.queue_dir.empty()) o.queue_dir = o.data_dir + "/queue";
  o.line = absl::StrJoin(words, " ");
  // Checked here too: a typo gets the same message online and offline.
  auto req = control::ParseControlRequest(o.line);
  if (!req.ok()) {
    std::fprintf(stderr, "ringctl: %s\n%s", std::string(req.status().message()).c_str(),
                 kUsage);
    return kExitUsage;
  }
  int fd = -1;
  switch (ConnectSocket(o.control_socket, &fd)) {
    case Connect::kOk: {
      int rc = RunOnline(fd, o.line);
      close(fd);
      return rc;
    }
    case Connect::kDaemonDown:
      return RunOffline(o, *req);
    case Connect::kError:
      return kExitError;
  }
  return kExitError;
}

}  // namespace
}  // namespace ringmail::tools

int main(int argc, char** argv) { return ringmail::tools::Main(argc, argv); }
