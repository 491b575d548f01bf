// libFuzzer: ParseUidlist on arbitrary dovecot-uidlist contents (written by
// Dovecot, by other programs, or a user with shell access; read on every
// folder sync), then FormatUidlist of what parsed.
//
// The first input octet picks small limits (so the line and record limits
// are reached) or the defaults; the rest is the file.
//
// Invariants: a failure is DataLoss; a parsed list has a non-zero
// UIDVALIDITY and next UID, non-zero strictly ascending UIDs below the next
// UID, file names that are non-empty without '/' or control octets, and
// header fields and extensions without spaces or line ends;
// Parse(Format(l)) == l (so what ringmail writes back, it reads back; see
// the slack below), and Format is then a fixed point.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/mailbox/uidlist.h"
#include "tools/lib/fuzz_check.h"

namespace {

using ringmail::storage::FormatUidlist;
using ringmail::storage::MaildirKey;
using ringmail::storage::ParseUidlist;
using ringmail::storage::Uidlist;
using ringmail::storage::UidlistLimits;
using ringmail::storage::UidlistRecord;

bool Field(std::string_view f) {
  return f.find_first_of(" \n") == std::string_view::npos;
}

bool Same(const Uidlist& a, const Uidlist& b) {
  if (a.uid_validity != b.uid_validity || a.next_uid != b.next_uid || a.guid != b.guid ||
      a.header_extra != b.header_extra || a.records.size() != b.records.size()) {
    return false;
  }
  for (size_t i = 0; i < a.records.size(); ++i) {
    const UidlistRecord& x = a.records[i];
    const UidlistRecord& y = b.records[i];
    if (x.uid != y.uid || x.extensions != y.extensions || x.filename != y.filename) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  UidlistLimits limits;
  if (data[0] & 1) {
    limits.max_line_bytes = 64;
    limits.max_records = 16;
    limits.max_file_bytes = 2048;
  }
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  const absl::StatusOr<Uidlist> parsed = ParseUidlist(text, limits);
  if (!parsed.ok()) {
    FUZZ_CHECK(absl::IsDataLoss(parsed.status()));
    return 0;
  }
  const Uidlist& l = *parsed;
  FUZZ_CHECK(l.uid_validity != 0 && l.next_uid != 0);
  FUZZ_CHECK(Field(l.guid));
  for (const std::string& h : l.header_extra) FUZZ_CHECK(!h.empty() && Field(h));
  FUZZ_CHECK(l.records.size() <= limits.max_records);
  uint32_t last = 0;
  for (const UidlistRecord& r : l.records) {
    FUZZ_CHECK(r.uid > last && r.uid < l.next_uid);
    last = r.uid;
    FUZZ_CHECK(!r.filename.empty() && r.filename.find('/') == std::string::npos);
    for (char c : r.filename) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
    FUZZ_CHECK(MaildirKey(r.filename).find(':') == std::string_view::npos);
    for (const std::string& e : r.extensions) {
      FUZZ_CHECK(!e.empty() && e[0] != ':' && Field(e));
      FUZZ_CHECK(r.Extension(e[0]).has_value());
    }
  }

  // Rewriting may lengthen a line a little: a version 1 record gains the
  // ':' before its file name, the header a 'V', an 'N' and the digits of a
  // next UID raised by the records. The limits are for file names of at
  // most NAME_MAX (255) octets, so a rewrite never comes near them; the
  // fuzzer's are not, so it re-reads with that much slack.
  UidlistLimits reread = limits;
  reread.max_line_bytes += 16;
  reread.max_file_bytes = 2 * limits.max_file_bytes + 64;
  const std::string formatted = FormatUidlist(l);
  const absl::StatusOr<Uidlist> again = ParseUidlist(formatted, reread);
  FUZZ_CHECK(again.ok() && Same(l, *again));
  FUZZ_CHECK(FormatUidlist(*again) == formatted);
  return 0;
}
