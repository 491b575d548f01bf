#include "protocols/smtp/client_reply.h"

#include <cstring>
#include <string>

namespace ringmail::smtp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of a leading RFC 3463 code "c.s.d" (class c == reply_class,
// subject and detail 1*3DIGIT) followed by SP or the end, else 0.
size_t EnhancedCodeLength(std::string_view text, int reply_class) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + reply_class) ||
      text[1] != '.') {
    return 0;
  }
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const size_t start = i;
    while (i < text.size() && i - start < 4 && IsDigit(text[i])) ++i;
    const size_t digits = i - start;
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

// RFC 1870 size-value = 1*20DIGIT; false when malformed or over 2^64-1.
bool ParseSize(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

std::string ServerReply::ToString() const {
  std::string s = std::to_string(code);
  if (!enhanced.empty()) {
    s.push_back(' ');
    s.append(enhanced);
  }
  if (!text.empty()) {
    s.push_back(' ');
    const size_t at = s.size();
    s.append(text);
    for (size_t i = at; i < s.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == 0x7f) s[i] = ' ';
    }
  }
  return s;
}

ServerReply LocalReply(int code, std::string_view enhanced,
                       std::string_view text) {
  ServerReply r;
  r.code = code;
  r.enhanced.assign(enhanced.data(), enhanced.size());
  r.text.assign(text.data(), text.size());
  r.synthetic = true;
  return r;
}

ReplyParser::Status ReplyParser::Next(std::string_view in, size_t* consumed,
                                      ServerReply* reply, std::string* error) {
  *consumed = 0;
  if (dead_) {
    *error = "reply parser already failed";
    return Status::kError;
  }
  const auto fail = [&](std::string why) {
    dead_ = true;
    partial_.clear();
    partial_.shrink_to_fit();
    *error = std::move(why);
    return Status::kError;
  };
  const auto too_long = [] {
    return "reply line longer than " + std::to_string(kMaxReplyLine) +
           " octets";
  };
  size_t pos = 0;
  while (pos < in.size()) {
    const char* start = in.data() + pos;
    const size_t avail = in.size() - pos;
    const char* lf = static_cast<const char*>(std::memchr(start, '\n', avail));
    if (lf == nullptr) {
      // A line of kMaxReplyLine octets without its LF can only get longer.
      if (partial_.size() + avail >= kMaxReplyLine) return fail(too_long());
      partial_.append(start, avail);
      pos = in.size();
      break;
    }
    const size_t n = static_cast<size_t>(lf - start);
    std::string_view line;
    if (partial_.empty()) {
      line = std::string_view(start, n);
    } else {
      if (partial_.size() + n >= kMaxReplyLine) return fail(too_long());
      partial_.append(start, n);
      line = partial_;
    }
    if (line.size() >= kMaxReplyLine) return fail(too_long());  // + LF
    pos += n + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool done = false;
    std::string why;
    const bool ok = Line(line, &done, &why);
    partial_.clear();  // after Line: `line` may point into partial_
    if (!ok) return fail(std::move(why));
    if (done) {
      *reply = std::move(current_);
      current_ = ServerReply();
      lines_ = 0;
      *consumed = pos;
      return Status::kReply;
    }
  }
  *consumed = pos;
  return Status::kNeedMore;
}

bool ReplyParser::Line(std::string_view line, bool* done, std::string* error) {
  // RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39, then "-" (more
  // lines follow), SP text, or nothing.
  if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
      line[1] > '5' || !IsDigit(line[2]) ||
      (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    *error = "malformed reply line";
    return false;
  }
  const int code =
      (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (lines_ == 0) {
    current_.code = code;
  } else if (code != current_.code) {
    // RFC 5321 §4.2.1: every line of a reply carries the same code.
    *error = "reply lines with different codes";
    return false;
  }
  if (++lines_ > kMaxReplyLines) {
    *error = "reply with more than " + std::to_string(kMaxReplyLines) +
             " lines";
    return false;
  }
  std::string_view text = line.size() > 4 ? line.substr(4) : "";
  if (enhanced_codes_) {
    const size_t len = EnhancedCodeLength(text, code / 100);
    if (len > 0) {
      if (current_.enhanced.empty()) {
        current_.enhanced.assign(text.data(), len);
      }
      text.remove_prefix(len < text.size() ? len + 1 : len);
    }
  }
  if (lines_ > 1) current_.text.push_back('\n');
  current_.text.append(text.data(), text.size());
  *done = line.size() == 3 || line[3] == ' ';
  return true;
}

ServerCapabilities ParseEhloCapabilities(std::string_view ehlo_text) {
  ServerCapabilities caps;
  caps.esmtp = true;
  size_t pos = ehlo_text.find('\n');  // line 1 is the greeting
  while (pos != std::string_view::npos) {
    const size_t start = pos + 1;
    pos = ehlo_text.find('\n', start);
    std::string_view line = ehlo_text.substr(
        start, pos == std::string_view::npos ? std::string_view::npos
                                             : pos - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    const size_t sp = line.find(' ');
    const std::string_view keyword = line.substr(0, sp);
    std::string_view param =
        sp == std::string_view::npos ? std::string_view() : line.substr(sp);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    if (EqualsIgnoreCase(keyword, "PIPELINING")) {
      caps.pipelining = true;
    } else if (EqualsIgnoreCase(keyword, "SIZE")) {
      caps.size = true;
      uint64_t limit = 0;
      caps.size_limit = ParseSize(param, &limit) ? limit : 0;
    } else if (EqualsIgnoreCase(keyword, "8BITMIME")) {
      caps.eight_bit_mime = true;
    } else if (EqualsIgnoreCase(keyword, "SMTPUTF8")) {
      caps.smtputf8 = true;
    } else if (EqualsIgnoreCase(keyword, "STARTTLS")) {
      caps.starttls = true;
    } else if (EqualsIgnoreCase(keyword, "DSN")) {
      caps.dsn = true;
    } else if (EqualsIgnoreCase(keyword, "ENHANCEDSTATUSCODES")) {
      caps.enhanced_status_codes = true;
    } else if (EqualsIgnoreCase(keyword, "CHUNKING")) {
      caps.chunking = true;
    }
  }
  return caps;
}

}  // namespace ringmail::smtp
