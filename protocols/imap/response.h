// IMAP response formatting (RFC 3501 §7): tagged status with response
// codes, untagged data, sets, dates and the CAPABILITY string. Everything
// appends to a caller-owned std::string.
#ifndef RINGMAIL_PROTOCOLS_IMAP_RESPONSE_H_
#define RINGMAIL_PROTOCOLS_IMAP_RESPONSE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/args.h"

namespace ringmail::imap {

enum class Status : uint8_t { kOk, kNo, kBad };

// "tag OK [code] text\r\n"; empty code omits the brackets. `code` is the
// text inside the brackets, built with the Code* helpers below.
void AppendTagged(std::string* out, std::string_view tag, Status status,
                  std::string_view code, std::string_view text);
// "* OK [code] text\r\n" (also NO/BAD); "* BYE text\r\n".
void AppendUntaggedStatus(std::string* out, Status status,
                          std::string_view code, std::string_view text);
void AppendBye(std::string* out, std::string_view text);

// Response codes (RFC 3501 §7.1, RFC 4315, RFC 5530, RFC 7162).
std::string CodeUidValidity(uint32_t v);
std::string CodeUidNext(uint32_t v);
std::string CodeUnseen(uint32_t msn);
std::string CodeHighestModSeq(uint64_t v);
std::string CodePermanentFlags(const FlagSet& flags, bool allow_new_keywords);
std::string CodeAppendUid(uint32_t uidvalidity, uint32_t uid);
std::string CodeCopyUid(uint32_t uidvalidity, std::string_view src_set,
                        std::string_view dst_set);
std::string CodeCapability(std::string_view capabilities);
inline constexpr std::string_view kCodeReadOnly = "READ-ONLY";
inline constexpr std::string_view kCodeReadWrite = "READ-WRITE";
inline constexpr std::string_view kCodeTryCreate = "TRYCREATE";
inline constexpr std::string_view kCodeAlert = "ALERT";
inline constexpr std::string_view kCodeNonExistent = "NONEXISTENT";
inline constexpr std::string_view kCodeAlreadyExists = "ALREADYEXISTS";
inline constexpr std::string_view kCodeCannot = "CANNOT";
inline constexpr std::string_view kCodeLimit = "LIMIT";
inline constexpr std::string_view kCodeOverQuota = "OVERQUOTA";
inline constexpr std::string_view kCodeServerBug = "SERVERBUG";
inline constexpr std::string_view kCodeTooBig = "TOOBIG";

// "(\Seen \Answered keyword)" in a fixed order.
std::string FormatFlagList(const FlagSet& flags);

// Untagged data.
void AppendExists(std::string* out, uint32_t n);
void AppendRecent(std::string* out, uint32_t n);
void AppendExpunge(std::string* out, uint32_t msn);
void AppendFlags(std::string* out, const FlagSet& flags);
// "* n FETCH (" + items + ")\r\n"; items are preformatted by the server.
void AppendFetch(std::string* out, uint32_t msn, std::string_view items);
// "* SEARCH 1 2 3\r\n" (optionally " (MODSEQ n)", RFC 7162 §3.1.5).
void AppendSearch(std::string* out, const std::vector<uint32_t>& numbers,
                  uint64_t highest_modseq = 0);
void AppendEnabled(std::string* out, const std::vector<std::string>& caps);
void AppendCapability(std::string* out, std::string_view capabilities);

// Mailbox attributes for LIST/LSUB (RFC 3501 §7.2.2, RFC 3348, RFC 6154).
enum MailboxAttr : uint32_t {
  kAttrNoinferiors = 1 << 0,
  kAttrNoselect = 1 << 1,
  kAttrMarked = 1 << 2,
  kAttrUnmarked = 1 << 3,
  kAttrHasChildren = 1 << 4,
  kAttrHasNoChildren = 1 << 5,
  kAttrNonExistent = 1 << 6,
  kAttrSubscribed = 1 << 7,
  kAttrAll = 1 << 8,
  kAttrArchive = 1 << 9,
  kAttrDrafts = 1 << 10,
  kAttrFlagged = 1 << 11,
  kAttrJunk = 1 << 12,
  kAttrSent = 1 << 13,
  kAttrTrash = 1 << 14,
};
// `mailbox_wire` is the name already encoded for the wire (modified UTF-7
// unless UTF8=ACCEPT); it is sent quoted, or as a literal if it needs one.
void AppendList(std::string* out, std::string_view command /*LIST|LSUB*/,
                uint32_t attrs, char delimiter, std::string_view mailbox_wire);
// "* STATUS name (MESSAGES 1 UIDNEXT 2)\r\n"; `items` preformatted pairs.
void AppendStatus(std::string* out, std::string_view mailbox_wire,
                  std::string_view items);
// "* ID (\"name\" \"ringmail\" ...)\r\n" or "* ID NIL\r\n".
void AppendId(std::string* out,
              const std::vector<std::pair<std::string, std::string>>& params);
// Personal namespace only: * NAMESPACE (("" "/")) NIL NIL
void AppendNamespace(std::string* out, std::string_view prefix, char delimiter);

// IMAP string: quoted when possible, otherwise a synchronising literal
// (RFC 3501 §4.3). NOTE for the lead: a private stand-in until
// //protocols/mime:imap_string exists; merge then.
void AppendImapString(std::string* out, std::string_view s);

// INTERNALDATE: "\"dd-Mon-yyyy hh:mm:ss +zzzz\"" (RFC 3501 §9 date-time).
std::string FormatInternalDate(int64_t unix_seconds, int zone_minutes);

struct CapabilityOptions {
  bool starttls = false;         // offer STARTTLS (only before TLS)
  bool login_disabled = false;   // LOGINDISABLED (no TLS yet)
  bool authenticated = false;    // after login: no AUTH=, SASL-IR, STARTTLS
  bool condstore = false;        // CONDSTORE QRESYNC (RFC 7162)
  bool quota = false;            // RFC 9208 QUOTA (after login, like Dovecot)
};
// "IMAP4rev1 LITERAL+ ..." without "* CAPABILITY".
std::string BuildCapabilities(const CapabilityOptions& opt);

}  // namespace ringmail::imap

#endif  // RINGMAIL_PROTOCOLS_IMAP_RESPONSE_H_
