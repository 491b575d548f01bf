// RFC 5322 §3.4 address-list parsing into IMAP ENVELOPE address structures
// (RFC 3501 §7.4.2). Lenient like Dovecot: never fails; junk octets are
// skipped. Encoded words (RFC 2047) are left raw.
//  - display name: phrase words joined by one space, quoted strings unquoted;
//    with no phrase, the last comment becomes the name ("a@b (Name)");
//  - route "<@x,@y:a@b>" gives adl "@x,@y";
//  - groups give (NIL NIL "name" NIL) ... (NIL NIL NIL NIL); an unterminated
//    group is closed at the end of the list;
//  - a missing local part or domain becomes "MISSING_MAILBOX" /
//    "MISSING_DOMAIN" so that host is never NIL outside group markers.
#ifndef RINGMAIL_PROTOCOLS_MIME_ADDRESS_H_
#define RINGMAIL_PROTOCOLS_MIME_ADDRESS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::mime {

// Addresses kept per header; the rest are dropped.
inline constexpr size_t kMaxAddresses = 1000;

struct Address {
  std::optional<std::string> name;
  std::optional<std::string> adl;
  std::optional<std::string> mailbox;  // group name for a group start marker
  std::optional<std::string> host;     // nullopt only in group markers
  bool operator==(const Address&) const = default;
};

// Parses an unfolded address-list header value.
std::vector<Address> ParseAddressList(std::string_view value,
                                      size_t max_addresses = kMaxAddresses);

// Appends "((name adl mailbox host)...)" or NIL when `list` is empty.
void AppendImapAddressList(std::string* out, const std::vector<Address>& list);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_ADDRESS_H_
