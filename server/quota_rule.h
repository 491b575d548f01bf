// Quota limits from a passwd-file entry's extra fields, in Dovecot's userdb
// syntax (doc.dovecot.org, Quota configuration, "quota rules"):
//
//   userdb_quota_rule=*:storage=1G userdb_quota_rule2=*:messages=10000
//
// The "userdb_" prefix is optional and any quota_rule<N> may follow
// quota_rule. A rule is "<mailbox mask>:<limit>[:<limit>...]"; only the
// default rule (mask "*" or "?") sets the user's limits. Per-mailbox rules
// ("Trash:storage=+100M", "Trash:ignore") are valid Dovecot settings that
// ringmail does not apply: they are returned in `ignored`.
//
// Limits, as Dovecot reads them:
//   storage=<n>[unit]   bytes; without a unit <n> is in KILObytes (Dovecot)
//   bytes=<n>[unit]     bytes; without a unit <n> is in bytes
//   messages=<n>[unit]  messages (a unit multiplies, as in Dovecot)
//   backend=<def>       a Maildir++ definition "<n>S,<n>C", or NOQUOTA
// Units B K M G T (powers of 1024, either case). 0 means unlimited. A later
// field overrides an earlier one for the same limit.
//
// Pure and thread-safe.
#ifndef RINGMAIL_SERVER_QUOTA_RULE_H_
#define RINGMAIL_SERVER_QUOTA_RULE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringmail::server {

struct UserQuotaRules {
  std::optional<uint64_t> bytes;     // set by a rule; 0 = unlimited
  std::optional<uint64_t> messages;  // set by a rule; 0 = unlimited
  std::vector<std::string> ignored;  // "key=value" of rules not applied
};

// True for "quota_rule", "quota_rule2", "userdb_quota_rule7", ...
bool IsQuotaRuleKey(std::string_view key);

// The rules among `extra_fields` (key, value). InvalidArgument naming the
// field for a malformed rule: no ':', an unknown limit name or unit, a
// negative, relative ('+'/'-') or percentage limit in the default rule, or
// a value above 2^62.
absl::StatusOr<UserQuotaRules> ParseUserQuotaRules(
    absl::Span<const std::pair<std::string, std::string>> extra_fields);

// "<n>[B|K|M|G|T]"; without a unit, <n> * `default_unit`. InvalidArgument
// for anything else or a result above 2^62.
absl::StatusOr<uint64_t> ParseQuotaAmount(std::string_view text,
                                          uint64_t default_unit);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_QUOTA_RULE_H_
