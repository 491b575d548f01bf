#include "server/recovery.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/time/clock.h"
#include "engine/log.h"
#include "storage/maildir/recovery.h"

namespace ringmail::server {

void RecoverMailStore(const Config& config, const Directory& directory,
                      const storage::MailLocation& location) {
  const std::string& tmpl = location.template_string();
  // The last complete directory of the fixed prefix.
  size_t fixed = std::min(tmpl.find('%'), tmpl.size());
  size_t slash = tmpl.rfind('/', fixed == 0 ? 0 : fixed - 1);
  std::string root = slash == 0 || slash == std::string::npos
                         ? std::string("/")
                         : std::string(tmpl.data(), slash);
  struct stat st;
  if (stat(root.c_str(), &st) != 0) return;  // nothing delivered yet
  auto log = [](std::string_view line) { LOG_WARNING("recovery: ", std::string(line)); };
  auto stats = storage::RecoverMailRoot(root, absl::Now(), storage::RecoveryLimits{}, log);
  if (!stats.ok()) {
    LOG_WARNING("recovery of ", root, " failed: ", stats.status().ToString());
    return;
  }
  LOG_INFO("recovery: ", stats->maildirs_scanned, " maildirs scanned, ",
           stats->files_removed, " stale tmp files removed, ", stats->errors,
           " errors");
}

}  // namespace ringmail::server
