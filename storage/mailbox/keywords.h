// dovecot-keywords: the map from Maildir keyword letters to IMAP keywords.
//
// One "<index> <keyword>\n" line per keyword; the letter 'a'+index in a
// file name's ":2," info means the message has that keyword (Dovecot's
// maildir-keywords.c, at most 26). Updated under the dotlock
// "dovecot-keywords.lock" whose contents become the new file.
#ifndef RINGMAIL_STORAGE_MAILBOX_KEYWORDS_H_
#define RINGMAIL_STORAGE_MAILBOX_KEYWORDS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/mailbox/dotlock.h"

namespace ringmail::storage {

inline constexpr std::string_view kKeywordsFileName = "dovecot-keywords";
inline constexpr int kMaxMaildirKeywords = 26;
inline constexpr size_t kMaxKeywordBytes = 255;
inline constexpr size_t kMaxKeywordsFileBytes = 64 * 1024;

class MaildirKeywords {
 public:
  // Parses the file. Lines that are malformed, out of range or duplicate
  // are skipped, as Dovecot does (it never fails a read on them).
  static MaildirKeywords Parse(std::string_view text);
  std::string Format() const;

  // Case-insensitive lookup (IMAP keywords are atoms compared
  // case-insensitively by Dovecot). nullopt if unknown.
  std::optional<int> IndexOf(std::string_view keyword) const;
  // "" when index is unused or out of range.
  std::string_view NameAt(int index) const;
  // Existing index, or the lowest free one. InvalidArgument for a name that
  // is not an IMAP atom (RFC 3501 flag-keyword) or starts with '\\';
  // ResourceExhausted when all 26 letters are taken.
  absl::StatusOr<int> Assign(std::string_view keyword);
  // Keyword names for the bits of `mask` (bit i = letter 'a'+i).
  std::vector<std::string> NamesOf(uint32_t mask) const;
  bool empty() const;

 private:
  // The name at index i, or "" (unused); sized to the highest index in use
  // (at most kMaxMaildirKeywords), because every open folder holds one of
  // these and most folders have no keywords: a fixed array of 26 strings
  // would cost 832 bytes per folder.
  std::string_view At(size_t i) const {
    return i < names_.size() ? std::string_view(names_[i]) : std::string_view();
  }
  void Set(size_t i, std::string_view name) {
    if (names_.size() <= i) names_.resize(i + 1);
    names_[i] = std::string(name);
  }
  std::vector<std::string> names_;
};

// BLOCKING. Reads <folder>/dovecot-keywords (empty map when missing).
absl::StatusOr<MaildirKeywords> ReadKeywordsFile(const std::string& folder);

// BLOCKING: dotlock, re-read, assign every name, rewrite if anything was
// added. Returns the resulting map (what the caller must use to build file
// names). Fails as Dotlock::Acquire / MaildirKeywords::Assign.
absl::StatusOr<MaildirKeywords> AssignKeywordsBlocking(
    const std::string& folder, const std::vector<std::string>& keywords,
    const DotlockOptions& lock_opts);

}  // namespace ringmail::storage

#endif  // RINGMAIL_STORAGE_MAILBOX_KEYWORDS_H_
