#include "server/quota_rule.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringmail::server {
namespace {

// Same bound as storage::kMaxQuotaValue (maildirsize figures).
constexpr uint64_t kMaxAmount = uint64_t{1} << 62;

absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Bad(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("quota rule '", A(field), "': ", A(why)));
}

// "<n>S,<n>C" (Maildir++ definition, either part optional) or NOQUOTA.
absl::Status ParseBackendRule(std::string_view field, std::string_view def,
                              UserQuotaRules* out) {
  if (def == "NOQUOTA") {
    out->bytes = 0;
    out->messages = 0;
    return absl::OkStatus();
  }
  while (true) {
    size_t comma = def.find(',');
    std::string_view item = def.substr(0, comma);
    if (item.size() < 2) return Bad(field, "bad Maildir++ definition");
    char kind = item.back();
    absl::StatusOr<uint64_t> v = ParseQuotaAmount(item.substr(0, item.size() - 1), 1);
    if (!v.ok() || (kind != 'S' && kind != 'C') ||
        item[item.size() - 2] < '0' || item[item.size() - 2] > '9') {
      return Bad(field, "bad Maildir++ definition");
    }
    (kind == 'S' ? out->bytes : out->messages) = *v;
    if (comma == std::string_view::npos) return absl::OkStatus();
    def.remove_prefix(comma + 1);
  }
}

absl::Status ParseLimits(std::string_view field, std::string_view limits,
                         UserQuotaRules* out) {
  if (limits.substr(0, 8) == "backend=") {
    return ParseBackendRule(field, limits.substr(8), out);
  }
  while (true) {
    size_t colon = limits.find(':');
    std::string_view item = limits.substr(0, colon);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (!value.empty() && (value[0] == '+' || value[0] == '-')) {
      return Bad(field, "relative or negative limit in the default rule");
    }
    if (!value.empty() && value.back() == '%') {
      return Bad(field, "percentage limit in the default rule");
    }
    uint64_t unit;
    std::optional<uint64_t>* target;
    if (key == "storage") {
      unit = 1024;  // Dovecot: storage is in kilobytes without a unit
      target = &out->bytes;
    } else if (key == "bytes") {
      unit = 1;
      target = &out->bytes;
    } else if (key == "messages") {
      unit = 1;
      target = &out->messages;
    } else {
      return Bad(field, absl::StrCat("unknown limit '", A(key), "'"));
    }
    absl::StatusOr<uint64_t> v = ParseQuotaAmount(value, unit);
    if (!v.ok()) return Bad(field, std::string(v.status().message()));
    *target = *v;
    if (colon == std::string_view::npos) return absl::OkStatus();
    limits.remove_prefix(colon + 1);
  }
}

}  // namespace

bool IsQuotaRuleKey(std::string_view key) {
  constexpr std::string_view kPrefix = "userdb_";
  constexpr std::string_view kRule = "quota_rule";
  if (key.substr(0, kPrefix.size()) == kPrefix) key.remove_prefix(kPrefix.size());
  if (key.substr(0, kRule.size()) != kRule) return false;
  key.remove_prefix(kRule.size());
  if (key.size() > 4) return false;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

absl::StatusOr<uint64_t> ParseQuotaAmount(std::string_view text,
                                          uint64_t default_unit) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a number with an optional unit B, K, M, G or T, got '",
        A(text), "'"));
  };
  size_t digits = 0;
  uint64_t n = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    n = n * 10 + static_cast<uint64_t>(text[digits] - '0');
    if (n > kMaxAmount) return bad();
    ++digits;
  }
  if (digits == 0 || text.size() > digits + 1) return bad();
  uint64_t unit = default_unit;
  if (text.size() == digits + 1) {
    switch (text[digits]) {
      case 'b': case 'B': unit = 1; break;
      case 'k': case 'K': unit = uint64_t{1} << 10; break;
      case 'm': case 'M': unit = uint64_t{1} << 20; break;
      case 'g': case 'G': unit = uint64_t{1} << 30; break;
      case 't': case 'T': unit = uint64_t{1} << 40; break;
      default: return bad();
    }
  }
  if (n != 0 && unit > kMaxAmount / n) return bad();
  return n * unit;
}

absl::StatusOr<UserQuotaRules> ParseUserQuotaRules(
    absl::Span<const std::pair<std::string, std::string>> extra_fields) {
  UserQuotaRules rules;
  for (const auto& [key, value] : extra_fields) {
    if (!IsQuotaRuleKey(key)) continue;
    const std::string field = absl::StrCat(key, "=", value);
    size_t colon = value.find(':');
    if (colon == std::string::npos || colon + 1 == value.size()) {
      return Bad(field, "expected <mailbox>:<limit>=<value>");
    }
    std::string_view mask = std::string_view(value).substr(0, colon);
    if (mask != "*" && mask != "?") {
      rules.ignored.push_back(field);  // a per-mailbox rule
      continue;
    }
    absl::Status s =
        ParseLimits(field, std::string_view(value).substr(colon + 1), &rules);
    if (!s.ok()) return s;
  }
  return rules;
}

}  // namespace ringmail::server
