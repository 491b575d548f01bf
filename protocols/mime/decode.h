// Content-Transfer-Encoding decoders (RFC 2045 §6.7 quoted-printable, §6.8
// base64) and a case-insensitive substring matcher, for IMAP SEARCH
// BODY / TEXT. Both decoders are streaming (feed any chunking, the output is
// the same) and lenient like Dovecot: base64 skips octets outside the
// alphabet and stops at '='; quoted-printable passes malformed '=' sequences
// through literally. Output is bounded by `max_output`: once reached, further
// output is dropped and overflowed() is set, so memory stays bounded.
#ifndef RINGMAIL_PROTOCOLS_MIME_DECODE_H_
#define RINGMAIL_PROTOCOLS_MIME_DECODE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringmail::mime {

inline constexpr size_t kDefaultMaxDecoded = 64 * 1024 * 1024;

class Base64Decoder {
 public:
  explicit Base64Decoder(size_t max_output = kDefaultMaxDecoded)
      : max_(max_output) {}
  // Appends decoded octets of `in` to *out.
  void Feed(std::string_view in, std::string* out);
  bool overflowed() const { return overflowed_; }
  size_t produced() const { return produced_; }

 private:
  void Emit(char c, std::string* out);
  size_t max_;
  size_t produced_ = 0;
  uint32_t acc_ = 0;
  int bits_ = 0;
  bool done_ = false;  // saw '=' padding
  bool overflowed_ = false;
};

class QuotedPrintableDecoder {
 public:
  explicit QuotedPrintableDecoder(size_t max_output = kDefaultMaxDecoded)
      : max_(max_output) {}
  void Feed(std::string_view in, std::string* out);
  // Flushes held-back input (trailing whitespace or a partial '=' escape at
  // the end of the body).
  void Finish(std::string* out);
  bool overflowed() const { return overflowed_; }
  size_t produced() const { return produced_; }

 private:
  void Emit(std::string_view s, std::string* out);
  void Line(std::string_view line, bool has_newline, std::string* out);
  size_t max_;
  size_t produced_ = 0;
  std::string pending_;  // the current, unfinished line (bounded: see .cc)
  bool overflowed_ = false;
};

enum class TransferEncoding { kIdentity, kBase64, kQuotedPrintable };

// Maps a Content-Transfer-Encoding value ("base64", "Quoted-Printable", ...)
// to a decoder; anything else (7bit, 8bit, binary, unknown) is identity.
TransferEncoding ParseTransferEncoding(std::string_view value);

// Whole-part decoding with the output bounded by `max_output`.
std::string DecodeBody(std::string_view body, TransferEncoding enc,
                       size_t max_output = kDefaultMaxDecoded);

// Streaming ASCII-case-insensitive substring search (Knuth-Morris-Pratt over
// folded octets; octets >= 0x80 compare exactly, so UTF-8 passes through).
// Feed() chunks in order; matched() stays true once the needle was seen
// anywhere, including across chunk boundaries. An empty needle matches.
class SubstringMatcher {
 public:
  explicit SubstringMatcher(std::string_view needle);
  // Returns matched().
  bool Feed(std::string_view chunk);
  bool matched() const { return matched_; }
  void Reset() { state_ = 0; matched_ = needle_.empty(); }

 private:
  std::string needle_;  // folded
  std::vector<uint32_t> fail_;
  uint32_t state_ = 0;
  bool matched_;
};

// One-shot helper.
bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle);

}  // namespace ringmail::mime

#endif  // RINGMAIL_PROTOCOLS_MIME_DECODE_H_
