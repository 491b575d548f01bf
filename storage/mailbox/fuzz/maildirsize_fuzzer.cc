// libFuzzer: ParseMaildirsize on arbitrary maildirsize contents (appended
// to by ringmail, Dovecot, Courier, maildrop; writable by a user with shell
// access; read before every delivery to a user with a quota), checked
// against a reference parser written from the format in maildirsize.h with
// 128-bit arithmetic, then the Format and Assess/CheckQuota functions.
//
// Invariants: a failure is DataLoss; ParseMaildirsize accepts exactly what
// the reference accepts, with the same limits, usage and number of delta
// lines (so no figure wraps around); limits and usage are at most
// kMaxQuotaValue; Parse(FormatMaildirsize(l, u)) gives back l and u with
// one delta line, and a delta line appended with FormatMaildirsizeDelta
// adds exactly its figures; AssessMaildirsize recalculates for other limits
// or an unparsable file; CheckQuota says kTooBig exactly when the message
// alone exceeds the byte limit.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "storage/mailbox/maildirsize.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::storage::AssessMaildirsize;
using ringmail::storage::CheckQuota;
using ringmail::storage::FormatMaildirsize;
using ringmail::storage::FormatMaildirsizeDefinition;
using ringmail::storage::FormatMaildirsizeDelta;
using ringmail::storage::kMaildirsizeMaxBytes;
using ringmail::storage::kMaxQuotaValue;
using ringmail::storage::Maildirsize;
using ringmail::storage::MaildirsizeAction;
using ringmail::storage::ParseMaildirsize;
using ringmail::storage::QuotaLimits;
using ringmail::storage::QuotaUsage;
using ringmail::storage::QuotaVerdict;

using i128 = __int128;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// 1*DIGIT at the front of `s`, at most kMaxQuotaValue (in 128 bits, so
// no wrap-around can make a huge figure small).
std::optional<i128> Digits(std::string_view& s) {
  size_t i = 0;
  i128 v = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (v <= static_cast<i128>(kMaxQuotaValue)) v = v * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0 || v > static_cast<i128>(kMaxQuotaValue)) return std::nullopt;
  s.remove_prefix(i);
  return v;
}

std::optional<i128> Signed(std::string_view& s) {
  i128 sign = 1;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') sign = -1;
    s.remove_prefix(1);
  }
  std::optional<i128> v = Digits(s);
  if (!v) return std::nullopt;
  return sign * *v;
}

size_t Blanks(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && (s[n] == ' ' || s[n] == '\t')) ++n;
  s.remove_prefix(n);
  return n;
}

// The format of maildirsize.h: complete lines only; "<n>S,<n>C" (either
// part, any order, a repeated part wins) then "<signed> <signed>" lines
// whose running sums fit in int64 and end within [0, kMaxQuotaValue].
std::optional<Maildirsize> Reference(std::string_view data) {
  const size_t end = data.rfind('\n');
  if (end == std::string_view::npos) return std::nullopt;
  data = data.substr(0, end + 1);
  if (data.find('\0') != std::string_view::npos) return std::nullopt;
  Maildirsize out;
  size_t nl = data.find('\n');
  std::string_view def = data.substr(0, nl);
  data.remove_prefix(nl + 1);
  if (def.empty()) return std::nullopt;
  while (true) {
    const size_t comma = def.find(',');
    std::string_view item = def.substr(0, comma);
    std::optional<i128> v = Digits(item);
    if (!v || item.size() != 1) return std::nullopt;
    if (item[0] == 'S') {
      out.limits.bytes = static_cast<uint64_t>(*v);
    } else if (item[0] == 'C') {
      out.limits.messages = static_cast<uint64_t>(*v);
    } else {
      return std::nullopt;
    }
    if (comma == std::string_view::npos) break;
    def.remove_prefix(comma + 1);
  }
  i128 bytes = 0, messages = 0;
  while (!data.empty()) {
    nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    Blanks(line);
    std::optional<i128> b = Signed(line);
    if (!b || Blanks(line) == 0) return std::nullopt;
    std::optional<i128> m = Signed(line);
    if (!m) return std::nullopt;
    Blanks(line);
    if (!line.empty()) return std::nullopt;
    bytes += *b;
    messages += *m;
    if (bytes > INT64_MAX || bytes < INT64_MIN || messages > INT64_MAX ||
        messages < INT64_MIN) {
      return std::nullopt;
    }
    ++out.delta_lines;
  }
  if (bytes < 0 || messages < 0 || bytes > static_cast<i128>(kMaxQuotaValue) ||
      messages > static_cast<i128>(kMaxQuotaValue)) {
    return std::nullopt;
  }
  out.usage.bytes = static_cast<uint64_t>(bytes);
  out.usage.messages = static_cast<uint64_t>(messages);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint64_t message_bytes = uint64_t{data[0]} << (data[1] & 63);
  const uint64_t message_count = data[1] >> 6;
  const std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);

  const absl::StatusOr<Maildirsize> parsed = ParseMaildirsize(text);
  const std::optional<Maildirsize> ref = Reference(text);
  FUZZ_CHECK(parsed.ok() == ref.has_value());
  const QuotaLimits configured{1000, 10};
  if (!parsed.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(parsed.status()));
    FUZZ_CHECK(AssessMaildirsize(parsed, text.size(), configured) ==
          MaildirsizeAction::kRecalculate);
    return 0;
  }
  const Maildirsize& m = *parsed;
  FUZZ_CHECK(m.limits == ref->limits && m.usage == ref->usage &&
        m.delta_lines == ref->delta_lines);
  FUZZ_CHECK(m.limits.bytes <= kMaxQuotaValue && m.limits.messages <= kMaxQuotaValue);
  FUZZ_CHECK(m.usage.bytes <= kMaxQuotaValue && m.usage.messages <= kMaxQuotaValue);

  // What a recalculation writes reads back the same.
  const std::string whole = FormatMaildirsize(m.limits, m.usage);
  const absl::StatusOr<Maildirsize> again = ParseMaildirsize(whole);
  FUZZ_CHECK(again.ok() && again->limits == m.limits && again->usage == m.usage &&
        again->delta_lines == 1);
  FUZZ_CHECK(whole.substr(0, whole.find('\n')) == FormatMaildirsizeDefinition(m.limits));
  // A delivery's delta line adds exactly its figures.
  const int64_t db = static_cast<int64_t>(message_bytes & 0xffffff);
  const int64_t dm = static_cast<int64_t>(message_count);
  if (m.usage.bytes + static_cast<uint64_t>(db) <= kMaxQuotaValue &&
      m.usage.messages + static_cast<uint64_t>(dm) <= kMaxQuotaValue) {
    const absl::StatusOr<Maildirsize> grown =
        ParseMaildirsize(whole + FormatMaildirsizeDelta(db, dm));
    FUZZ_CHECK(grown.ok() && grown->delta_lines == 2 &&
          grown->usage.bytes == m.usage.bytes + static_cast<uint64_t>(db) &&
          grown->usage.messages == m.usage.messages + static_cast<uint64_t>(dm));
  }

  FUZZ_CHECK(AssessMaildirsize(parsed, kMaildirsizeMaxBytes, m.limits) ==
        MaildirsizeAction::kRecalculate);
  const MaildirsizeAction own = AssessMaildirsize(parsed, text.size() % kMaildirsizeMaxBytes,
                                                  m.limits);
  if (m.delta_lines == 0) FUZZ_CHECK(own == MaildirsizeAction::kRecalculate);
  if (m.limits != configured) {
    FUZZ_CHECK(AssessMaildirsize(parsed, 0, configured) == MaildirsizeAction::kRecalculate);
  }
  const QuotaVerdict v = CheckQuota(m.limits, m.usage, message_bytes, message_count);
  FUZZ_CHECK((v == QuotaVerdict::kTooBig) ==
        (m.limits.bytes != 0 && message_bytes > m.limits.bytes));
  if (m.limits.unlimited()) FUZZ_CHECK(v == QuotaVerdict::kFits);
  return 0;
}
