// RecoverJournalDir (journal_recovery.h): every journal file of
// <data_dir>/journal.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/maildir/journal_recovery.h"

namespace ringmail::storage {

std::vector<JournalDirResult> RecoverJournalDir(const JournalDirOptions& options,
                                                const LogFn& log,
                                                engine::BlockingFs& fs) {
  // Every existing journal (also of cores beyond `cores`, or from an
  // earlier run in journal mode when we now run in fsync mode) is replayed;
  // journals are created only for our cores in journal mode.
  std::vector<int> cores;
  if (options.journal_mode) {
    for (int i = 0; i < options.cores; ++i) cores.push_back(i);
  }
  const std::string dir = options.data_dir + "/journal";
  fs.ListDir(dir.c_str(), [&](int, std::string_view name, unsigned char) {
    std::string n(name);
    int core;
    char tail = 0;
    if (sscanf(n.c_str(), "core-%d.wa%c", &core, &tail) == 2 && tail == 'l' &&
        n == absl::StrCat("core-", core, ".wal") &&
        std::find(cores.begin(), cores.end(), core) == cores.end()) {
      cores.push_back(core);
    }
    return true;
  });
  std::vector<JournalDirResult> results;
  for (int core : cores) {
    JournalDirResult result;
    result.core = core;
    result.path = JournalPath(options.data_dir, core);
    const std::string& path = result.path;
    uint64_t size = options.journal_size;
    if (!options.journal_mode || core >= options.cores) {
      struct stat st;
      if (fs.Stat(AT_FDCWD, path.c_str(), &st, 0) != 0) continue;
      // Not ours to keep at a new size: replay and reset at its own size.
      size = static_cast<uint64_t>(st.st_size);
      if (size < kJournalMinSize || size % 4096 != 0) size = options.journal_size;
    }
    result.stats = RecoverJournal(path, size, log, fs);
    if (!result.stats.ok()) {
      result.first_error = result.stats.status();
      // Once more: the error may have been transient.
      result.stats = RecoverJournal(path, size, log, fs);
    }
    if (!result.stats.ok() && absl::IsDataLoss(result.stats.status())) {
      // Records that cannot be written back: keep the log for the
      // operator; this core starts with a fresh journal.
      std::string aside = absl::StrCat(path, ".unreplayed.",
                                       absl::ToUnixSeconds(options.now));
      struct stat st;
      for (int i = 1; fs.Stat(AT_FDCWD, aside.c_str(), &st, 0) == 0 && i < 100; ++i) {
        aside = absl::StrCat(path, ".unreplayed.", absl::ToUnixSeconds(options.now), ".", i);
      }
      if (fs.Rename(AT_FDCWD, path.c_str(), AT_FDCWD, aside.c_str(), 0) == 0) {
        result.set_aside = aside;
        result.stats = RecoverJournal(path, size, log, fs);
      }
    }
    // Any other failure leaves the log where it is: OpenJournalFile refuses
    // a log with records after its checkpoint (the core runs in fsync mode)
    // and the next start replays it.
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace ringmail::storage
