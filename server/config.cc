#include "server/config.h"

#include <unistd.h>

#include <functional>
#include <limits>
#include <toml.hpp>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "protocols/pop3/uidl.h"
#include "server/config_keys.h"

namespace ringmail::server {
namespace {

using namespace config_internal;  // NOLINT: the key-table vocabulary

const std::vector<KeyDef>& CoreKeys() {
  static const std::vector<KeyDef> keys = {
      {"hostname", "hostname", "name used in greetings and Received fields",
       Str(&Config::hostname)},
      {"data_dir", "data_dir", "directory for mail and state",
       Str(&Config::data_dir)},
      {"user", "user",
       "started as root: the user to run as once listeners are bound",
       Str(&Config::user)},
      {"group", "group", "started as root: the group to run as (default: the user's)",
       Str(&Config::group)},
      {"allow_root", "allow_root",
       "started as root without `user`: stay root instead of refusing to start",
       [](Config& c, std::string_view t) { return ParseBool(t, &c.allow_root); }},
      {"passwd_file", "passwd_file", "Dovecot-style passwd-file of users",
       Str(&Config::passwd_file)},
      {"mail_location", "mail_location",
       "Maildir template: %u user, %n local part, %d domain",
       Str(&Config::mail_location)},
      {"local_domains", "local_domains",
       "extra local domains (comma-separated)",
       [](Config& c, std::string_view t) {
         c.local_domains = SplitList(t);
         return absl::OkStatus();
       }},
      {"postmaster", "postmaster",
       "local mailbox for RCPT TO:<Postmaster> (default: postmaster@ a local domain)",
       Str(&Config::postmaster)},
      {"connection_ipv6_prefix", "connection_ipv6_prefix",
       "per-IP connection limits count IPv6 clients by this prefix length",
       Uint(&Config::connection_ipv6_prefix)},
      {"threads", "threads", "cores to run (0: all online CPUs)",
       Uint(&Config::threads)},
      {"ports_file", "ports_file", "file to write bound ports to when ready",
       Str(&Config::ports_file)},
      {"shutdown_grace", "shutdown_grace",
       "how long shutdown waits for sessions",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.shutdown_grace);
       }},
      {"log_level", "log_level", "debug, info, warning or error",
       Str(&Config::log_level)},
      {"storage.durability", "durability",
       "journal (per-core log + checkpoints) or fsync (per file)",
       Str(&Config::durability)},
      {"storage.journal_size", "journal_size",
       "bytes of journal ring per core (multiple of 4096, >= 1 MiB)",
       Uint(&Config::journal_size)},
      {"storage.checkpoint_interval", "checkpoint_interval",
       "journal checkpoint (syncfs) period, e.g. \"1s\" or \"500ms\"",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.checkpoint_interval);
       }},
      {"storage.commit_delay", "commit_delay",
       "group-commit wait for messages still arriving on the core, e.g. "
       "\"500us\"; 0 starts every batch at once",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.commit_delay);
       }},
      {"engine.ring_entries", "ring_entries", "io_uring SQ entries per core",
       Uint(&Config::ring_entries)},
      {"engine.recv_buffers", "recv_buffers",
       "provided receive buffers per core (power of two)",
       Uint(&Config::recv_buffers)},
      {"engine.recv_buffer_size", "recv_buffer_size",
       "bytes per receive buffer", Uint(&Config::recv_buffer_size)},
      {"engine.max_file_workers", "max_file_workers",
       "kernel io-wq workers per core for file work (0: kernel default)",
       Uint(&Config::max_file_workers)},
      {"engine.sched_batch", "sched_batch",
       "run core threads SCHED_BATCH (no preemption on wake-up)",
       [](Config& c, std::string_view t) {
         return ParseBool(t, &c.sched_batch);
       }},
      {"smtp.listen", "smtp_listen",
       "SMTP listen addresses ADDR:PORT (comma-separated, repeatable)",
       [](Config& c, std::string_view t) {
         c.smtp.listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"smtp.max_message_size", "max_message_size", "bytes; 552 5.3.4 above",
       SmtpUint(&SmtpConfig::max_message_size)},
      {"smtp.max_recipients", "max_recipients",
       "recipients per message; 452 4.5.3 above",
       SmtpUint(&SmtpConfig::max_recipients)},
      {"smtp.max_errors", "max_errors", "errors per session; 421 and close",
       SmtpUint(&SmtpConfig::max_errors)},
      {"smtp.max_line_length", "max_line_length",
       "body text line limit in octets incl. CRLF",
       SmtpUint(&SmtpConfig::max_line_length)},
      {"smtp.idle_timeout", "idle_timeout", "idle session timeout; 421",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.smtp.idle_timeout);
       }},
      {"smtp.max_session_time", "max_session_time",
       "a session not authenticated is closed this long after connecting",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.smtp.max_session_time);
       }},
      {"smtp.max_connections", "max_connections",
       "concurrent SMTP connections in total; 421 above",
       SmtpUint(&SmtpConfig::max_connections)},
      {"smtp.max_connections_per_ip", "max_connections_per_ip",
       "concurrent SMTP connections per client IP; 421 above",
       SmtpUint(&SmtpConfig::max_connections_per_ip)},
      // ---- TLS and authentication (issue 6)
      {"tls.cert", "tls_cert", "PEM certificate chain file (enables TLS)",
       [](Config& c, std::string_view t) {
         c.tls.cert = std::string(t);
         return absl::OkStatus();
       }},
      {"tls.key", "tls_key", "PEM private key file of the certificate",
       [](Config& c, std::string_view t) {
         c.tls.key = std::string(t);
         return absl::OkStatus();
       }},
      {"tls.ticket_rotation", "tls_ticket_rotation",
       "session-ticket key rotation period, e.g. \"12h\"",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.tls.ticket_rotation);
       }},
      {"tls.allow_tls12", "tls_allow_tls12", "allow TLS 1.2 (else 1.3 only)",
       [](Config& c, std::string_view t) {
         return ParseBool(t, &c.tls.allow_tls12);
       }},
      {"submission.listen", "submission_listen",
       "submission (STARTTLS, AUTH required) addresses ADDR:PORT",
       [](Config& c, std::string_view t) {
         c.smtp.submission_listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"smtps.listen", "smtps_listen",
       "submissions (implicit TLS, AUTH required) addresses ADDR:PORT",
       [](Config& c, std::string_view t) {
         c.smtp.smtps_listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"submission.allow_any_sender", "submission_allow_any_sender",
       "authenticated clients may use any MAIL FROM address",
       [](Config& c, std::string_view t) {
         return ParseBool(t, &c.smtp.allow_any_sender);
       }},
      {"lmtp.listen", "lmtp_listen",
       "LMTP (local delivery, no AUTH) addresses ADDR:PORT; default none",
       [](Config& c, std::string_view t) {
         c.smtp.lmtp_listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"auth.trusted_networks", "auth_trusted_networks",
       "CIDRs where plaintext AUTH is allowed without TLS (comma-separated)",
       [](Config& c, std::string_view t) {
         c.auth.trusted_networks = SplitList(t);
         return absl::OkStatus();
       }},
      {"auth.allow_plaintext_off_tls", "auth_allow_plaintext_off_tls",
       "allow plaintext AUTH from anywhere without TLS",
       [](Config& c, std::string_view t) {
         return ParseBool(t, &c.auth.allow_plaintext_off_tls);
       }},
      {"auth.max_failures", "auth_max_failures",
       "failed logins per client IP within auth.failure_window before refusal",
       [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, 65535, &v);
         if (s.ok()) c.auth.max_failures = static_cast<uint32_t>(v);
         return s;
       }},
      {"auth.failure_window", "auth_failure_window",
       "window for counting failed logins, e.g. \"10m\"",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.auth.failure_window);
       }},
      {"auth.failure_delay", "auth_failure_delay",
       "delay of the first failed-login reply; doubles per failure",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.auth.failure_delay);
       }},
      {"imap.listen", "imap_listen",
       "IMAP listen addresses ADDR:PORT (comma-separated, repeatable)",
       [](Config& c, std::string_view t) {
         c.imap.listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"imaps.listen", "imaps_listen",
       "IMAPS (implicit TLS) addresses ADDR:PORT; needs tls.cert",
       [](Config& c, std::string_view t) {
         c.imap.imaps_listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"imap.idle_timeout", "imap_idle_timeout",
       "IMAP autologout timer (RFC 3501 §5.4: at least 30 minutes)",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.imap.idle_timeout);
       }},
      {"imap.login_timeout", "imap_login_timeout",
       "time from connect to login before the connection is closed",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.imap.login_timeout);
       }},
      {"imap.max_message_size", "imap_max_message_size",
       "largest APPEND in bytes", [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, uint64_t{1} << 32, &v);
         if (s.ok()) c.imap.max_message_size = v;
         return s;
       }},
      {"imap.hierarchy_delimiter", "imap_hierarchy_delimiter",
       "folder hierarchy delimiter shown to clients: / or .",
       [](Config& c, std::string_view t) {
         if (t != "/" && t != ".") {
           return absl::InvalidArgumentError("expected \"/\" or \".\"");
         }
         c.imap.hierarchy_delimiter = t[0];
         return absl::OkStatus();
       }},
      {"imap.max_connections", "imap_max_connections",
       "concurrent IMAP connections in total", [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, UINT32_MAX, &v);
         if (s.ok()) c.imap.max_connections = static_cast<uint32_t>(v);
         return s;
       }},
      {"imap.max_connections_per_ip", "imap_max_connections_per_ip",
       "concurrent IMAP connections per client IP",
       [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, UINT32_MAX, &v);
         if (s.ok()) c.imap.max_connections_per_ip = static_cast<uint32_t>(v);
         return s;
       }},
      {"pop3.listen", "pop3_listen",
       "POP3 listen addresses ADDR:PORT (comma-separated, repeatable)",
       [](Config& c, std::string_view t) {
         c.pop3.listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"pop3s.listen", "pop3s_listen",
       "POP3S (implicit TLS) addresses ADDR:PORT; needs tls.cert",
       [](Config& c, std::string_view t) {
         c.pop3.pop3s_listen = SplitList(t);
         return absl::OkStatus();
       }},
      {"pop3.idle_timeout", "pop3_idle_timeout",
       "POP3 autologout timer (RFC 1939 §3: at least 10 minutes)",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.pop3.idle_timeout);
       }},
      {"pop3.login_timeout", "pop3_login_timeout",
       "time from connect to login before the connection is closed",
       [](Config& c, std::string_view t) {
         return ParseDurationText(t, &c.pop3.login_timeout);
       }},
      {"pop3.uidl_format", "pop3_uidl_format",
       "UIDL format: %u %v %f %%, e.g. %08Xu%08Xv (Dovecot's default)",
       [](Config& c, std::string_view t) {
         std::string err = ringmail::pop3::ValidateUidlFormat(t);
         if (!err.empty()) return absl::InvalidArgumentError(err);
         c.pop3.uidl_format = std::string(t);
         return absl::OkStatus();
       }},
      {"pop3.max_connections", "pop3_max_connections",
       "concurrent POP3 connections in total", [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, UINT32_MAX, &v);
         if (s.ok()) c.pop3.max_connections = static_cast<uint32_t>(v);
         return s;
       }},
      {"pop3.max_connections_per_ip", "pop3_max_connections_per_ip",
       "concurrent POP3 connections per client IP",
       [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, UINT32_MAX, &v);
         if (s.ok()) c.pop3.max_connections_per_ip = static_cast<uint32_t>(v);
         return s;
       }},
      // Quota defaults (server/quota_service.h); 2^62 bounds maildirsize.
      {"quota.storage", "quota_storage",
       "default per-user storage quota in bytes (0: unlimited)",
       [](Config& c, std::string_view t) {
         return ParseUint(t, uint64_t{1} << 62, &c.quota.storage);
       }},
      {"quota.messages", "quota_messages",
       "default per-user message count quota (0: unlimited)",
       [](Config& c, std::string_view t) {
         return ParseUint(t, uint64_t{1} << 62, &c.quota.messages);
       }},
  };
  return keys;
}

// Every key: the core table, then the relay's (config_relay.cc).
const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> keys = [] {
    std::vector<KeyDef> all = CoreKeys();
    const std::vector<KeyDef>& relay = RelayKeys();
    all.insert(all.end(), relay.begin(), relay.end());
    return all;
  }();
  return keys;
}

const KeyDef* FindByFlag(std::string_view flag) {
  for (const KeyDef& k : Keys()) {
    if (flag == k.flag) return &k;
  }
  return nullptr;
}

const KeyDef* FindByToml(std::string_view key) {
  for (const KeyDef& k : Keys()) {
    if (key == k.toml_key) return &k;
  }
  return nullptr;
}

// Renders a scalar or array-of-scalars TOML value as flag text.
absl::StatusOr<std::string> TomlText(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::string:
      return std::string(v.as_string().str);
    case toml::value_t::integer:
      if (v.as_integer() < 0) return absl::InvalidArgumentError("negative value");
      return absl::StrCat(v.as_integer());
    case toml::value_t::boolean:
      return std::string(v.as_boolean() ? "true" : "false");
    case toml::value_t::array: {
      std::vector<std::string> parts;
      for (const toml::value& e : v.as_array()) {
        if (!e.is_string()) return absl::InvalidArgumentError("expected strings");
        parts.push_back(e.as_string().str);
      }
      return absl::StrJoin(parts, ",");
    }
    default:
      return absl::InvalidArgumentError("unsupported value type");
  }
}

absl::Status ApplyTomlTable(Config& c, const toml::table& table,
                            const std::string& prefix, const std::string& file) {
  for (const auto& [name, value] : table) {
    std::string key = prefix.empty() ? name : absl::StrCat(prefix, ".", name);
    if (value.is_table()) {
      if (absl::Status s = ApplyTomlTable(c, value.as_table(), key, file); !s.ok()) {
        return s;
      }
      continue;
    }
    const KeyDef* def = FindByToml(key);
    if (def == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": unknown key '", key, "'"));
    }
    absl::StatusOr<std::string> text = TomlText(value);
    absl::Status s = text.ok() ? def->set(c, *text) : text.status();
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": key '", key, "': ", s.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyTomlFile(Config& c, const std::string& path) {
  try {
    toml::value data = toml::parse(path);
    return ApplyTomlTable(c, data.as_table(), "", path);
  } catch (const std::exception& e) {
    // toml11 messages span several lines; keep the first for the one-line error.
    std::string msg = e.what();
    std::string first = msg.substr(0, msg.find('\n'));
    return absl::InvalidArgumentError(
        absl::StrCat("config file ", path, ": ", first));
  }
}

}  // namespace

std::string Usage() {
  std::string out =
      "usage: ringmaild [--config=FILE] [--key=value ...]\n"
      "Flags override the config file; see docs/config.md.\n";
  absl::StrAppend(&out, "  --config=FILE  TOML configuration file\n");
  for (const KeyDef& k : Keys()) {
    absl::StrAppend(&out, "  --", k.flag, "=...  ", k.help, " [", k.toml_key, "]\n");
  }
  return out;
}

absl::Status FinalizeConfig(Config& c) {
  if (c.hostname.empty()) {
    char buf[256] = {0};
    if (gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') {
      c.hostname = "localhost";
    } else {
      c.hostname = buf;
    }
  }
  if (c.data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (!c.group.empty() && c.user.empty()) {
    return absl::InvalidArgumentError("group: set user too (group alone would keep the root user)");
  }
  // Mail locations must be absolute (they are expanded per user); anchor a
  // relative data_dir at the working directory once, at start-up.
  if (c.data_dir[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      return absl::InvalidArgumentError("data_dir: cannot resolve relative path");
    }
    std::string rel = c.data_dir.substr(0, 2) == "./" ? c.data_dir.substr(2) : c.data_dir;
    c.data_dir = absl::StrCat(cwd, "/", rel);
  }
  while (c.data_dir.size() > 1 && c.data_dir.back() == '/') c.data_dir.pop_back();
  if (c.passwd_file.empty()) c.passwd_file = c.data_dir + "/passwd";
  if (c.mail_location.empty()) c.mail_location = c.data_dir + "/mail/%d/%n/Maildir";
  if (absl::Status s = FinalizeRelayConfig(c); !s.ok()) return s;
  if (c.threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.threads = n > 0 ? static_cast<uint32_t>(n) : 1;
  }
  if (c.threads > 256) return absl::InvalidArgumentError("threads: at most 256");
  if (c.smtp.listen.empty()) {
    return absl::InvalidArgumentError("smtp_listen: at least one address is needed");
  }
  if (c.recv_buffers == 0 || (c.recv_buffers & (c.recv_buffers - 1)) != 0 ||
      c.recv_buffers > 32768) {
    return absl::InvalidArgumentError(
        "recv_buffers: must be a power of two from 1 to 32768");
  }
  if (c.recv_buffer_size < 512 || c.recv_buffer_size > (1u << 20)) {
    return absl::InvalidArgumentError("recv_buffer_size: must be 512..1048576");
  }
  if (c.ring_entries < 64 || c.ring_entries > 32768) {
    return absl::InvalidArgumentError("ring_entries: must be 64..32768");
  }
  if (c.smtp.max_line_length < 80) {
    return absl::InvalidArgumentError("max_line_length: at least 80");
  }
  if (c.smtp.max_recipients == 0) {
    return absl::InvalidArgumentError("max_recipients: must be at least 1");
  }
  if (c.smtp.max_connections == 0 || c.smtp.max_connections_per_ip == 0) {
    return absl::InvalidArgumentError(
        "max_connections, max_connections_per_ip: must be at least 1");
  }
  if (c.smtp.max_session_time < absl::Seconds(1)) {
    return absl::InvalidArgumentError("max_session_time: at least 1s");
  }
  if (c.imap.login_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("imap_login_timeout: at least 1s");
  }
  if (c.pop3.login_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("pop3_login_timeout: at least 1s");
  }
  // A /32 is already a whole provider's allocation; shorter would share
  // one count between unrelated networks.
  if (c.connection_ipv6_prefix < 32 || c.connection_ipv6_prefix > 128) {
    return absl::InvalidArgumentError("connection_ipv6_prefix: must be 32..128");
  }
  if (!c.postmaster.empty()) {
    const size_t at = c.postmaster.rfind('@');
    if (at == 0 || at == std::string::npos || at + 1 == c.postmaster.size()) {
      return absl::InvalidArgumentError(
          "postmaster: expected an address local@domain");
    }
  }
  if (c.durability != "journal" && c.durability != "fsync") {
    return absl::InvalidArgumentError("durability: must be journal or fsync");
  }
  if (c.journal_size < (1u << 20) || c.journal_size > (16ull << 30) ||
      c.journal_size % 4096 != 0) {
    return absl::InvalidArgumentError(
        "journal_size: must be a multiple of 4096 from 1 MiB to 16 GiB");
  }
  if (c.checkpoint_interval < absl::Milliseconds(10) ||
      c.checkpoint_interval > absl::Minutes(10)) {
    return absl::InvalidArgumentError("checkpoint_interval: must be 10ms..10m");
  }
  if (c.commit_delay > absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("commit_delay: must be 0..10ms");
  }
  if (c.pop3.max_connections == 0 || c.pop3.max_connections_per_ip == 0) {
    return absl::InvalidArgumentError(
        "pop3_max_connections, pop3_max_connections_per_ip: must be at least 1");
  }
  if (c.pop3.idle_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("pop3_idle_timeout: at least 1s");
  }
  if (c.tls.cert.empty() != c.tls.key.empty()) {
    return absl::InvalidArgumentError(
        "tls_cert, tls_key: set both (or neither, to turn TLS off)");
  }
  if (c.tls.ticket_rotation < absl::Minutes(1)) {
    return absl::InvalidArgumentError("tls_ticket_rotation: at least 1m");
  }
  if (c.auth.max_failures == 0) {
    return absl::InvalidArgumentError("auth_max_failures: at least 1");
  }
  if (c.auth.failure_window < absl::Seconds(1) ||
      c.auth.failure_window > absl::Hours(24 * 7)) {
    return absl::InvalidArgumentError("auth_failure_window: must be 1s..7d");
  }
  if (c.auth.failure_delay > absl::Minutes(1)) {
    return absl::InvalidArgumentError("auth_failure_delay: at most 1m");
  }
  if (c.log_level != "debug" && c.log_level != "info" &&
      c.log_level != "warning" && c.log_level != "error") {
    return absl::InvalidArgumentError(
        "log_level: must be debug, info, warning or error");
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfig(int argc, char** argv) {
  Config c;
  // The config file first, wherever --config appears, so flags override it.
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") return absl::NotFoundError(Usage());
    if (a.substr(0, 9) == "--config=") {
      if (absl::Status s = ApplyTomlFile(c, std::string(a.substr(9))); !s.ok()) {
        return s;
      }
    }
  }
  absl::flat_hash_set<std::string> listen_seen;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, 9) == "--config=") continue;
    if (a.substr(0, 2) != "--" || a.find('=') == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad argument '", std::string(a),
                       "': flags are --key=value (see --help)"));
    }
    std::string_view name = a.substr(2, a.find('=') - 2);
    std::string_view value = a.substr(a.find('=') + 1);
    const KeyDef* def = FindByFlag(name);
    if (def == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", std::string(name), " (see --help)"));
    }
    // --*_listen may repeat: the first replaces the file's list, later
    // ones add to it.
    std::vector<std::string>* list = name == "smtp_listen"   ? &c.smtp.listen
                                     : name == "imap_listen" ? &c.imap.listen
                                     : name == "pop3_listen" ? &c.pop3.listen
                                                             : nullptr;
    if (name == "submission_listen") list = &c.smtp.submission_listen;
    if (name == "smtps_listen") list = &c.smtp.smtps_listen;
    if (name == "lmtp_listen") list = &c.smtp.lmtp_listen;
    if (name == "imaps_listen") list = &c.imap.imaps_listen;
    if (name == "pop3s_listen") list = &c.pop3.pop3s_listen;
    std::vector<std::string> keep;
    if (list != nullptr && listen_seen.contains(std::string(name))) keep = *list;
    if (absl::Status s = def->set(c, value); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", std::string(name), ": ", s.message()));
    }
    if (list != nullptr) {
      keep.insert(keep.end(), list->begin(), list->end());
      *list = std::move(keep);
      listen_seen.insert(std::string(name));
    }
  }
  if (absl::Status s = FinalizeConfig(c); !s.ok()) return s;
  return c;
}

}  // namespace ringmail::server
