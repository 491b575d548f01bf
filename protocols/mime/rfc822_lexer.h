// Low-level lexer for structured header values (RFC 5322 §3.2, RFC 2045 §5.1
// tokens). Shared by the Content-* field parser and the address parser.
// Lenient: an unterminated quoted string or comment ends at the end of the
// input instead of failing, like Dovecot's rfc822-parser.
#ifndef RINGMAIL_PROTOCOLS_MIME_RFC822_LEXER_H_
#define RINGMAIL_PROTOCOLS_MIME_RFC822_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::mime {

class Rfc822Lexer {
 public:
  explicit Rfc822Lexer(std::string_view s) : s_(s) {}

  // Skips whitespace, line breaks and (nested) comments. When `comment` is
  // given, it receives the text of the last comment skipped (outer
  // parentheses removed, escapes resolved).
  void SkipCfws(std::string* comment = nullptr);

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  void Advance() { if (!AtEnd()) ++pos_; }
  size_t pos() const { return pos_; }

  // RFC 5322 atext run (dots included when `dots`); empty if none.
  std::string_view ReadAtom(bool dots);
  // RFC 2045 token (any CHAR except SPACE, CTLs and tspecials); 8-bit octets
  // are accepted as Dovecot does.
  std::string_view ReadToken();
  // At '"': appends the unescaped content to *out and returns true.
  bool ReadQuoted(std::string* out);
  // At '[': appends the domain literal including brackets.
  bool ReadDomainLiteral(std::string* out);

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_RFC822_LEXER_H_
