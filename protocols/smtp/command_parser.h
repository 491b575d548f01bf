// SMTP command lines and command argument parsers.
//
// LineReader (common/line_reader.h) splits a byte stream into command lines
// of at most kMaxCommandLine octets without copying, with memory bounded
// whatever the client sends; ParseCommandLine and the parsers below take
// those lines apart.
#ifndef RINGMAIL_PROTOCOLS_SMTP_COMMAND_PARSER_H_
#define RINGMAIL_PROTOCOLS_SMTP_COMMAND_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/line_reader.h"
#include "protocols/smtp/command_table.h"
#include "protocols/smtp/xtext.h"  // kMaxEnvidLength, kMaxOrcptLength

namespace ringmail::smtp {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including CRLF.
inline constexpr size_t kMaxCommandLine = 512;

// The command line reader (common/line_reader.h): kTooLong answers 500 and
// the reader silently discards through the next LF, then resynchronises.
using LineReader = common::LineReader<kMaxCommandLine>;

struct CommandLine {
  const CommandSpec* spec = nullptr;  // nullptr: verb not implemented
  std::string_view verb;
  std::string_view args;  // after the first SP, trailing spaces trimmed
};

// Splits a line into verb and arguments. Never fails; an unknown verb leaves
// spec == nullptr.
CommandLine ParseCommandLine(std::string_view line);

// "FROM:<path> params" / "TO:<path> params". The keyword is matched
// case-insensitively and, like Postfix, spaces after the colon are tolerated.
// On success *path is the "<...>" text (a '>' inside a quoted local part does
// not end it) and *params the rest (possibly empty).
bool SplitPathArgs(std::string_view args, std::string_view keyword,
                   std::string_view* path, std::string_view* params);

enum class BodyType : uint8_t { k7Bit, k8BitMime };

// RFC 3461 §4.3 RET.
enum class DsnRet : uint8_t { kUnset, kFull, kHdrs };

struct MailParams {
  bool has_size = false;
  uint64_t size = 0;
  BodyType body = BodyType::k7Bit;
  bool smtputf8 = false;
  DsnRet ret = DsnRet::kUnset;
  std::string_view envid;  // xtext as received (a view into the params)
};

enum class ParamError {
  kOk,
  kSyntax,       // malformed esmtp-param / value: 501 5.5.4
  kUnsupported,  // unknown keyword or value we did not advertise: 555 5.5.4
};

// Parses MAIL parameters (RFC 5321 §4.1.2 Mail-parameters): SIZE (RFC 1870),
// BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), RET=FULL|HDRS and
// ENVID=xtext (RFC 3461 §4.3, §4.4; a bad value, a decoded ENVID that is
// empty, longer than kMaxEnvidLength or not printable ASCII, or RET/ENVID
// given twice is kSyntax). BINARYMIME is not advertised and is
// kUnsupported. *bad names the offending parameter.
ParamError ParseMailParams(std::string_view params, MailParams* out,
                           std::string_view* bad);

// RFC 3461 §4.1 NOTIFY, as a bit set.
enum NotifyBit : uint8_t {
  kNotifyNever = 1 << 0,
  kNotifySuccess = 1 << 1,
  kNotifyFailure = 1 << 2,
  kNotifyDelay = 1 << 3,
};

struct RcptParams {
  uint8_t notify = 0;      // NotifyBit set; 0 when NOTIFY was not given
  std::string_view orcpt;  // "addr-type;xtext" as received, or empty
};

// Parses RCPT parameters: NOTIFY=NEVER or a comma list of SUCCESS, FAILURE
// and DELAY (case-insensitive), and ORCPT=addr-type;xtext (RFC 3461 §4.1,
// §4.2) where addr-type is an atom and the address is non-empty xtext, the
// whole at most kMaxOrcptLength. With `smtputf8` an ORCPT of type "utf-8"
// may carry raw UTF-8 (RFC 6533 §3 utf-8-addr-unitext). Malformed or
// repeated parameters are kSyntax, unknown keywords kUnsupported. *bad
// names the offending parameter.
ParamError ParseRcptParams(std::string_view params, bool smtputf8,
                           RcptParams* out, std::string_view* bad);

// "NEVER", or "SUCCESS", "FAILURE", "DELAY" joined by ',' in that order;
// "" for 0.
std::string NotifyText(uint8_t notify);

// RFC 3030: "BDAT" SP chunk-size [SP end-marker]. chunk-size is 1*DIGIT.
bool ParseBdatArgs(std::string_view args, uint64_t* size, bool* last);

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_COMMAND_PARSER_H_
