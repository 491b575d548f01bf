// ringbench's command line and the user list it expands.
#ifndef RINGMAIL_BENCH_RINGBENCH_OPTIONS_H_
#define RINGMAIL_BENCH_RINGBENCH_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tcp.h"

namespace ringmail::ringbench {

struct User {
  std::string name;
  std::string password;
};

struct Options {
  std::string mode;  // smtp lmtp imap pop3 idle
  std::string target_text;
  engine::SocketAddress target;
  int connections = 1;
  double duration_s = 10;
  double rate = 0;  // ops/s; 0 = closed loop
  int threads = 1;
  bool json = false;
  std::string report;
  int server_pid = 0;
  std::vector<User> users;
  bool allow_remote = false;
  double timeout_s = 30;        // per wait for the server
  uint64_t max_ops = 100'000'000;  // count bound, with the time bound
  // smtp / lmtp
  int messages_per_connection = 10;
  int recipients = 1;
  std::string size = "4096";  // bytes, or "mix"
  bool pipelining = true;
  bool new_connection_per_message = false;
  std::string mail_from = "bench@ringbench.test";
  std::string helo = "ringbench.test";
  // imap
  std::string mix;  // "" = the default imaptest-like mix
  std::string mailbox = "INBOX";
  // pop3
  bool dele = false;
  // idle
  std::string idle_protocol = "imap";  // imap | smtp
  bool spread_sources = true;
};

inline constexpr int kMaxConnections = 200000;
inline constexpr int kMaxThreads = 64;
inline constexpr double kMaxDuration = 3600;
inline constexpr size_t kMaxUsers = 1000000;

// Parses argv (argv[1] is the mode). Returns InvalidArgument with a
// message for the user; NotFound carrying the usage text for --help.
absl::StatusOr<Options> ParseOptions(int argc, char** argv);
std::string Usage();

// "user%d@domain" expanded for 1..count (exactly one %d, or none for one
// user); file lines are "user:password" or "user password" ('#' comments).
absl::StatusOr<std::vector<User>> ExpandUsers(const std::string& pattern,
                                              const std::string& password, int count);
absl::StatusOr<std::vector<User>> ReadUsersFile(const std::string& path);
// True for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback).
bool IsLoopback(const engine::SocketAddress& a);

}  // namespace ringmail::ringbench

#endif  // RINGMAIL_BENCH_RINGBENCH_OPTIONS_H_
