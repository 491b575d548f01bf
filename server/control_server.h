// The administration socket of ringmaild (`ringctl queue ...`): a Unix
// stream socket at relay.control_socket served by one non-core thread.
//
// Access control is the file's permission (0600, owned by the daemon's
// user) in data_dir; there is no authentication on top.
//
// One request line per connection (control_format.h gives the grammar and
// the reply format). The thread touches no core state itself: each question
// is a short task posted to a core through the Mesh (its own source id),
// which copies the answer out and hands it back through a promise. A list
// asks each core for kListPageSize messages at a time and writes every page
// to the client before asking for the next, so a huge queue never holds a
// core for long. Connections are served one at a time, each with send and
// receive timeouts, so a stuck client cannot pin the thread for ever.
//
// Lifetime: Bind() before the cores start (a bad path stops start-up),
// Start() once every core's RelayService exists, Stop() before the cores are
// told to stop (a task posted to a stopped core would never answer).
#ifndef RINGMAIL_SERVER_CONTROL_SERVER_H_
#define RINGMAIL_SERVER_CONTROL_SERVER_H_

#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "engine/loop.h"
#include "server/control_format.h"
#include "server/relay/relay_service.h"

namespace ringmail::server {

class ControlServer {
 public:
  // `mesh` and `relays` (one per core, filled in by the core threads before
  // Start) must outlive the server; `source` is this thread's Mesh source
  // id (>= mesh->cores()).
  ControlServer(engine::Mesh* mesh, int source,
                const std::vector<relay::RelayService*>* relays,
                std::string socket_path);
  ~ControlServer();  // Stop()s
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the socket: removes a stale socket at the path (refuses to
  // remove anything that is not a socket), binds, chmod 0600, listens.
  // Errors name the path and the failing call.
  absl::Status Bind();
  // Starts the serving thread. Requires Bind() to have succeeded.
  void Start();
  // Wakes the thread (shutdown of the listening and current client
  // sockets), joins it, closes and unlinks the socket. Idempotent.
  void Stop();

 private:
  void Serve();
  void HandleConnection(int fd);
  // Runs `req` and writes its reply; false when the client went away.
  bool Handle(int fd, const control::ControlRequest& req);
  bool List(int fd, const control::ListFilter& filter);
  bool Show(int fd, const std::string& id);
  bool Stats(int fd);
  bool Flush(int fd, const std::string& domain);
  bool Mutate(int fd, const control::ControlRequest& req);

  const std::vector<relay::RelayService*>& relays() const { return *relays_; }

  engine::Mesh* const mesh_;
  const int source_;
  const std::vector<relay::RelayService*>* const relays_;
  const std::string path_;
  int listen_fd_ = -1;
  std::mutex client_mu_;
  int client_fd_ = -1;  // the connection being served (guarded by client_mu_)
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_CONTROL_SERVER_H_
