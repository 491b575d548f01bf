// CONDSTORE and QRESYNC (RFC 7162) pieces of the protocol layer that are
// not FETCH/STORE/SEARCH/STATUS arguments (those live with their parsers):
// SELECT/EXAMINE parameters, and the VANISHED and MODIFIED responses.
#ifndef RINGMAIL_PROTOCOLS_IMAP_CONDSTORE_H_
#define RINGMAIL_PROTOCOLS_IMAP_CONDSTORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"
#include "protocols/imap/search.h"
#include "protocols/imap/sequence_set.h"

namespace ringmail::imap {

// RFC 7162 §7: mod-sequence-value is at most 2^63 - 1.
inline constexpr uint64_t kMaxModSeqValue = (uint64_t{1} << 63) - 1;

// QRESYNC (uidvalidity modseq [known-uids [seq-match-data]]), §3.2.5.
struct QresyncParams {
  uint32_t uid_validity = 0;
  uint64_t modseq = 0;
  // Normalised; empty when the client gave none (then every UID).
  std::vector<SequenceSet::Range> known_uids;
  // seq-match-data, sampled like Dovecot: for every range of the
  // known-uid-set its first and last UID with the sequence number the
  // client has for it, in ascending order (at most 2 * kMaxSequenceRanges
  // pairs). Empty when not given.
  std::vector<std::pair<uint32_t, uint32_t>> seq_uid_samples;  // (seq, uid)
};

struct SelectParams {
  bool condstore = false;                // (CONDSTORE), §3.1.8
  std::optional<QresyncParams> qresync;  // (QRESYNC (...)), §3.2.5
};

// args: the SELECT/EXAMINE arguments after the mailbox name: nothing, or
// one list of select-params "CONDSTORE" / "QRESYNC" SP "(" ... ")". Fails
// on unknown or repeated parameters, "*" or "$" in the sets, sets of
// different sizes in seq-match-data, a zero UIDVALIDITY, or numbers out
// of range. Whether QRESYNC was enabled is the caller's check.
bool ParseSelectParams(ArgList args, SelectParams* out, ArgError* err);

// True when `node` (or any key below it) is MODSEQ: the SEARCH is a
// CONDSTORE-enabling command and its response carries (MODSEQ n).
bool HasModSeqKey(const SearchNode& node);

// "* VANISHED [(EARLIER) ]<uid-set>\r\n" (§3.2.10); nothing for no UIDs.
void AppendVanished(std::string* out, bool earlier,
                    const std::vector<SequenceSet::Range>& uids);

// "MODIFIED <set>" (§3.1.3) of ascending numbers (sequence numbers for
// STORE, UIDs for UID STORE).
std::string CodeModified(const std::vector<uint32_t>& sorted_numbers);
// "NOMODSEQ" (§3.1.2.2).
inline constexpr std::string_view kCodeNoModSeq = "NOMODSEQ";
// "CLOSED" (§3.2.11): the previously selected mailbox is closed.
inline constexpr std::string_view kCodeClosed = "CLOSED";

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_CONDSTORE_H_
