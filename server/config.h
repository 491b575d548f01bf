// ringmaild configuration: embedded defaults, an optional TOML file, then
// command-line flags, in that order of precedence (later wins).
//
// Every key, its default and its meaning are documented in docs/config.md.
#ifndef RINGMAIL_SERVER_CONFIG_H_
#define RINGMAIL_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ringmail::server {

struct SmtpConfig {
  std::vector<std::string> listen = {"127.0.0.1:2525"};
  uint64_t max_message_size = 50ull << 20;  // advertised in EHLO SIZE
  uint32_t max_recipients = 1000;
  uint32_t max_errors = 20;
  uint32_t max_line_length = 1000;          // body text line, incl. CRLF
  absl::Duration idle_timeout = absl::Minutes(5);
  // A session that has not authenticated is closed (421 4.4.2) this long
  // after it connected, however busy: idle_timeout alone lets a client
  // that sends a byte now and then hold a connection slot for ever.
  absl::Duration max_session_time = absl::Minutes(30);
  uint32_t max_connections = 10000;         // per service, all cores together
  uint32_t max_connections_per_ip = 100;
  // Submission (RFC 6409, STARTTLS) and submissions (RFC 8314, implicit
  // TLS): AUTH required before MAIL. Empty list: off.
  std::vector<std::string> submission_listen = {"127.0.0.1:1587"};
  std::vector<std::string> smtps_listen = {"127.0.0.1:1465"};
  // RFC 6409 §6.1: authenticated clients may use any MAIL FROM (else only
  // their own address or <>; 553 5.7.1).
  bool allow_any_sender = false;
  // LMTP (RFC 2033), local delivery only. Off by default (empty): LMTP has
  // no authentication and must not face the network.
  std::vector<std::string> lmtp_listen;
};

// TLS for every protocol. No certificate configured: TLS is off (no
// STARTTLS/STLS advertised, implicit-TLS listeners not opened).
struct TlsConfig {
  std::string cert;  // PEM certificate chain, leaf first
  std::string key;   // PEM private key of the leaf
  absl::Duration ticket_rotation = absl::Hours(12);  // session-ticket keys
  bool allow_tls12 = true;                           // else TLS 1.3 only
  bool enabled() const { return !cert.empty(); }
};

// Authentication policy shared by SMTP AUTH, IMAP and POP3.
struct AuthConfig {
  // PLAIN/LOGIN (and IMAP LOGIN, POP3 USER/PASS) without TLS are allowed
  // only from these networks (CIDR), unless allow_plaintext_off_tls.
  std::vector<std::string> trusted_networks = {"127.0.0.0/8", "::1/128"};
  bool allow_plaintext_off_tls = false;
  // Failed logins per client IP: after max_failures within failure_window
  // the IP is refused until the window passes; each failure's reply is
  // delayed by failure_delay * 2^(n-1), at most 16 * failure_delay.
  uint32_t max_failures = 10;
  absl::Duration failure_window = absl::Minutes(10);
  absl::Duration failure_delay = absl::Milliseconds(500);
};

struct ImapConfig {
  std::vector<std::string> listen = {"127.0.0.1:1143"};
  // IMAPS (implicit TLS, RFC 8314); opened only when tls.cert is set.
  std::vector<std::string> imaps_listen = {"127.0.0.1:1993"};
  absl::Duration idle_timeout = absl::Minutes(30);  // RFC 3501 §5.4 minimum
  // Before login: counted from the connection, not reset by activity
  // (Dovecot's login processes do the same).
  absl::Duration login_timeout = absl::Minutes(3);
  uint64_t max_message_size = 50ull << 20;          // APPEND literal
  char hierarchy_delimiter = '/';                   // shown to clients
  uint32_t max_connections = 10000;                 // all cores together
  uint32_t max_connections_per_ip = 100;
};

struct Pop3Config {
  std::vector<std::string> listen = {"127.0.0.1:1110"};
  // POP3S (implicit TLS, RFC 8314); opened only when tls.cert is set.
  std::vector<std::string> pop3s_listen = {"127.0.0.1:1995"};
  absl::Duration idle_timeout = absl::Minutes(10);  // RFC 1939 §3 minimum
  absl::Duration login_timeout = absl::Minutes(3);  // from connect, as IMAP's
  std::string uidl_format = "%08Xu%08Xv";           // Dovecot's default
  uint32_t max_connections = 10000;                 // all cores together
  uint32_t max_connections_per_ip = 100;
};

// Outbound relay (docs/queue.md). Per-destination limits apply per core:
// each core runs its own queue and connections (shared-nothing), so a
// destination sees at most `cores` times these figures.
struct RelayPolicy {
  uint32_t max_connections = 10;             // concurrent sessions
  uint32_t max_messages_per_connection = 100;
  uint32_t max_messages_per_minute = 0;      // 0: unlimited
  std::string bind_address;                  // source IP; "": kernel's choice
  std::string tls = "opportunistic";          // none | opportunistic | required
};

struct RelayConfig {
  // Clients that may relay without AUTH (Postfix's mynetworks). Empty by
  // default: only authenticated submission relays.
  std::vector<std::string> trusted_networks;
  std::vector<std::string> dns_servers;      // IP[:PORT]; empty: resolv.conf
  uint16_t port = 25;                        // remote SMTP port
  // Smarthost "host", "host:port" or "[ip]:port": every message goes there
  // instead of to the MX hosts (Postfix's relayhost).
  std::string relayhost;
  // Delays between attempts; the last one repeats (Postfix-like: first
  // retry after minutes, then every 30 minutes).
  std::vector<absl::Duration> retry_schedule = {
      absl::Minutes(5), absl::Minutes(10), absl::Minutes(20), absl::Minutes(30)};
  absl::Duration queue_lifetime = absl::Hours(5 * 24);  // then bounce
  absl::Duration delay_warning = absl::Hours(4);        // 0: never
  absl::Duration connect_timeout = absl::Seconds(30);
  absl::Duration command_timeout = absl::Minutes(5);    // per server reply
  // A 421, or this many deferrals in a row, backs the destination off.
  absl::Duration backoff = absl::Minutes(5);
  uint32_t backoff_after_deferrals = 5;
  uint32_t max_connections = 1000;           // outbound sessions per core
  RelayPolicy default_policy;
  std::vector<std::pair<std::string, RelayPolicy>> destinations;  // by domain
  std::string destination_policy_text;       // as configured; parsed at finalize
  // Trust anchors (PEM bundle) for destinations with tls = verify.
  std::string tls_ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string control_socket;                // default <data_dir>/ringmail.sock
  std::string queue_dir;                     // default <data_dir>/queue
};

// Per-user quota defaults (server/quota_service.h); a user's passwd-file
// quota_rule overrides them. 0 = unlimited.
struct QuotaConfig {
  uint64_t storage = 0;   // bytes
  uint64_t messages = 0;
};

struct Config {
  std::string hostname;                     // default: gethostname()
  std::string data_dir = "./var";
  std::string passwd_file;                  // default: <data_dir>/passwd
  std::string mail_location;                // default: <data_dir>/mail/%d/%n/Maildir
  std::vector<std::string> local_domains;   // in addition to passwd-file domains
  // Where RCPT TO:<Postmaster> (no domain, RFC 5321 §4.5.1) delivers: a
  // local mailbox. Empty: postmaster@ the host name or a parent domain of
  // it, else of the first local domain that has one.
  std::string postmaster;
  // Per-IP connection limits count an IPv6 client by this prefix: one
  // subscriber usually gets a whole /64, and could otherwise open
  // max_connections_per_ip from each of its 2^64 addresses.
  uint32_t connection_ipv6_prefix = 64;
  uint32_t threads = 0;                     // 0: one per online CPU
  std::string ports_file;                   // written once listeners are ready
  absl::Duration shutdown_grace = absl::Seconds(30);
  // Engine sizing.
  uint32_t ring_entries = 1024;
  uint32_t recv_buffers = 1024;             // per core, power of two
  uint32_t recv_buffer_size = 16384;
  // io-wq workers per core for blocking file work (0: kernel default).
  uint32_t max_file_workers = 4;
  // Core threads (and their io-wq workers) run SCHED_BATCH.
  bool sched_batch = true;
  std::string log_level = "info";
  // Started as root, ringmaild drops to `user` (and `group`; empty: the
  // user's primary group) once its listeners are bound and its passwd-file
  // and TLS key are read (server/privileges.h). Root without `user` refuses
  // to start unless `allow_root` says so on purpose.
  std::string user;
  std::string group;
  bool allow_root = false;
  // Delivery durability (docs/durability.md): "journal" (per-core
  // write-ahead log, one fdatasync per batch, syncfs checkpoints) or
  // "fsync" (fdatasync every file + fsync its directory per batch).
  std::string durability = "journal";
  uint64_t journal_size = 64ull << 20;      // bytes per core
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // Group-commit delay while other messages of the core are in progress.
  absl::Duration commit_delay = absl::Milliseconds(1);
  SmtpConfig smtp;
  ImapConfig imap;
  Pop3Config pop3;
  TlsConfig tls;
  AuthConfig auth;
  RelayConfig relay;
  QuotaConfig quota;
};

// Builds the configuration from argv: flags are --key=value (see
// docs/config.md); --config=FILE names a TOML file applied before the other
// flags. Returns InvalidArgument with one line naming the offending key,
// flag or file on any error. `--help` yields a NotFound status whose message
// is the usage text.
absl::StatusOr<Config> LoadConfig(int argc, char** argv);

// Fills defaults that depend on other keys (hostname, passwd_file, ...) and
// validates ranges. Called by LoadConfig; exposed for tests.
absl::Status FinalizeConfig(Config& config);

// Usage text for --help.
std::string Usage();

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_CONFIG_H_
