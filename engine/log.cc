#include "engine/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringmail::engine {
namespace {
std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level; }

void LogLine(LogLevel level, std::string_view message) {
  std::string line = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ ", absl::Now(),
                                      absl::UTCTimeZone());
  line += Name(level);
  line += ' ';
  line.append(message.data(), message.size());
  line += '\n';
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;  // nowhere to report a failed log write
}

}  // namespace ringmail::engine
