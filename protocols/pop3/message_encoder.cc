#include "protocols/pop3/message_encoder.h"

#include <cstring>

namespace ringmail::pop3 {

MessageEncoder MessageEncoder::Top(uint64_t body_lines) {
  MessageEncoder e;
  e.top_ = true;
  e.body_lines_left_ = body_lines;
  return e;
}

bool MessageEncoder::Feed(std::string_view in, std::string* out) {
  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end && !done_) {
    if (line_start_) {
      if (*p == '.') out->push_back('.');  // RFC 1939 §3 byte-stuffing
      line_start_ = false;
    }
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', end - p));
    const char* seg_end = lf == nullptr ? end : lf;
    if (seg_end > p) {
      out->append(p, seg_end - p);
      line_len_ += seg_end - p;
      prev_cr_ = seg_end[-1] == '\r';
    }
    if (lf == nullptr) break;
    // A stored CRLF is kept; a bare LF becomes CRLF.
    out->append(prev_cr_ ? "\n" : "\r\n");
    const bool blank = line_len_ == 0 || (line_len_ == 1 && prev_cr_);
    if (top_) {
      if (in_header_) {
        if (blank) {
          in_header_ = false;
          if (body_lines_left_ == 0) done_ = true;
        }
      } else if (--body_lines_left_ == 0) {
        done_ = true;
      }
    }
    line_start_ = true;
    prev_cr_ = false;
    line_len_ = 0;
    p = lf + 1;
  }
  return !done_;
}

void MessageEncoder::Finish(std::string* out) {
  if (!line_start_) out->append("\r\n");
  out->append(".\r\n");
  line_start_ = true;
  done_ = true;
}

std::string EncodeMessageReference(std::string_view message, bool top,
                                   uint64_t body_lines) {
  // Split into lines (the last may be unterminated), then emit line by line.
  std::string out;
  bool header = true;
  uint64_t left = body_lines;
  size_t start = 0;
  while (start < message.size()) {
    if (top && !header && left == 0) break;
    size_t lf = message.find('\n', start);
    const bool terminated = lf != std::string_view::npos;
    std::string_view line = message.substr(start, terminated ? lf - start : std::string_view::npos);
    if (!line.empty() && line[0] == '.') out.push_back('.');
    out.append(line);
    if (!terminated) {
      out.append("\r\n");
      break;
    }
    out.append(!line.empty() && line.back() == '\r' ? "\n" : "\r\n");
    if (top) {
      if (header) {
        if (line.empty() || line == "\r") header = false;
      } else {
        --left;
      }
    }
    start = lf + 1;
  }
  out.append(".\r\n");
  return out;
}

}  // namespace ringmail::pop3
