#include "protocols/mime/decode.h"

#include <cstring>

#include "protocols/mime/header.h"

namespace ringmail::mime {
namespace {

// A quoted-printable line longer than this is decoded in pieces (RFC 2045
// allows 76; the bound keeps pending_ small on hostile input). A split may
// mis-handle trailing whitespace at the cut, which is harmless for SEARCH.
constexpr size_t kMaxQpLine = 8192;

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

char Fold(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

}  // namespace

void Base64Decoder::Emit(char c, std::string* out) {
  if (produced_ >= max_) {
    overflowed_ = true;
    return;
  }
  out->push_back(c);
  ++produced_;
}

void Base64Decoder::Feed(std::string_view in, std::string* out) {
  for (char ch : in) {
    if (done_) return;
    if (ch == '=') {
      done_ = true;  // padding: the rest is ignored (Dovecot does the same)
      return;
    }
    const int v = Base64Value(static_cast<unsigned char>(ch));
    if (v < 0) continue;
    acc_ = (acc_ << 6) | static_cast<uint32_t>(v);
    bits_ += 6;
    if (bits_ >= 8) {
      bits_ -= 8;
      Emit(static_cast<char>((acc_ >> bits_) & 0xff), out);
      acc_ &= (1u << bits_) - 1;
    }
  }
}

void QuotedPrintableDecoder::Emit(std::string_view s, std::string* out) {
  if (produced_ + s.size() > max_) {
    overflowed_ = true;
    s = s.substr(0, max_ - produced_);
  }
  out->append(s.data(), s.size());
  produced_ += s.size();
}

void QuotedPrintableDecoder::Line(std::string_view line, bool has_newline,
                                  std::string* out) {
  // RFC 2045 §6.7 rule 3: trailing whitespace is not part of the data.
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  bool soft_break = false;
  std::string decoded;
  decoded.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c != '=') {
      decoded.push_back(c);
      continue;
    }
    if (i + 1 == line.size()) {
      soft_break = true;  // "=" at the end of the line: soft line break
      break;
    }
    const int hi = i + 2 < line.size() ? HexValue(line[i + 1]) : -1;
    const int lo = i + 2 < line.size() ? HexValue(line[i + 2]) : -1;
    if (hi >= 0 && lo >= 0) {
      decoded.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      decoded.push_back('=');  // malformed: keep it literally
    }
  }
  if (has_newline && !soft_break) decoded.push_back('\n');
  Emit(decoded, out);
}

void QuotedPrintableDecoder::Feed(std::string_view in, std::string* out) {
  while (!in.empty()) {
    const void* nl = std::memchr(in.data(), '\n', in.size());
    if (nl == nullptr) {
      pending_.append(in.data(), in.size());
      if (pending_.size() > kMaxQpLine) {
        // Cut so that no '=XX' escape is split between the pieces.
        size_t cut = pending_.size() - 2;
        if (pending_[cut - 1] == '=') {
          cut -= 1;
        } else if (pending_[cut - 2] == '=') {
          cut -= 2;
        }
        Line(std::string_view(pending_).substr(0, cut), false, out);
        pending_.erase(0, cut);
      }
      return;
    }
    const size_t n = static_cast<size_t>(static_cast<const char*>(nl) - in.data());
    if (pending_.empty()) {
      Line(in.substr(0, n), true, out);
    } else {
      pending_.append(in.data(), n);
      Line(pending_, true, out);
      pending_.clear();
    }
    in.remove_prefix(n + 1);
  }
}

void QuotedPrintableDecoder::Finish(std::string* out) {
  if (!pending_.empty()) Line(pending_, false, out);
  pending_.clear();
}

TransferEncoding ParseTransferEncoding(std::string_view value) {
  if (EqualsIgnoreCase(value, "base64")) return TransferEncoding::kBase64;
  if (EqualsIgnoreCase(value, "quoted-printable")) {
    return TransferEncoding::kQuotedPrintable;
  }
  return TransferEncoding::kIdentity;
}

std::string DecodeBody(std::string_view body, TransferEncoding enc,
                       size_t max_output) {
  std::string out;
  switch (enc) {
    case TransferEncoding::kIdentity:
      out.assign(body.data(), std::min(body.size(), max_output));
      break;
    case TransferEncoding::kBase64: {
      Base64Decoder d(max_output);
      d.Feed(body, &out);
      break;
    }
    case TransferEncoding::kQuotedPrintable: {
      QuotedPrintableDecoder d(max_output);
      d.Feed(body, &out);
      d.Finish(&out);
      break;
    }
  }
  return out;
}

SubstringMatcher::SubstringMatcher(std::string_view needle)
    : needle_(needle), fail_(needle.size() + 1, 0),
      matched_(needle.empty()) {
  for (char& c : needle_) c = Fold(c);
  // fail_[i]: length of the longest proper border of needle_[0, i).
  uint32_t k = 0;
  for (size_t i = 1; i < needle_.size(); ++i) {
    while (k > 0 && needle_[i] != needle_[k]) k = fail_[k];
    if (needle_[i] == needle_[k]) ++k;
    fail_[i + 1] = k;
  }
}

bool SubstringMatcher::Feed(std::string_view chunk) {
  if (matched_) return true;
  for (char raw : chunk) {
    const char c = Fold(raw);
    while (state_ > 0 && needle_[state_] != c) state_ = fail_[state_];
    if (needle_[state_] == c) ++state_;
    if (state_ == needle_.size()) {
      matched_ = true;
      return true;
    }
  }
  return false;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  SubstringMatcher m(needle);
  return m.Feed(haystack);
}

}  // namespace ringmail::mime
