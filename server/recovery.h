// Start-up recovery of the mail store, before any core serves traffic.
//
// `now` is the process's wall clock read once by the caller (main's
// start-up clock): no loop exists yet to take it from, and one reading
// keeps the journal's and tmp/'s age decisions on the same instant.
#ifndef RINGMAIL_SERVER_RECOVERY_H_
#define RINGMAIL_SERVER_RECOVERY_H_

#include "absl/time/time.h"
#include "server/config.h"
#include "server/directory.h"
#include "storage/maildir/mail_location.h"

namespace ringmail::server {

// Replays every journal in <data_dir>/journal (records after the last
// checkpoint whose Maildir file is missing, short or different), makes the
// Maildirs durable (syncfs), then (re)creates and zero-fills one journal per
// core in journal mode and resets its header. Blocking; before the cores.
// Returns whether every journal was recovered (false: one was left in
// place or set aside; LoadCoreSpool must then keep `removed` records).
bool RecoverJournals(const Config& config, absl::Time now);

// Runs RecoverJournals, then removes stale tmp/ files (older than 36
// hours, per the Maildir spec) from every Maildir under the fixed prefix of
// the mail location template (the part before the first '%'). Blocking:
// call only before the cores start. Problems are logged; they never stop
// start-up (a core whose journal cannot be prepared runs in fsync mode).
// Returns RecoverJournals' result.
bool RecoverMailStore(const Config& config, const Directory& directory,
                      const storage::MailLocation& location, absl::Time now);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_RECOVERY_H_
