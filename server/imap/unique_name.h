// Fresh Maildir base names for messages the IMAP/POP3 side creates itself
// (APPEND, COPY, MOVE).
#ifndef RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_
#define RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_

#include <string>

#include "absl/time/time.h"

namespace ringmail::server::imap {

// `<secs>.M<usecs>P<pid>Q<core>_<seq>.<host>`. One counter per thread
// serves every caller on that core, and it starts at 2^40 so it never meets
// the SMTP delivery queue's counter, which uses the same core number: two
// names made in the same microsecond on one core still differ. `now` is
// the core's loop time (Loop::now()), which is the same for every name made
// in one loop iteration; the counter keeps those apart.
std::string NewMessageBase(int core, const std::string& host, absl::Time now);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_
