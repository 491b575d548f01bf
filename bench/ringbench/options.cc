#include "bench/ringbench/options.h"

#include <arpa/inet.h>

#include <fstream>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "bench/ringbench/imap_ops.h"

namespace ringmail::ringbench {
namespace {

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool ParseBool(std::string_view v, bool* out) {
  if (v == "" || v == "1" || v == "true" || v == "yes" || v == "on") return *out = true, true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return *out = false, true;
  return false;
}

}  // namespace

std::string Usage() {
  return R"(usage: ringbench MODE --target=HOST:PORT [options]
MODE: smtp | lmtp | imap | pop3 | idle
  --target=HOST:PORT        server (IPv4 literal or [IPv6]); loopback only
                            unless --allow-remote
  --connections=N           concurrent clients (default 1)
  --duration=SECS           run time (default 10; max 3600)
  --rate=OPS                open loop at OPS/s overall (default: closed loop)
  --threads=N               engine threads (default 1)
  --max-ops=N               stop after N operations (default 100000000)
  --timeout=SECS            per-reply timeout (default 30)
  --json                    print the result as JSON on stdout
  --report=FILE.html        write a self-contained HTML report
  --server-pid=PID          sample the server's CPU and memory from /proc
  --users=PATTERN --password=PW [--user-count=N]   e.g. user%d@example.test
  --users-file=FILE         lines "user:password"
smtp/lmtp: --messages-per-connection=N (10) --recipients=N (1)
  --size=BYTES|mix (4096)  --pipelining=on|off (on)  --new-connection
  --from=ADDR  --helo=NAME
imap: --mix=fetch_summary=30,... (see README) --mailbox=NAME
  --mix=keywords            sessions sharing mailboxes add new keywords, fetch
                            FLAGS with bodies, expunge; implies --check-state
  --check-state=on|off      track each session's mailbox; report violations
                            (unknown keyword, \Recent in two sessions, FETCH
                            beyond EXISTS, ...) as errors state:KIND
pop3: --dele
idle: --idle-protocol=imap|smtp (imap)  --spread-sources=on|off (on)
  --deliver-rate=MSGS --smtp-target=HOST:PORT   (imap) while every session
                            IDLEs, deliver MSGS/s by SMTP to their users and
                            time each "* n EXISTS" (op exists_latency, from
                            the end of DATA; exists_after_250 from the 250)
  --deliver-delay=SECS (0)  start delivering SECS after all sessions opened
  --deliver-count=N (0)     end the run after N deliveries (0: at --duration)
)";
}

bool IsLoopback(const engine::SocketAddress& a) {
  if (a.storage.ss_family == AF_INET) {
    auto* s4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
  }
  if (a.storage.ss_family == AF_INET6) {
    auto* s6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) return s6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

absl::StatusOr<std::vector<User>> ExpandUsers(const std::string& pattern,
                                              const std::string& password, int count) {
  size_t pct = pattern.find("%d");
  if (pct == std::string::npos) return std::vector<User>{{pattern, password}};
  if (pattern.find("%d", pct + 2) != std::string::npos) {
    return absl::InvalidArgumentError("--users pattern may hold one %d");
  }
  if (count < 1 || static_cast<size_t>(count) > kMaxUsers) {
    return absl::InvalidArgumentError("--user-count out of range");
  }
  std::vector<User> users;
  for (int i = 1; i <= count; ++i) {
    users.push_back({absl::StrReplaceAll(pattern, {{"%d", absl::StrCat(i)}}), password});
  }
  return users;
}

absl::StatusOr<std::vector<User>> ReadUsersFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<User> users;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t sep = line.find_first_of(": \t");
    if (sep == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line lacks a password"));
    }
    users.push_back({line.substr(0, sep), line.substr(sep + 1)});
    if (users.size() > kMaxUsers) return absl::InvalidArgumentError("too many users");
  }
  if (users.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no users"));
  return users;
}

absl::StatusOr<Options> ParseOptions(int argc, char** argv) {
  Options o;
  std::string users_pattern, password, users_file;
  int user_count = 0;
  std::optional<bool> check_state;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::string_view a : args) {
    if (a == "--help" || a == "-h") return absl::NotFoundError(Usage());
  }
  if (args.empty() || args[0].substr(0, 2) == "--") {
    return absl::InvalidArgumentError("missing MODE\n" + Usage());
  }
  o.mode = std::string(args[0]);
  if (o.mode != "smtp" && o.mode != "lmtp" && o.mode != "imap" && o.mode != "pop3" &&
      o.mode != "idle") {
    return absl::InvalidArgumentError(absl::StrCat("unknown mode '", o.mode, "'"));
  }
  for (size_t i = 1; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.substr(0, 2) != "--") return absl::InvalidArgumentError(absl::StrCat("unexpected '", AV(a), "'"));
    a.remove_prefix(2);
    size_t eq = a.find('=');
    std::string key(a.substr(0, eq));
    std::string_view v = eq == std::string_view::npos ? std::string_view() : a.substr(eq + 1);
    bool ok = true;
    auto num = [&](auto* out) { ok = absl::SimpleAtoi(AV(v), out); };
    auto dbl = [&](double* out) { ok = absl::SimpleAtod(AV(v), out); };
    if (key == "target") o.target_text = std::string(v);
    else if (key == "connections") num(&o.connections);
    else if (key == "duration") dbl(&o.duration_s);
    else if (key == "rate") dbl(&o.rate);
    else if (key == "threads") num(&o.threads);
    else if (key == "max-ops") num(&o.max_ops);
    else if (key == "timeout") dbl(&o.timeout_s);
    else if (key == "json") ok = ParseBool(v, &o.json);
    else if (key == "report") o.report = std::string(v);
    else if (key == "server-pid") num(&o.server_pid);
    else if (key == "users") users_pattern = std::string(v);
    else if (key == "password") password = std::string(v);
    else if (key == "user-count") num(&user_count);
    else if (key == "users-file") users_file = std::string(v);
    else if (key == "allow-remote") ok = ParseBool(v, &o.allow_remote);
    else if (key == "messages-per-connection") num(&o.messages_per_connection);
    else if (key == "recipients") num(&o.recipients);
    else if (key == "size") o.size = std::string(v);
    else if (key == "pipelining") ok = ParseBool(v, &o.pipelining);
    else if (key == "new-connection") ok = ParseBool(v, &o.new_connection_per_message);
    else if (key == "from") o.mail_from = std::string(v);
    else if (key == "helo") o.helo = std::string(v);
    else if (key == "mix") o.mix = std::string(v);
    else if (key == "mailbox") o.mailbox = std::string(v);
    else if (key == "check-state") {
      bool b;
      ok = ParseBool(v, &b);
      check_state = b;
    }
    else if (key == "dele") ok = ParseBool(v, &o.dele);
    else if (key == "idle-protocol") o.idle_protocol = std::string(v);
    else if (key == "spread-sources") ok = ParseBool(v, &o.spread_sources);
    else if (key == "deliver-rate") dbl(&o.deliver_rate);
    else if (key == "smtp-target") o.smtp_target_text = std::string(v);
    else if (key == "deliver-delay") dbl(&o.deliver_delay_s);
    else if (key == "deliver-count") num(&o.deliver_count);
    else return absl::InvalidArgumentError(absl::StrCat("unknown option --", key));
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("bad value for --", key));
  }
  if (o.target_text.empty()) return absl::InvalidArgumentError("--target=HOST:PORT is required");
  auto t = engine::SocketAddress::Parse(o.target_text);
  if (!t.ok()) return t.status();
  o.target = *t;
  if (!o.allow_remote && !IsLoopback(o.target)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target ", o.target_text, " is not loopback; pass --allow-remote to load it"));
  }
  if (o.connections < 1 || o.connections > kMaxConnections) {
    return absl::InvalidArgumentError(absl::StrCat("--connections must be 1..", kMaxConnections));
  }
  if (o.threads < 1 || o.threads > kMaxThreads) {
    return absl::InvalidArgumentError(absl::StrCat("--threads must be 1..", kMaxThreads));
  }
  if (!(o.duration_s > 0 && o.duration_s <= kMaxDuration)) {
    return absl::InvalidArgumentError("--duration must be in (0, 3600]");
  }
  if (o.rate < 0 || o.rate > 10'000'000) return absl::InvalidArgumentError("bad --rate");
  if (!(o.timeout_s > 0 && o.timeout_s <= 600)) return absl::InvalidArgumentError("bad --timeout");
  if (o.max_ops < 1) return absl::InvalidArgumentError("bad --max-ops");
  if (o.messages_per_connection < 1 || o.messages_per_connection > 1000000) {
    return absl::InvalidArgumentError("bad --messages-per-connection");
  }
  if (o.recipients < 1 || o.recipients > 1000) return absl::InvalidArgumentError("bad --recipients");
  if (o.idle_protocol != "imap" && o.idle_protocol != "smtp") {
    return absl::InvalidArgumentError("--idle-protocol is imap or smtp");
  }
  if (!(o.deliver_rate >= 0 && o.deliver_rate <= kMaxDeliverRate)) {
    return absl::InvalidArgumentError(absl::StrCat("--deliver-rate must be 0..", kMaxDeliverRate));
  }
  if (!(o.deliver_delay_s >= 0 && o.deliver_delay_s <= kMaxDuration) || o.deliver_count < 0 ||
      o.deliver_count > 100'000'000) {
    return absl::InvalidArgumentError("bad --deliver-delay or --deliver-count");
  }
  if (o.deliver_rate > 0) {
    if (o.mode != "idle" || o.idle_protocol != "imap") {
      return absl::InvalidArgumentError("--deliver-rate needs idle mode over IMAP");
    }
    if (o.smtp_target_text.empty()) {
      return absl::InvalidArgumentError("--deliver-rate needs --smtp-target=HOST:PORT");
    }
    auto st = engine::SocketAddress::Parse(o.smtp_target_text);
    if (!st.ok()) return st.status();
    o.smtp_target = *st;
    if (!o.allow_remote && !IsLoopback(o.smtp_target)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--smtp-target ", o.smtp_target_text, " is not loopback; pass --allow-remote"));
    }
  }
  if (o.mode == "imap") {
    bool needed = MixNeedsStateCheck(ResolveImapMix(o.mix));
    if (needed && check_state == false) {
      return absl::InvalidArgumentError("this --mix needs --check-state");
    }
    o.check_state = check_state.value_or(needed);
  } else if (check_state.value_or(false)) {
    return absl::InvalidArgumentError("--check-state is for imap mode");
  }
  if (!users_file.empty()) {
    auto u = ReadUsersFile(users_file);
    if (!u.ok()) return u.status();
    o.users = std::move(*u);
  } else if (!users_pattern.empty()) {
    auto u = ExpandUsers(users_pattern, password, user_count ? user_count : o.connections);
    if (!u.ok()) return u.status();
    o.users = std::move(*u);
  }
  bool needs_login = o.mode == "imap" || o.mode == "pop3" ||
                     (o.mode == "idle" && o.idle_protocol == "imap");
  if (o.users.empty()) {
    if (needs_login) {
      return absl::InvalidArgumentError("this mode logs in: give --users/--password or --users-file");
    }
    o.users.push_back({"postmaster@localhost", ""});
  }
  return o;
}

}  // namespace ringmail::ringbench
