// Parsers for IMAP command arguments that are not programs of their own:
// mailbox names, flags, dates, STORE, STATUS, APPEND, ENABLE, ID, LOGIN and
// AUTHENTICATE PLAIN. Each takes AST nodes from the CommandReader and fails
// with the text for "tag BAD <text>" (or NO where noted).
#ifndef RINGMAIL_PROTOCOLS_IMAP_ARGS_H_
#define RINGMAIL_PROTOCOLS_IMAP_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/imap/arg.h"

namespace ringmail::imap {

struct ArgError {
  std::string_view text;  // for "tag BAD <text>\r\n"
};

// Mailbox (RFC 3501 §9 mailbox = "INBOX" / astring), decoded to UTF-8 from
// modified UTF-7 (or taken as UTF-8 with UTF8=ACCEPT). "INBOX" in any case
// becomes "INBOX". Fails on bad encoding or names over kMaxMailboxName.
bool ParseMailbox(const Arg& a, bool utf8_accept, std::string* out,
                  ArgError* err);

enum FlagBit : uint8_t {
  kFlagSeen = 1 << 0,
  kFlagAnswered = 1 << 1,
  kFlagFlagged = 1 << 2,
  kFlagDeleted = 1 << 3,
  kFlagDraft = 1 << 4,
  kFlagRecent = 1 << 5,  // never storable
};

struct FlagSet {
  uint8_t system = 0;                   // FlagBit set
  std::vector<std::string> keywords;    // as given (case preserved)
};

// Parses one flag name into *set: system flags case-insensitively,
// keywords as atoms. `storable` refuses \Recent and unknown "\X" flags
// (RFC 3501 §2.3.2: \Recent cannot be altered by the client).
bool AddFlag(std::string_view flag, bool storable, FlagSet* set,
             ArgError* err);
// A parenthesised flag list (at most kMaxFlags flags).
bool ParseFlagList(const Arg& a, bool storable, FlagSet* set, ArgError* err);

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP
// zone DQUOTE (RFC 3501 §9). Returns seconds since the epoch (UTC) and the
// zone offset in minutes.
bool ParseDateTime(std::string_view s, int64_t* unix_seconds,
                   int* zone_minutes);
// date = date-text / DQUOTE date-text DQUOTE, date-text "d-Mon-yyyy".
// Returns the day as days since 1970-01-01.
bool ParseDate(std::string_view s, int64_t* days);

enum class StoreMode : uint8_t { kReplace, kAdd, kRemove };
struct StoreArgs {
  std::string_view set;                 // sequence set text (Command args[0])
  std::optional<uint64_t> unchangedsince;  // RFC 7162 §3.1.3
  StoreMode mode = StoreMode::kReplace;
  bool silent = false;
  FlagSet flags;
};
// args: sequence-set [SP "(" UNCHANGEDSINCE n ")"] SP store-att-flags
bool ParseStore(ArgList args, StoreArgs* out, ArgError* err);

enum StatusItem : uint8_t {
  kStatusMessages = 1 << 0,
  kStatusRecent = 1 << 1,
  kStatusUidNext = 1 << 2,
  kStatusUidValidity = 1 << 3,
  kStatusUnseen = 1 << 4,
  kStatusHighestModSeq = 1 << 5,  // RFC 7162
};
// args: mailbox SP "(" status-att *(SP status-att) ")"
bool ParseStatus(ArgList args, bool utf8_accept, std::string* mailbox,
                 uint8_t* items, ArgError* err);

struct AppendArgs {
  std::string mailbox;
  FlagSet flags;
  std::optional<int64_t> internal_date;  // unix seconds
};
// The arguments of a kAppendBegin command (before the message literal).
bool ParseAppend(ArgList args, bool utf8_accept, AppendArgs* out,
                 ArgError* err);

// ENABLE capabilities: 1*(SP atom), upper-cased.
bool ParseEnable(ArgList args, std::vector<std::string>* caps, ArgError* err);

// ID: "(" *(string SP nstring) ")" / NIL (RFC 2971). Values may be absent.
bool ParseId(ArgList args,
             std::vector<std::pair<std::string, std::optional<std::string>>>* params,
             ArgError* err);

// LOGIN userid password (both astrings).
bool ParseLogin(ArgList args, std::string* user, std::string* password,
                ArgError* err);

// Strict base64 (RFC 4648 alphabet, padding required), at most max_out
// decoded octets. "=" alone (RFC 4422 empty response) decodes to "".
bool DecodeBase64(std::string_view in, size_t max_out, std::string* out);
std::string EncodeBase64(std::string_view in);

// AUTHENTICATE mechanism [SP initial-response] (RFC 3501 §6.2.2, RFC 4959).
// *initial is set when SASL-IR was used ("=" means empty).
bool ParseAuthenticate(ArgList args, std::string* mechanism,
                       std::optional<std::string_view>* initial,
                       ArgError* err);

// SASL PLAIN message (RFC 4616) from base64: authzid NUL authcid NUL passwd.
// "*" alone (client cancel) fails with "Authentication cancelled".
bool DecodeSaslPlain(std::string_view base64, std::string* authzid,
                     std::string* authcid, std::string* password,
                     ArgError* err);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_ARGS_H_
