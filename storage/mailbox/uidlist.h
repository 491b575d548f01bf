// dovecot-uidlist: Dovecot's Maildir UID map, read and written compatibly.
//
// Version 3 (written by Dovecot >= 1.1, and by us):
//   3 V<uidvalidity> N<nextuid> G<guid hex>
//   <uid> [<ext>...] :<filename>
// e.g. "25017 W2481 :1276533073.M242911P3632.kurkku:2,F". Extensions are
// one key letter + value (S=size, W=vsize, P=POP3 UIDL, O=POP3 order,
// G=guid); unknown ones are kept verbatim on rewrite. The filename may
// carry the ":2,<flags>" seen when the line was written; lookups use the
// key = the part before ':' (Dovecot's maildir_filename_base_cmp).
// Version 1 (Dovecot 1.0): "1 <uidvalidity> <nextuid>" then
// "<uid> <filename>". Read only; rewritten as version 3.
//
// Pure parse/format here; dotlock + rewrite is in folder_sync.h.
#ifndef RINGMAIL_STORAGE_MAILBOX_UIDLIST_H_
#define RINGMAIL_STORAGE_MAILBOX_UIDLIST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ringmail::storage {

inline constexpr std::string_view kUidlistFileName = "dovecot-uidlist";

struct UidlistLimits {
  size_t max_file_bytes = 256u << 20;  // 100k lines ~ 10 MB in practice
  size_t max_line_bytes = 8192;
  size_t max_records = 10'000'000;
};

struct UidlistRecord {
  uint32_t uid = 0;
  // Raw extension fields without separators, e.g. {"W2481", "S2400"}.
  std::vector<std::string> extensions;
  std::string filename;

  // Value of extension `key` ("" key letter + value), or nullopt.
  std::optional<std::string_view> Extension(char key) const;
  // Sets/replaces extension `key`.
  void SetExtension(char key, std::string_view value);
};

struct Uidlist {
  uint32_t uid_validity = 0;
  uint32_t next_uid = 1;
  std::string guid;  // hex, may be empty (version 1 files)
  // Other header fields, verbatim (kept on rewrite).
  std::vector<std::string> header_extra;
  std::vector<UidlistRecord> records;  // strictly ascending UIDs
};

// The lookup key of a Maildir file name: everything before ':'.
std::string_view MaildirKey(std::string_view filename);

// Parses a whole dovecot-uidlist. DataLoss ("corrupted") for a bad header
// or version, a malformed line, UIDs not strictly ascending, a UID >=
// next_uid, a zero UIDVALIDITY, a line over max_line_bytes, too many
// records, or a filename with '/' or control characters.
absl::StatusOr<Uidlist> ParseUidlist(std::string_view text,
                                     const UidlistLimits& limits);

// Version 3 text of `list` (records must be ascending; asserted).
std::string FormatUidlist(const Uidlist& list);

// 32 random hex digits for the G header of a new uidlist.
std::string NewUidlistGuid();

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_UIDLIST_H_
