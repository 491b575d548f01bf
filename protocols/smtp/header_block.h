// The header block of a submitted message, held back while it streams in so
// the session can add the fields RFC 6409 §8.1/§8.2 let a submission server
// supply (Date, Message-ID) in front of it before anything reaches storage.
//
// Input is the DATA scanner's output (LF line endings, dot-unstuffed), in
// pieces of any size. The block ends at the first empty line (RFC 5322 §2.1)
// or, for a message without one, at the end of the message. It is bounded by
// kMaxHeaderBlock: a longer header is passed on unexamined (we never guess,
// so nothing is added to it).
#ifndef RINGMAIL_PROTOCOLS_SMTP_HEADER_BLOCK_H_
#define RINGMAIL_PROTOCOLS_SMTP_HEADER_BLOCK_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmail::smtp {

class HeaderBlock {
 public:
  static constexpr size_t kMaxHeaderBlock = 64 << 10;

  // Forget everything; start collecting a new message's header.
  void Reset();

  // Collecting: the block has neither ended nor overflowed.
  bool collecting() const { return !complete_; }

  // Appendable space of at least 1 octet (at most what is left below the
  // limit). Only while collecting(); every Reserve must be followed by a
  // Commit (possibly of 0) before anything else is called.
  char* Reserve(size_t* capacity);
  // The first `n` octets written at the last Reserve are header (or body)
  // data. Sets complete when an empty line was seen or the limit reached.
  void Commit(size_t n);
  // The message ended: what was held is the whole message.
  void Finish() { Complete(false); }

  // After completion: the held octets (header, possibly followed by the
  // start of the body), to be written to storage unchanged.
  std::string_view held() const { return buf_; }
  // Whether an examined header lacks the field. Always false when the
  // header overflowed the limit (not examined).
  bool missing_date() const { return examined_ && !has_date_; }
  bool missing_message_id() const { return examined_ && !has_message_id_; }

 private:
  void Complete(bool overflow);

  std::string buf_;
  size_t reserved_at_ = 0;  // buf_'s size before the last Reserve
  size_t scanned_ = 0;      // octets of buf_ already searched for "\n\n"
  bool complete_ = false;
  bool examined_ = false;
  bool has_date_ = false;
  bool has_message_id_ = false;
};

}  // namespace ringmail::smtp

#endif  // RINGMAIL_PROTOCOLS_SMTP_HEADER_BLOCK_H_
