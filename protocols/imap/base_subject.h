// RFC 5256 §2.1 base subject extraction for SORT SUBJECT and THREAD. Pure.
#ifndef RINGMAIL_PROTOCOLS_IMAP_BASE_SUBJECT_H_
#define RINGMAIL_PROTOCOLS_IMAP_BASE_SUBJECT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::imap {

// Decoded subject octets examined at most; the rest of a longer subject is
// ignored (header fields may be 64 KiB; no client displays that much).
inline constexpr size_t kMaxSubjectOctets = 8 * 1024;

struct BaseSubject {
  // The base subject with ASCII letters upper-cased: the comparison key of
  // the i;ascii-casemap collation (RFC 4790 §9.2), compared octet by octet.
  std::string text;
  // §2.1: extraction removed a subj-refwd ("Re:", "Fwd:", "Fw[x]:"), a
  // "(fwd)" trailer, or a "[fwd:" ... "]" wrapper. Used by THREAD
  // REFERENCES step 5 and ORDEREDSUBJECT never.
  bool reply_or_forward = false;
};

// `subject` is the unfolded Subject: value as stored (encoded words raw).
// Steps (1)-(7) of §2.1, with the subj-* ABNF of §5:
//  (1) RFC 2047 words decoded to UTF-8 (mime::DecodeEncodedWords), tabs,
//      CR and LF made spaces, runs of spaces made one;
//  (2) trailing "(fwd)" and spaces removed, repeatedly;
//  (3) leading subj-leader removed: a space, or *subj-blob subj-refwd;
//  (4) a leading subj-blob removed if that leaves a non-empty subj-base;
//  (5) (3) and (4) repeated until neither applies;
//  (6) "[fwd:" ... "]" removed and everything repeated from (2).
// Never fails. Work is linear in the subject length per step-(6) round.
BaseSubject ExtractBaseSubject(std::string_view subject);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_BASE_SUBJECT_H_
