// FETCH attribute parser (RFC 3501 §6.4.5, §9 fetch-att; RFC 7162 MODSEQ
// and CHANGEDSINCE).
#ifndef RINGMAIL_PROTOCOLS_IMAP_FETCH_H_
#define RINGMAIL_PROTOCOLS_IMAP_FETCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/arg.h"
#include "protocols/imap/args.h"

namespace ringmail::imap {

enum class FetchAtt : uint8_t {
  kFlags, kInternalDate, kRfc822Size, kEnvelope, kBody, kBodyStructure, kUid,
  kRfc822, kRfc822Header, kRfc822Text, kBodySection, kModSeq,
};

struct FetchSection {
  enum class Kind : uint8_t {
    kAll, kHeader, kHeaderFields, kHeaderFieldsNot, kText, kMime,
  };
  std::vector<uint32_t> part;        // "1.2" -> {1, 2}; empty: whole message
  Kind kind = Kind::kAll;
  std::vector<std::string> fields;   // HEADER.FIELDS names, upper-cased
};

struct FetchItem {
  FetchAtt att;
  bool peek = false;                 // BODY.PEEK: do not set \Seen
  FetchSection section;              // kBodySection only
  std::optional<uint64_t> partial_offset;
  std::optional<uint64_t> partial_length;
};

struct FetchRequest {
  std::vector<FetchItem> items;
  std::optional<uint64_t> changedsince;  // RFC 7162 §3.1.4.1
  // RFC 7162 §3.2.6 VANISHED modifier (with CHANGEDSINCE; the server
  // allows it only for UID FETCH with QRESYNC enabled).
  bool vanished = false;
  // True when any item sets \Seen (BODY[...] without PEEK, RFC822,
  // RFC822.TEXT).
  bool sets_seen = false;
};

// args = the FETCH arguments after the sequence set: fetch-att, macro, or a
// parenthesised list, then an optional modifier list "(CHANGEDSINCE n)",
// "(CHANGEDSINCE n VANISHED)" (either order).
// Macros ALL/FAST/FULL expand (RFC 3501 §6.4.5).
bool ParseFetch(ArgList args, FetchRequest* out, ArgError* err);

// The item's name in the FETCH response: "BODY[1.HEADER.FIELDS (A B)]<0>"
// (only the origin octet is echoed, RFC 3501 §7.4.2).
std::string FetchItemResponseName(const FetchItem& item);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_FETCH_H_
