// The relay's configuration keys (docs/config.md, "Relay").
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "server/config_keys.h"

namespace ringmail::server::config_internal {
namespace {

// Limits on what a config may ask for, so a typo cannot make the queue
// retry every millisecond or keep mail for a century.
constexpr size_t kMaxRetrySteps = 32;
constexpr absl::Duration kMinRetryDelay = absl::Seconds(1);
constexpr absl::Duration kMaxQueueLifetime = absl::Hours(24 * 60);

absl::Status ParsePort(std::string_view t, uint16_t* out) {
  uint64_t v;
  absl::Status s = ParseUint(t, 65535, &v);
  if (s.ok() && v == 0) s = absl::InvalidArgumentError("port must not be 0");
  if (s.ok()) *out = static_cast<uint16_t>(v);
  return s;
}

// "verify" is Postfix's smtp_tls_security_level=verify: STARTTLS required,
// the chain must lead to relay.tls_ca_file and the certificate must name the
// MX host (the name found in DNS, not the mail domain).
absl::Status ParseTlsPolicy(std::string_view t, std::string* out) {
  if (t != "none" && t != "opportunistic" && t != "required" && t != "verify") {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected none, opportunistic, required or verify, got '", std::string(t), "'"));
  }
  *out = std::string(t);
  return absl::OkStatus();
}

// One field of a per-destination policy, "key=value".
absl::Status SetPolicyField(RelayPolicy& p, std::string_view field) {
  size_t eq = field.find('=');
  if (eq == std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected key=value, got '", std::string(field), "'"));
  }
  std::string_view key = field.substr(0, eq);
  std::string_view value = field.substr(eq + 1);
  uint64_t v = 0;
  if (key == "max_connections" || key == "max_messages_per_connection" ||
      key == "max_messages_per_minute") {
    if (absl::Status s = ParseUint(value, 1000000, &v); !s.ok()) return s;
    if (key != "max_messages_per_minute" && v == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(key), " must be at least 1"));
    }
    (key == "max_connections"               ? p.max_connections
     : key == "max_messages_per_connection" ? p.max_messages_per_connection
                                            : p.max_messages_per_minute) =
        static_cast<uint32_t>(v);
    return absl::OkStatus();
  }
  if (key == "bind_address") {
    p.bind_address = std::string(value);
    return absl::OkStatus();
  }
  if (key == "tls") return ParseTlsPolicy(value, &p.tls);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown destination setting '", std::string(key), "'"));
}

// "example.com:max_connections=2;max_messages_per_minute=60,other.test:..."
// Fields not named inherit the default policy (hence parsed at finalize
// time, once every default key has been applied).
absl::Status ParseDestinations(Config& c, std::string_view t) {
  c.relay.destinations.clear();
  for (const std::string& entry : SplitList(t)) {
    size_t colon = entry.find(':');
    if (colon == std::string::npos || colon == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected DOMAIN:key=value;..., got '", entry, "'"));
    }
    std::string domain = absl::AsciiStrToLower(entry.substr(0, colon));
    RelayPolicy policy = c.relay.default_policy;
    for (absl::string_view f :
         absl::StrSplit(absl::string_view(entry).substr(colon + 1), ';',
                        absl::SkipWhitespace())) {
      std::string field(absl::StripAsciiWhitespace(f));
      if (absl::Status s = SetPolicyField(policy, field); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(domain, ": ", s.message()));
      }
    }
    c.relay.destinations.emplace_back(std::move(domain), std::move(policy));
  }
  return absl::OkStatus();
}

absl::Status ParseRetrySchedule(Config& c, std::string_view t) {
  std::vector<absl::Duration> steps;
  for (const std::string& part : SplitList(t)) {
    absl::Duration d;
    if (absl::Status s = ParseDurationText(part, &d); !s.ok()) return s;
    if (d < kMinRetryDelay) {
      return absl::InvalidArgumentError("retry delays must be at least 1s");
    }
    steps.push_back(d);
  }
  if (steps.empty() || steps.size() > kMaxRetrySteps) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected 1 to ", kMaxRetrySteps, " delays"));
  }
  c.relay.retry_schedule = std::move(steps);
  return absl::OkStatus();
}

template <typename T>
std::function<absl::Status(Config&, std::string_view)> PolicyUint(
    T RelayPolicy::*field, uint64_t min) {
  return [field, min](Config& c, std::string_view t) {
    uint64_t v;
    absl::Status s = ParseUint(t, 1000000, &v);
    if (s.ok() && v < min) {
      s = absl::InvalidArgumentError(absl::StrCat("must be at least ", min));
    }
    if (s.ok()) c.relay.default_policy.*field = static_cast<T>(v);
    return s;
  };
}

std::function<absl::Status(Config&, std::string_view)> RelayDuration(
    absl::Duration RelayConfig::*field) {
  return [field](Config& c, std::string_view t) {
    return ParseDurationText(t, &(c.relay.*field));
  };
}

}  // namespace

absl::Status FinalizeRelayConfig(Config& c) {
  if (c.relay.control_socket.empty()) {
    c.relay.control_socket = c.data_dir + "/ringmail.sock";
  }
  if (c.relay.queue_dir.empty()) c.relay.queue_dir = c.data_dir + "/queue";
  if (absl::Status s = ParseDestinations(c, c.relay.destination_policy_text);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("relay.destination_policy: ", s.message()));
  }
  // A verify policy without readable trust anchors would defer every
  // message for that destination: refuse to start instead.
  bool verify = c.relay.default_policy.tls == "verify";
  for (const auto& [domain, policy] : c.relay.destinations) {
    verify = verify || policy.tls == "verify";
  }
  if (verify && (c.relay.tls_ca_file.empty() ||
                 access(c.relay.tls_ca_file.c_str(), R_OK) != 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "relay.tls_ca_file: tls = verify needs a readable CA file, got '",
        c.relay.tls_ca_file, "'"));
  }
  return absl::OkStatus();
}

const std::vector<KeyDef>& RelayKeys() {
  static const std::vector<KeyDef> keys = {
      {"relay.trusted_networks", "trusted_networks",
       "CIDRs that may relay without AUTH (default: none)",
       [](Config& c, std::string_view t) {
         c.relay.trusted_networks = SplitList(t);
         return absl::OkStatus();
       }},
      {"relay.dns_servers", "dns_servers",
       "DNS servers IP[:PORT],... for MX lookups (default: resolv.conf)",
       [](Config& c, std::string_view t) {
         c.relay.dns_servers = SplitList(t);
         return absl::OkStatus();
       }},
      {"relay.port", "relay_port", "TCP port of remote SMTP servers (25)",
       [](Config& c, std::string_view t) { return ParsePort(t, &c.relay.port); }},
      {"relay.relayhost", "relayhost",
       "smarthost host[:port] or [ip]:port for all outbound mail (default: MX)",
       [](Config& c, std::string_view t) {
         c.relay.relayhost = std::string(t);
         return absl::OkStatus();
       }},
      {"relay.retry_schedule", "retry_schedule",
       "delays between attempts, e.g. \"5m,10m,20m,30m\" (last repeats)",
       [](Config& c, std::string_view t) { return ParseRetrySchedule(c, t); }},
      {"relay.queue_lifetime", "queue_lifetime",
       "how long to retry before bouncing, e.g. 432000 or \"5d\"... in s/m/h",
       [](Config& c, std::string_view t) {
         absl::Status s = ParseDurationText(t, &c.relay.queue_lifetime);
         if (s.ok() && (c.relay.queue_lifetime <= absl::ZeroDuration() ||
                        c.relay.queue_lifetime > kMaxQueueLifetime)) {
           s = absl::InvalidArgumentError("must be between 1s and 60 days");
         }
         return s;
       }},
      {"relay.delay_warning", "delay_warning",
       "send a delay DSN after this long in the queue (0: never)",
       RelayDuration(&RelayConfig::delay_warning)},
      {"relay.connect_timeout", "relay_connect_timeout",
       "outbound TCP connect timeout", RelayDuration(&RelayConfig::connect_timeout)},
      {"relay.command_timeout", "relay_command_timeout",
       "how long to wait for each remote reply",
       RelayDuration(&RelayConfig::command_timeout)},
      {"relay.backoff", "relay_backoff",
       "pause for a destination after a 421 or a run of deferrals",
       RelayDuration(&RelayConfig::backoff)},
      {"relay.backoff_after_deferrals", "relay_backoff_after_deferrals",
       "deferrals in a row that back a destination off",
       [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, 1000000, &v);
         if (s.ok()) c.relay.backoff_after_deferrals = static_cast<uint32_t>(v);
         return s;
       }},
      {"relay.max_connections", "relay_max_connections",
       "outbound SMTP sessions per core, all destinations",
       [](Config& c, std::string_view t) {
         uint64_t v;
         absl::Status s = ParseUint(t, 1000000, &v);
         if (s.ok() && v == 0) s = absl::InvalidArgumentError("must be at least 1");
         if (s.ok()) c.relay.max_connections = static_cast<uint32_t>(v);
         return s;
       }},
      {"relay.destination_max_connections", "destination_max_connections",
       "default concurrent sessions per destination domain (per core)",
       PolicyUint(&RelayPolicy::max_connections, 1)},
      {"relay.destination_max_messages_per_connection",
       "destination_max_messages_per_connection",
       "default messages sent over one session before QUIT",
       PolicyUint(&RelayPolicy::max_messages_per_connection, 1)},
      {"relay.destination_max_messages_per_minute",
       "destination_max_messages_per_minute",
       "default messages per minute per destination (0: unlimited)",
       PolicyUint(&RelayPolicy::max_messages_per_minute, 0)},
      {"relay.bind_address", "relay_bind_address",
       "default source IP of outbound connections",
       [](Config& c, std::string_view t) {
         c.relay.default_policy.bind_address = std::string(t);
         return absl::OkStatus();
       }},
      {"relay.tls", "relay_tls",
       "outbound STARTTLS: none, opportunistic, required, verify",
       [](Config& c, std::string_view t) {
         return ParseTlsPolicy(t, &c.relay.default_policy.tls);
       }},
      {"relay.tls_ca_file", "relay_tls_ca_file",
       "PEM trust anchors for tls = verify (default: the system bundle)",
       [](Config& c, std::string_view t) {
         c.relay.tls_ca_file = std::string(t);
         return absl::OkStatus();
       }},
      {"relay.destination_policy", "destination_policy",
       "per-domain overrides DOMAIN:key=value;...,DOMAIN:... (keys: "
       "max_connections, max_messages_per_connection, max_messages_per_minute, "
       "bind_address, tls)",
       [](Config& c, std::string_view t) {
         c.relay.destination_policy_text = std::string(t);
         return absl::OkStatus();
       }},
      {"relay.control_socket", "control_socket",
       "Unix socket for ringctl (default <data_dir>/ringmail.sock)",
       [](Config& c, std::string_view t) {
         c.relay.control_socket = std::string(t);
         return absl::OkStatus();
       }},
      {"relay.queue_dir", "queue_dir", "outbound queue spool (default <data_dir>/queue)",
       [](Config& c, std::string_view t) {
         c.relay.queue_dir = std::string(t);
         return absl::OkStatus();
       }},
  };
  return keys;
}

}  // namespace ringmail::server::config_internal
