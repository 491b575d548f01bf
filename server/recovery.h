// Start-up recovery of the mail store, before any core serves traffic.
#ifndef RINGMAIL_SERVER_RECOVERY_H_
#define RINGMAIL_SERVER_RECOVERY_H_

#include "server/config.h"
#include "server/directory.h"
#include "storage/maildir/mail_location.h"

namespace ringmail::server {

// Removes stale tmp/ files (older than 36 hours, per the Maildir spec) from
// every Maildir under the fixed prefix of the mail location template (the
// part before the first '%'). Blocking: call only before the cores start.
// Problems are logged; they never stop start-up, since delivery does not
// depend on them.
void RecoverMailStore(const Config& config, const Directory& directory,
                      const storage::MailLocation& location);

}  // namespace ringmail::server

#endif  // RINGMAIL_SERVER_RECOVERY_H_
