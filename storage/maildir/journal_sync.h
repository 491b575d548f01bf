// Making the Maildir files that journal records cover durable, so that a
// checkpoint (journal_writer.h) or recovery (journal_recovery.h) may retire
// the records: syncfs(2) of each distinct file system.
#ifndef RINGMAIL_STORAGE_MAILDIR_JOURNAL_SYNC_H_
#define RINGMAIL_STORAGE_MAILDIR_JOURNAL_SYNC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/blocking_fs.h"
#include "engine/file_io.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {

// BLOCKING. syncfs(2) once per distinct file system among `dirs`, through
// `fs` (missing directories are skipped: a removed Maildir has nothing
// left to make durable). Result: 0 if every file system was synced, else
// negative: a failed syncfs's -errno, or -EIO when a directory could not
// be opened. Every failure is logged through `log`, if set.
int SyncFileSystems(engine::BlockingFs& fs, const std::vector<std::string>& dirs,
                    const LogFn& log);

// Runs SyncFileSystems (on the real file system) on a helper thread for a
// core: a JournalWriter's SyncFsFn. Completion is reported by an eventfd
// that the core reads through its FileIo, so `done` runs on the core, with
// SyncFileSystems' result (or the eventfd read's error; -EIO if no eventfd
// could be created). One request at a time.
class FsSyncer {
 public:
  FsSyncer(engine::FileIo* io, LogFn log);
  ~FsSyncer();  // the last request must have completed
  FsSyncer(const FsSyncer&) = delete;
  FsSyncer& operator=(const FsSyncer&) = delete;
  void Sync(std::vector<std::string> dirs, engine::IoCallback done);

 private:
  struct Shared;
  engine::FileIo* io_;
  LogFn log_;
  std::shared_ptr<Shared> shared_;
  uint64_t buf_ = 0;
};

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_JOURNAL_SYNC_H_
