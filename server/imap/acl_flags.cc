// RFC 4314 §4 flag rights for APPEND and COPY/MOVE; see acl_flags.h.
#include "server/imap/acl_flags.h"

#include "storage/mailbox/folder_index.h"

namespace ringmail::server::imap {

void DropUnsettableFlags(storage::AclRights rights, ringmail::imap::FlagSet* flags) {
  if (!(rights & storage::kAclWriteSeen)) flags->system &= ~ringmail::imap::kFlagSeen;
  if (!(rights & storage::kAclWriteDeleted)) flags->system &= ~ringmail::imap::kFlagDeleted;
  if (!(rights & storage::kAclWrite)) {
    flags->system &= ringmail::imap::kFlagSeen | ringmail::imap::kFlagDeleted;
    flags->keywords.clear();
  }
}

void DropUnsettableFlags(storage::AclRights rights, uint8_t* flags, uint32_t* keywords) {
  if (!(rights & storage::kAclWriteSeen)) *flags &= ~storage::kFlagSeen;
  if (!(rights & storage::kAclWriteDeleted)) *flags &= ~storage::kFlagDeleted;
  if (!(rights & storage::kAclWrite)) {
    *flags &= storage::kFlagSeen | storage::kFlagDeleted;
    *keywords = 0;
  }
}

}  // namespace ringmail::server::imap
