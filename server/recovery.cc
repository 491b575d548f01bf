#include "server/recovery.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/log.h"
#include "storage/maildir/journal.h"
#include "storage/maildir/recovery.h"

namespace ringmail::server {

void RecoverJournals(const Config& config) {
  auto log = [](std::string_view line) { LOG_WARNING("recovery: ", std::string(line)); };
  const bool journal_mode = config.durability == "journal";
  // Every existing journal (also of cores beyond `threads`, or from an
  // earlier run in journal mode when we now run in fsync mode) is replayed;
  // journals are created only for our cores in journal mode.
  std::vector<int> cores;
  if (journal_mode) {
    for (uint32_t i = 0; i < config.threads; ++i) cores.push_back(static_cast<int>(i));
  }
  std::string dir = config.data_dir + "/journal";
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      int core;
      char tail = 0;
      if (sscanf(e->d_name, "core-%d.wa%c", &core, &tail) == 2 && tail == 'l' &&
          std::string(e->d_name) == absl::StrCat("core-", core, ".wal") &&
          std::find(cores.begin(), cores.end(), core) == cores.end()) {
        cores.push_back(core);
      }
    }
    closedir(d);
  }
  for (int core : cores) {
    std::string path = storage::JournalPath(config.data_dir, core);
    uint64_t size = config.journal_size;
    if (!journal_mode || core >= static_cast<int>(config.threads)) {
      struct stat st;
      if (stat(path.c_str(), &st) != 0) continue;
      // Not ours to keep at a new size: replay and reset at its own size.
      size = static_cast<uint64_t>(st.st_size);
      if (size < storage::kJournalMinSize || size % 4096 != 0) size = config.journal_size;
    }
    auto stats = storage::RecoverJournal(path, size, log);
    if (!stats.ok()) {
      LOG_ERROR("recovery: journal ", path, ": ", stats.status().ToString());
      if (absl::IsDataLoss(stats.status())) {
        // Keep the unreplayed log for the operator; this core starts with
        // a fresh journal (or fsync mode if that fails too).
        std::string aside = absl::StrCat(path, ".unreplayed.",
                                         absl::ToUnixSeconds(absl::Now()));
        if (rename(path.c_str(), aside.c_str()) == 0) {
          LOG_ERROR("recovery: kept ", aside, " for manual replay");
          stats = storage::RecoverJournal(path, size, log);
          if (!stats.ok()) {
            LOG_ERROR("recovery: journal ", path, ": ", stats.status().ToString());
          }
        }
      }
      if (!stats.ok()) continue;
    }
    LOG_INFO("recovery: journal ", path, ": ", stats->records,
             " records after the checkpoint, ", stats->replayed, " replayed, ",
             stats->present, " already present, ", stats->errors, " errors",
             stats->created ? " (created)" : "");
  }
}

void RecoverMailStore(const Config& config, const Directory& directory,
                      const storage::MailLocation& location) {
  // First the journals: they may write files back into the Maildirs.
  RecoverJournals(config);
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
