#include "protocols/mime/date_time.h"

#include "protocols/mime/header.h"

namespace ringmail::mime {
namespace {

bool IsAlpha(char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  // CFWS: whitespace and (possibly nested, escaped) comments.
  void SkipCfws() {
    int depth = 0;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '(') {
        ++depth;
      } else if (c == ')' && depth > 0) {
        --depth;
      } else if (c == '\\' && depth > 0 && i_ + 1 < s_.size()) {
        ++i_;
      } else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
                 c != '\n') {
        return;
      }
      ++i_;
    }
  }
  // Up to max_digits digits; *n_digits is how many were read.
  int64_t Number(size_t max_digits, size_t* n_digits) {
    int64_t v = 0;
    *n_digits = 0;
    while (i_ < s_.size() && IsDigit(s_[i_]) && *n_digits < max_digits) {
      v = v * 10 + (s_[i_++] - '0');
      ++*n_digits;
    }
    return v;
  }
  std::string_view Word() {
    const size_t start = i_;
    while (i_ < s_.size() && IsAlpha(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  bool Take(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AtDigit() const { return i_ < s_.size() && IsDigit(s_[i_]); }
  bool AtAlpha() const { return i_ < s_.size() && IsAlpha(s_[i_]); }
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Minutes east of UTC for the obsolete zone names of RFC 5322 §4.3.
int NamedZoneMinutes(std::string_view z) {
  struct Zone {
    std::string_view name;
    int minutes;
  };
  static constexpr Zone kZones[] = {
      {"UT", 0},         {"GMT", 0},        {"UTC", 0},
      {"EST", -5 * 60},  {"EDT", -4 * 60},  {"CST", -6 * 60},
      {"CDT", -5 * 60},  {"MST", -7 * 60},  {"MDT", -6 * 60},
      {"PST", -8 * 60},  {"PDT", -7 * 60},
  };
  for (const Zone& zone : kZones) {
    if (EqualsIgnoreCase(z, zone.name)) return zone.minutes;
  }
  return 0;  // military letters and anything unknown: "-0000"
}

}  // namespace

int64_t DaysFromCivilDate(int64_t y, unsigned m, unsigned d) {
  // H. Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t mp = (m + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

// The date part: [day-of-week ","] day month year, leaving `sc` after the
// year. Days since 1970-01-01, or nullopt (see ParseDateTime).
std::optional<int64_t> ScanDate(Scanner& sc) {
  sc.SkipCfws();
  if (sc.AtAlpha()) {  // day-of-week, comma optional in practice
    sc.Word();
    sc.SkipCfws();
    sc.Take(',');
    sc.SkipCfws();
  }
  size_t nd = 0;
  const int64_t day = sc.Number(2, &nd);
  if (nd == 0 || sc.AtDigit()) return std::nullopt;
  sc.SkipCfws();
  const std::string_view mon = sc.Word();
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr",
                                                 "may", "jun", "jul", "aug",
                                                 "sep", "oct", "nov", "dec"};
  unsigned month = 0;
  for (unsigned k = 0; k < 12; ++k) {
    if (EqualsIgnoreCase(mon, kMonths[k])) month = k + 1;
  }
  if (month == 0) return std::nullopt;
  sc.SkipCfws();
  int64_t year = sc.Number(4, &nd);
  if (nd < 2 || sc.AtDigit()) return std::nullopt;
  if (nd == 2) year += year < 50 ? 2000 : 1900;  // RFC 5322 §4.3
  if (nd == 3) year += 1900;
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  if (day < 1 || day > kDays[month - 1]) return std::nullopt;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  return DaysFromCivilDate(year, month, static_cast<unsigned>(day));
}

}  // namespace

std::optional<int64_t> ParseDateDay(std::string_view value) {
  Scanner sc(value);
  return ScanDate(sc);
}

std::optional<int64_t> ParseDateTime(std::string_view value) {
  Scanner sc(value);
  const std::optional<int64_t> days = ScanDate(sc);
  if (!days) return std::nullopt;
  size_t nd = 0;
  sc.SkipCfws();
  const int64_t hour = sc.Number(2, &nd);
  if (nd == 0 || sc.AtDigit()) return std::nullopt;
  sc.SkipCfws();
  if (!sc.Take(':')) return std::nullopt;
  sc.SkipCfws();
  const int64_t minute = sc.Number(2, &nd);
  if (nd == 0 || sc.AtDigit()) return std::nullopt;
  sc.SkipCfws();
  int64_t second = 0;
  if (sc.Take(':')) {
    sc.SkipCfws();
    second = sc.Number(2, &nd);
    if (nd == 0 || sc.AtDigit()) return std::nullopt;
    sc.SkipCfws();
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;

  int zone_minutes = 0;
  if (sc.Peek() == '+' || sc.Peek() == '-') {
    const bool negative = sc.Peek() == '-';
    sc.Take(sc.Peek());
    const int64_t hhmm = sc.Number(4, &nd);
    if (nd == 4 && hhmm % 100 < 60) {
      zone_minutes = static_cast<int>(hhmm / 100 * 60 + hhmm % 100);
      if (negative) zone_minutes = -zone_minutes;
    }
  } else if (sc.AtAlpha()) {
    zone_minutes = NamedZoneMinutes(sc.Word());
  }
  return *days * 86400 + hour * 3600 + minute * 60 + second - int64_t{zone_minutes} * 60;
}

}  // namespace ringmail::mime
