// Minimal structured logging to stderr (abseil 20220623 in Debian has no
// absl log). One line per event: "<RFC 3339 time> <level> <message>".
// Thread-safe: each line is formatted first and written with one write(2),
// which the kernel does not interleave for lines this short on a pipe/tty.
#ifndef RINGMAIL_ENGINE_LOG_H_
#define RINGMAIL_ENGINE_LOG_H_

#include <string_view>

#include "absl/strings/str_cat.h"

namespace ringmail::engine {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Sets the minimum level written (default kInfo).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, std::string_view message);

// Usage: LOG_INFO("core ", id, ": listening on ", addr);
#define RINGMAIL_LOG(level, ...)                                     \
  do {                                                               \
    if (::ringmail::engine::LogEnabled(level)) {                     \
      ::ringmail::engine::LogLine(level, ::absl::StrCat(__VA_ARGS__)); \
    }                                                                \
  } while (0)
#define LOG_DEBUG(...) RINGMAIL_LOG(::ringmail::engine::LogLevel::kDebug, __VA_ARGS__)
#define LOG_INFO(...) RINGMAIL_LOG(::ringmail::engine::LogLevel::kInfo, __VA_ARGS__)
#define LOG_WARNING(...) RINGMAIL_LOG(::ringmail::engine::LogLevel::kWarning, __VA_ARGS__)
#define LOG_ERROR(...) RINGMAIL_LOG(::ringmail::engine::LogLevel::kError, __VA_ARGS__)

}  // namespace ringmail::engine

#endif  // RINGMAIL_ENGINE_LOG_H_
