#include "server/recovery.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/log.h"
#include "storage/maildir/journal_recovery.h"
#include "storage/maildir/recovery.h"

namespace ringmail::server {

bool RecoverJournals(const Config& config, absl::Time now) {
  bool all_recovered = true;
  auto log = [](std::string_view line) { LOG_WARNING("recovery: ", std::string(line)); };
  storage::JournalDirOptions options;
  options.data_dir = config.data_dir;
  options.journal_mode = config.durability == "journal";
  options.cores = static_cast<int>(config.threads);
  options.journal_size = config.journal_size;
  options.now = now;
  for (const storage::JournalDirResult& r : storage::RecoverJournalDir(options, log)) {
    if (!r.first_error.ok()) {
      LOG_ERROR("recovery: journal ", r.path, ": ", r.first_error.ToString());
    }
    if (!r.set_aside.empty()) {
      LOG_ERROR("recovery: kept ", r.set_aside, " for manual replay");
    }
    if (!r.set_aside.empty() || !r.stats.ok()) all_recovered = false;
    if (!r.stats.ok()) {
      LOG_ERROR("recovery: journal ", r.path, ": ", r.stats.status().ToString(),
                r.set_aside.empty() ? "; left in place: this core runs in fsync mode "
                                      "and the next start replays it"
                                    : "");
      continue;
    }
    LOG_INFO("recovery: journal ", r.path, ": ", r.stats->records,
             " records after the checkpoint, ", r.stats->replayed, " replayed, ",
             r.stats->present, " already present, ", r.stats->errors, " errors",
             r.stats->created ? " (created)" : "");
  }
  return all_recovered;
}

bool RecoverMailStore(const Config& config, const Directory& directory,
                      const storage::MailLocation& location, absl::Time now) {
  // First the journals: they may write files back into the Maildirs.
  const bool journals_recovered = RecoverJournals(config, now);
  const std::string& tmpl = location.template_string();
  // The last complete directory of the fixed prefix.
  size_t fixed = std::min(tmpl.find('%'), tmpl.size());
  size_t slash = tmpl.rfind('/', fixed == 0 ? 0 : fixed - 1);
  std::string root = slash == 0 || slash == std::string::npos
                         ? std::string("/")
                         : std::string(tmpl.data(), slash);
  struct stat st;
  if (stat(root.c_str(), &st) != 0) return journals_recovered;  // nothing delivered yet
  auto log = [](std::string_view line) { LOG_WARNING("recovery: ", std::string(line)); };
  auto stats = storage::RecoverMailRoot(root, now, storage::RecoveryLimits{}, log);
  if (!stats.ok()) {
    LOG_WARNING("recovery of ", root, " failed: ", stats.status().ToString());
    return journals_recovered;
  }
  LOG_INFO("recovery: ", stats->maildirs_scanned, " maildirs scanned, ",
           stats->files_removed, " stale tmp files removed, ", stats->errors,
           " errors");
  return journals_recovered;
}

}  // namespace ringmail::server
