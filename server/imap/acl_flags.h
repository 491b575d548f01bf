// The flags a user may give the messages they store in a folder, by the
// RFC 4314 rights they hold there.
//
// RFC 4314 §4 (the APPEND and COPY/MOVE rows; rights defined in §2.1):
// storing needs "i" on the target; setting \Seen on the stored message
// needs "s", \Deleted needs "t", and any other flag or keyword needs "w".
// A flag the user may not set is dropped and the message is stored
// without it: the command does not fail. Dovecot's acl plugin does the
// same (acl_save_get_flags, for both save and copy).
#ifndef RINGMAIL_SERVER_IMAP_ACL_FLAGS_H_
#define RINGMAIL_SERVER_IMAP_ACL_FLAGS_H_

#include <cstdint>

#include "protocols/imap/args.h"
#include "storage/mailbox/acl.h"

namespace ringmail::server::imap {

// APPEND: removes from `flags` (as parsed from the command) what `rights`
// do not allow setting. \Recent is never storable and is left alone (the
// parser refuses it).
void DropUnsettableFlags(storage::AclRights rights, ringmail::imap::FlagSet* flags);

// COPY/MOVE: removes from a message's Maildir flags (storage::MessageFlag
// bits, \Passed counting as an "other" flag) and keyword bits what
// `rights` on the target do not allow setting.
void DropUnsettableFlags(storage::AclRights rights, uint8_t* flags, uint32_t* keywords);

}  // namespace ringmail::server::imap

#endif  // RINGMAIL_SERVER_IMAP_ACL_FLAGS_H_
