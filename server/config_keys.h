// The configuration key table's vocabulary, shared by config.cc (core keys)
// and config_relay.cc (relay keys). Internal to server/config.
#ifndef RINGMAIL_SERVER_CONFIG_KEYS_H_
#define RINGMAIL_SERVER_CONFIG_KEYS_H_

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "server/config.h"

namespace ringmail::server::config_internal {

inline absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

// Every configuration key: its TOML path, its flag, and how to set it from
// text. TOML values are converted to the same text form flags use, so each
// key has exactly one parser.
struct KeyDef {
  const char* toml_key;  // "smtp.max_recipients"
  const char* flag;      // "max_recipients"
  const char* help;
  std::function<absl::Status(Config&, std::string_view)> set;
};

inline absl::Status ParseUint(std::string_view text, uint64_t max, uint64_t* out) {
  uint64_t v;
  if (!absl::SimpleAtoi(AV(text), &v) || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an integer from 0 to ", max, ", got '",
                     std::string(text), "'"));
  }
  *out = v;
  return absl::OkStatus();
}

template <typename T>
std::function<absl::Status(Config&, std::string_view)> Uint(T Config::*field) {
  return [field](Config& c, std::string_view t) {
    uint64_t v;
    absl::Status s = ParseUint(t, std::numeric_limits<T>::max(), &v);
    if (s.ok()) c.*field = static_cast<T>(v);
    return s;
  };
}

template <typename T>
std::function<absl::Status(Config&, std::string_view)> SmtpUint(
    T SmtpConfig::*field) {
  return [field](Config& c, std::string_view t) {
    uint64_t v;
    absl::Status s = ParseUint(t, std::numeric_limits<T>::max(), &v);
    if (s.ok()) c.smtp.*field = static_cast<T>(v);
    return s;
  };
}

// "300" (seconds), "300s", "5m", "1h30m".
inline absl::Status ParseDurationText(std::string_view t, absl::Duration* out) {
  uint64_t secs;
  if (absl::SimpleAtoi(AV(t), &secs)) {
    *out = absl::Seconds(secs);
    return absl::OkStatus();
  }
  if (!absl::ParseDuration(AV(t), out) || *out < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a duration such as 300, \"300s\" or \"5m\", got '",
        std::string(t), "'"));
  }
  return absl::OkStatus();
}

inline std::function<absl::Status(Config&, std::string_view)> Str(
    std::string Config::*field) {
  return [field](Config& c, std::string_view t) {
    c.*field = std::string(t);
    return absl::OkStatus();
  };
}

inline absl::Status ParseBool(std::string_view t, bool* out) {
  if (t == "true" || t == "1" || t == "yes") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "no") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("expected true or false, got '", std::string(t), "'"));
  }
  return absl::OkStatus();
}

inline std::vector<std::string> SplitList(std::string_view t) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(AV(t), ',', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripAsciiWhitespace(part));
  }
  return out;
}

// The relay's keys (config_relay.cc).
const std::vector<KeyDef>& RelayKeys();
// Relay defaults that depend on other keys; parses destination_policy.
absl::Status FinalizeRelayConfig(Config& c);

}  // namespace ringmail::server::config_internal

#endif  // RINGMAIL_SERVER_CONFIG_KEYS_H_
