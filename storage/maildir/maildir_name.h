// Maildir file names, as written by Dovecot and the Maildir spec.
//
//   tmp/  <secs>.M<usecs>P<pid>Q<core>_<seq>.<host>
//   new/  <base>,S=<size>,W=<vsize>
//   cur/  <base>,S=<size>,W=<vsize>:2,<flags>
//
// S= is the size on disk (LF line endings), W= the size a client sees with
// CRLF endings (S + number of LF). Pure functions: no I/O, thread-safe.
#ifndef RINGMAIL_STORAGE_MAILDIR_MAILDIR_NAME_H_
#define RINGMAIL_STORAGE_MAILDIR_MAILDIR_NAME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ringmail::storage {

// Longest file name we generate or accept (NAME_MAX on Linux).
inline constexpr size_t kMaxMaildirNameLength = 255;
// Longest host name part, so a generated name always fits NAME_MAX.
inline constexpr size_t kMaxMaildirHostLength = 128;

// The fields of a unique base name.
struct UniqueName {
  int64_t secs = 0;
  int64_t usecs = 0;  // 0..999999
  int64_t pid = 0;
  int core = 0;
  uint64_t seq = 0;
  std::string host;  // already sanitised (see SanitizeMaildirHost)
};

// Escapes a host name for use in a Maildir name: '/' -> "\057",
// ':' -> "\072" (Maildir spec, Dovecot), and also ',' -> "\054" because
// ',' starts the S=/W= fields. Truncated to kMaxMaildirHostLength bytes
// (never in the middle of an escape). Empty input yields "localhost".
std::string SanitizeMaildirHost(std::string_view host);

// "<secs>.M<usecs>P<pid>Q<core>_<seq>.<host>". `name.host` must already be
// sanitised.
std::string FormatUniqueName(const UniqueName& name);

// Parses a unique base name produced by FormatUniqueName. InvalidArgument if
// it does not have exactly that shape (foreign names are valid Maildir
// names, just not ours; callers decide whether that matters).
absl::StatusOr<UniqueName> ParseUniqueName(std::string_view base);

// "<base>,S=<size>,W=<vsize>".
std::string FormatNewName(std::string_view base, uint64_t size,
                          uint64_t vsize);

// Normalises Maildir info flags: system flags D F P R S T, then keyword
// letters a-z, each once, in ASCII order. InvalidArgument on any other
// character.
absl::StatusOr<std::string> NormalizeMaildirFlags(std::string_view flags);

// "<new_name>:2,<flags>" with flags normalised; InvalidArgument on a bad
// flag or if `new_name` already has an info part.
absl::StatusOr<std::string> FormatCurName(std::string_view new_name,
                                          std::string_view flags);

// The parts of any Maildir file name. Views point into the parsed string.
struct ParsedMaildirName {
  std::string_view base;           // up to the first ',' or ':'
  std::optional<uint64_t> size;    // S=
  std::optional<uint64_t> vsize;   // W=
  bool has_info = false;           // ":2," present
  std::string flags;               // normalised, when has_info
};

// Parses "<base>[,<key>=<value>...][:2,<flags>]". Unknown ",key=value"
// fields are ignored (other software adds some). InvalidArgument for an
// empty base, a name containing '/' or NUL, a name longer than
// kMaxMaildirNameLength, a malformed S=/W= number, an info part other than
// "2,<flags>", or a bad flag.
absl::StatusOr<ParsedMaildirName> ParseMaildirName(std::string_view name);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILDIR_MAILDIR_NAME_H_
