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
  // Track every session's mailbox and report state violations (errors
  // "state:KIND", imap_state.h). On for --mix=keywords and mixes with its
  // operations.
  bool check_state = false;
  // pop3
  bool dele = false;
  // idle
  std::string idle_protocol = "imap";  // imap | smtp
  bool spread_sources = true;
  // idle imap: new mail by SMTP to the held sessions' users at this rate
  // (messages/s, 0 = none) once every session is open, each one timed to
  // the "* n EXISTS" it causes (op `exists_latency`).
  double deliver_rate = 0;
  // Deliveries start this long after every session is open (room for an
  // outside memory snapshot of the idle state); after `deliver_count`
  // messages (0 = no limit) the run ends early.
  double deliver_delay_s = 0;
  int64_t deliver_count = 0;
  std::string smtp_target_text;
  engine::SocketAddress smtp_target;
};

inline constexpr double kMaxDeliverRate = 10000;

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
