#include "protocols/smtp/received_header.h"

#include <cstdio>

#include "absl/time/civil_time.h"
#include "protocols/smtp/text_util.h"

namespace ringmail::smtp {
namespace {

void AppendSanitized(std::string_view s, std::string* out) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    out->push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
}

}  // namespace

std::string FormatRfc5322Date(absl::Time t) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu",
                                          "Fri", "Sat", "Sun"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  const absl::CivilSecond cs = absl::ToCivilSecond(t, absl::UTCTimeZone());
  const absl::Weekday wd = absl::GetWeekday(cs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %d %s %lld %02d:%02d:%02d +0000",
                kDays[static_cast<int>(wd)], cs.day(), kMonths[cs.month() - 1],
                static_cast<long long>(cs.year()), cs.hour(), cs.minute(),
                cs.second());
  return buf;
}
void AppendReceivedHeader(const ReceivedInfo& info, std::string* out) {
  out->append("Received: from ");
  AppendSanitized(info.helo, out);
  AppendAll(out, {" (unknown [", info.client_ip, "])\n\tby ", info.hostname,
                  " with ", info.protocol, " id ", info.queue_id});
  if (!info.single_rcpt.empty()) {
    out->append("\n\tfor <");
    AppendSanitized(info.single_rcpt, out);
    out->push_back('>');
  }
  AppendAll(out, {";\n\t", FormatRfc5322Date(info.when), "\n"});
}

}  // namespace ringmail::smtp
