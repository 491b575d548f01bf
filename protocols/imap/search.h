// SEARCH program parser (RFC 3501 §6.4.4, §9 search-key; RFC 7162 MODSEQ).
#ifndef RINGMAIL_PROTOCOLS_IMAP_SEARCH_H_
#define RINGMAIL_PROTOCOLS_IMAP_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"
#include "protocols/imap/sequence_set.h"

namespace ringmail::imap {

enum class SearchKey : uint8_t {
  kAnd,  // implicit AND / parenthesised group: children
  kAll, kAnswered, kBcc, kBefore, kBody, kCc, kDeleted, kDraft, kFlagged,
  kFrom, kHeader, kKeyword, kLarger, kNew, kNot, kOld, kOn, kOr, kRecent,
  kSeen, kSentBefore, kSentOn, kSentSince, kSince, kSmaller, kSubject, kText,
  kTo, kUid, kUnanswered, kUndeleted, kUndraft, kUnflagged, kUnkeyword,
  kUnseen, kSequenceSet, kModSeq,
};

struct SearchNode {
  SearchKey key = SearchKey::kAnd;
  std::string str;       // string argument; HEADER: the value
  std::string field;     // HEADER: field name
  uint64_t number = 0;   // LARGER/SMALLER size, MODSEQ value
  int64_t days = 0;      // date keys: days since 1970-01-01
  SequenceSet set;       // UID / kSequenceSet
  bool saved = false;    // set was "$" (RFC 5182)
  std::vector<SearchNode> children;  // kAnd: any; kNot: 1; kOr: 2
};

struct SearchProgram {
  SearchNode root;  // kAnd
};

enum class SearchStatus : uint8_t {
  kOk,
  kBad,         // "tag BAD <err.text>"
  kBadCharset,  // "tag NO [BADCHARSET (UTF-8 US-ASCII)] ..."
};

// args: [CHARSET SP astring SP] 1*search-key. Only UTF-8 and US-ASCII are
// accepted (strings are compared as UTF-8 either way). Nesting is limited to
// kMaxSearchDepth and keys to kMaxSearchKeys.
SearchStatus ParseSearch(ArgList args, SearchProgram* out, ArgError* err);

inline constexpr std::string_view kBadCharsetReply =
    "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_SEARCH_H_
