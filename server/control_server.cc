#include "server/control_server.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cassert>
#include <cstring>
#include <future>
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/log.h"

namespace ringmail::server {
namespace {

using control::ControlRequest;
using control::QueueEntry;
using control::Verb;

// A client that sends nothing (or reads nothing) for this long is dropped.
constexpr int kReceiveTimeoutSeconds = 5;
constexpr int kSendTimeoutSeconds = 30;
constexpr int kListenBacklog = 16;

absl::Status Errno(std::string_view what, std::string_view path) {
  return absl::InternalError(absl::StrCat("control_socket ",
                                          absl::string_view(path.data(), path.size()),
                                          ": ", absl::string_view(what.data(), what.size()),
                                          ": ", std::strerror(errno)));
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool End(int fd) { return WriteAll(fd, ".\n"); }

bool Error(int fd, std::string_view text) {
  return WriteAll(fd, control::ErrorLine(text)) && End(fd);
}

// Runs `fn(relay)` on `core`'s thread and returns its result. The promise
// lives in a shared_ptr: the core may still be inside set_value when this
// thread wakes up and returns.
template <typename Fn>
auto OnCore(engine::Mesh* mesh, int source, int core, relay::RelayService* r, Fn fn)
    -> decltype(fn(*r)) {
  using T = decltype(fn(*r));
  auto p = std::make_shared<std::promise<T>>();
  std::future<T> f = p->get_future();
  mesh->PostFromThread(source, core, [p, r, fn = std::move(fn)]() mutable {
    p->set_value(fn(*r));
  });
  return f.get();
}

struct Page {
  std::vector<QueueEntry> entries;
  std::vector<std::string> done;  // ids acted on (mutations)
  std::string last_file;          // resume after this
  size_t scanned = 0;
  // The core's clock when the page was taken: ages and due times are
  // computed against the clock that set them (and that tests can step),
  // not this thread's.
  absl::Time now;
};

}  // namespace

ControlServer::ControlServer(engine::Mesh* mesh, int source,
                             const std::vector<relay::RelayService*>* relays,
                             std::string socket_path)
    : mesh_(mesh), source_(source), relays_(relays), path_(std::move(socket_path)) {
  assert(source >= mesh->cores() && source < mesh->sources());
}

ControlServer::~ControlServer() { Stop(); }

absl::Status ControlServer::Bind() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("control_socket: path empty or longer than ",
                     sizeof(addr.sun_path) - 1, " bytes: ", path_));
  }
  std::memcpy(addr.sun_path, path_.data(), path_.size());
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0) {
    // Left by a daemon that did not stop cleanly. Anything else at the path
    // is not ours to delete.
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("control_socket ", path_, ": exists and is not a socket"));
    }
    if (unlink(path_.c_str()) != 0) return Errno("unlink", path_);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket", path_);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status s = Errno("bind", path_);
    close(fd);
    return s;
  }
  // Before listen: nobody else may connect in between.
  if (chmod(path_.c_str(), 0600) != 0 || listen(fd, kListenBacklog) != 0) {
    absl::Status s = Errno("chmod/listen", path_);
    close(fd);
    unlink(path_.c_str());
    return s;
  }
  listen_fd_ = fd;
  return absl::OkStatus();
}

void ControlServer::Start() {
  assert(listen_fd_ >= 0 && !thread_.joinable());
  thread_ = std::thread([this] { Serve(); });
}

void ControlServer::Stop() {
  if (listen_fd_ < 0) return;
  stopping_.store(true);
  // shutdown() makes a blocked accept() return (EINVAL) and a blocked
  // recv/send on the current client return.
  shutdown(listen_fd_, SHUT_RDWR);
  {
    // Under the lock: the number cannot be closed and reused meanwhile.
    std::lock_guard<std::mutex> lock(client_mu_);
    if (client_fd_ >= 0) shutdown(client_fd_, SHUT_RDWR);
  }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  unlink(path_.c_str());
}

void ControlServer::Serve() {
  while (!stopping_.load()) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (!stopping_.load()) LOG_ERROR("control_socket: accept: ", std::strerror(errno));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(client_mu_);
      client_fd_ = fd;
    }
    // Stop() may have run between accept and the store above.
    if (!stopping_.load()) HandleConnection(fd);
    std::lock_guard<std::mutex> lock(client_mu_);
    client_fd_ = -1;
    close(fd);
  }
}

void ControlServer::HandleConnection(int fd) {
  timeval rcv{kReceiveTimeoutSeconds, 0}, snd{kSendTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos) {
    if (line.size() > control::kMaxControlLineBytes) {
      Error(fd, "request line too long");
      return;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (line.empty()) return;  // nothing asked
      break;                     // a last line without LF is still a request
    }
    line.append(buf, static_cast<size_t>(n));
  }
  line.resize(std::min(line.find('\n'), line.size()));
  auto req = control::ParseControlRequest(line);
  if (!req.ok()) {
    Error(fd, std::string(req.status().message()));
    return;
  }
  Handle(fd, *req);
}

bool ControlServer::Handle(int fd, const ControlRequest& req) {
  switch (req.verb) {
    case Verb::kList:
      return List(fd, req.filter);
    case Verb::kShow:
      return Show(fd, req.target.id);
    case Verb::kStats:
      return Stats(fd);
    case Verb::kFlush:
      return Flush(fd, req.target.domain);
    case Verb::kDelete:
    case Verb::kHold:
    case Verb::kRelease:
      return Mutate(fd, req);
  }
  return Error(fd, "unknown command");
}

bool ControlServer::List(int fd, const control::ListFilter& filter) {
  for (int core = 0; core < static_cast<int>(relays().size()); ++core) {
    std::string after;
    while (true) {
      Page page = OnCore(mesh_, source_, core, relays()[core],
                         [core, after](relay::RelayService& r) {
                           Page p;
                           p.now = r.loop()->now();
                           for (const relay::Message* m :
                                r.scheduler().Page(after, control::kListPageSize)) {
                             ++p.scanned;
                             p.last_file = m->file;
                             if (!m->removing) p.entries.push_back(control::EntryFromMessage(core, *m));
                           }
                           return p;
                         });
      const absl::Time now = page.now;
      std::string out;
      for (const QueueEntry& e : page.entries) {
        if (control::Matches(filter, e, now)) out += control::FormatListEntry(e, now);
      }
      if (!WriteAll(fd, out)) return false;
      if (page.scanned < control::kListPageSize) break;
      after = std::move(page.last_file);
    }
  }
  return End(fd);
}

bool ControlServer::Show(int fd, const std::string& id) {
  for (int core = 0; core < static_cast<int>(relays().size()); ++core) {
    Page e = OnCore(mesh_, source_, core, relays()[core],
                    [core, id](relay::RelayService& r) {
                      Page p;
                      p.now = r.loop()->now();
                      const relay::Message* m = r.scheduler().FindById(id);
                      if (m != nullptr && !m->removing) {
                        p.entries.push_back(control::EntryFromMessage(core, *m));
                      }
                      return p;
                    });
    if (!e.entries.empty()) {
      return WriteAll(fd, control::FormatShow(e.entries[0], e.now)) && End(fd);
    }
  }
  return Error(fd, absl::StrCat("no such message: ", id));
}

bool ControlServer::Stats(int fd) {
  std::vector<relay::DestinationStats> merged;
  // The cores' clocks agree up to one loop iteration; the last one asked
  // dates the merged answer.
  absl::Time now = absl::InfinitePast();
  for (int core = 0; core < static_cast<int>(relays().size()); ++core) {
    control::MergeStats(OnCore(mesh_, source_, core, relays()[core],
                               [&now](relay::RelayService& r) {
                                 now = r.loop()->now();
                                 return r.scheduler().Stats(now);
                               }),
                        &merged);
  }
  return WriteAll(fd, control::FormatStats(merged, now)) && End(fd);
}

bool ControlServer::Flush(int fd, const std::string& domain) {
  for (int core = 0; core < static_cast<int>(relays().size()); ++core) {
    OnCore(mesh_, source_, core, relays()[core], [domain](relay::RelayService& r) {
      r.scheduler().Flush(domain, r.loop()->now());
      r.Kick();
      return true;
    });
  }
  return WriteAll(fd, absl::StrCat("flushed ", domain.empty() ? "all domains" : domain,
                                   " on ", relays().size(), " core(s)\n")) &&
         End(fd);
}

bool ControlServer::Mutate(int fd, const ControlRequest& req) {
  const Verb verb = req.verb;
  const char* word = verb == Verb::kDelete ? "deleted"
                     : verb == Verb::kHold ? "held"
                                           : "released";
  // Applies the verb to `m`, on its core.
  auto apply = [verb](relay::RelayService& r, const relay::Message& m) {
    relay::Scheduler& s = r.scheduler();
    r.Carry(verb == Verb::kDelete ? s.Delete(m.seq)
                                  : s.SetHeld(m.seq, verb == Verb::kHold, r.loop()->now()));
  };
  size_t count = 0;
  const control::Selector& sel = req.target;
  for (int core = 0; core < static_cast<int>(relays().size()); ++core) {
    if (!sel.id.empty()) {
      std::string id = sel.id;
      std::string done = OnCore(mesh_, source_, core, relays()[core],
                                [id, apply](relay::RelayService& r) -> std::string {
                                  const relay::Message* m = r.scheduler().FindById(id);
                                  if (m == nullptr || m->removing) return "";
                                  std::string shown = m->env.id;
                                  apply(r, *m);
                                  return shown;
                                });
      if (done.empty()) continue;
      return WriteAll(fd, absl::StrCat(word, " ", control::OneLine(done), "\n")) && End(fd);
    }
    std::string after;
    while (true) {
      Page page = OnCore(
          mesh_, source_, core, relays()[core],
          [after, sel, apply](relay::RelayService& r) {
            Page p;
            // Collected first: Carry may change the scheduler's maps.
            std::vector<uint64_t> seqs;
            for (const relay::Message* m :
                 r.scheduler().Page(after, control::kListPageSize)) {
              ++p.scanned;
              p.last_file = m->file;
              if (m->removing) continue;
              if (!sel.all) {
                QueueEntry e;
                e.env.recipients = m->env.recipients;
                e.rcpts = m->rcpts;
                if (!control::HasWaitingAt(e, sel.domain)) continue;
              }
              seqs.push_back(m->seq);
            }
            for (uint64_t seq : seqs) {
              const relay::Message* m = r.scheduler().Find(seq);
              if (m == nullptr) continue;
              p.done.push_back(m->env.id);
              apply(r, *m);
            }
            return p;
          });
      std::string out;
      for (const std::string& id : page.done) {
        absl::StrAppend(&out, word, " ", control::OneLine(id), "\n");
      }
      count += page.done.size();
      if (!WriteAll(fd, out)) return false;
      if (page.scanned < control::kListPageSize) break;
      after = std::move(page.last_file);
    }
  }
  if (!sel.id.empty()) return Error(fd, absl::StrCat("no such message: ", sel.id));
  return WriteAll(fd, absl::StrCat("total ", word, "=", count, "\n")) && End(fd);
}

}  // namespace ringmail::server
