// Fresh Maildir base names for messages the IMAP/POP3 side creates itself
// (APPEND, COPY, MOVE).
#ifndef RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_
#define RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_

#include <string>

namespace ringmail::server::imap {

// `<secs>.M<usecs>P<pid>Q<core>_<seq>.<host>`. One counter per thread
// serves every caller on that core, and it starts at 2^40 so it never meets
// the SMTP delivery queue's counter, which uses the same core number: two
// names made in the same microsecond on one core still differ.
std::string NewMessageBase(int core, const std::string& host);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_UNIQUE_NAME_H_
