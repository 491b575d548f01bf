#include "protocols/smtp/address.h"

#include <cstdint>

#include "common/utf8.h"

namespace ringmail::smtp {
namespace {

bool IsAlpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsLetDig(unsigned char c, bool utf8) {
  return IsAlpha(c) || IsDigit(c) || (utf8 && c >= 0x80);
}

}  // namespace

// RFC 5322 atext; with SMTPUTF8, RFC 6531 §3.3 adds UTF8-non-ascii.
bool IsAtext(unsigned char c, bool utf8) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '/': case '=': case '?': case '^': case '_':
    case '`': case '{': case '|': case '}': case '~':
      return true;
    default:
      return utf8 && c >= 0x80;
  }
}

bool IsDotString(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i - 1] == '.') return false;  // empty atom
    } else if (!IsAtext(c, utf8)) {
      return false;
    }
  }
  return true;
}

namespace {

// qtextSMTP = %d32-33 / %d35-91 / %d93-126 (RFC 5321 §4.1.2).
bool IsQtext(unsigned char c, bool utf8) {
  return (c >= 32 && c <= 126 && c != '"' && c != '\\') || (utf8 && c >= 0x80);
}

// Returns the length of the Quoted-string at the start of `s`, or 0.
size_t QuotedStringLength(std::string_view s, bool utf8) {
  if (s.empty() || s[0] != '"') return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pairSMTP = %d92 %d32-126
      if (i + 1 >= s.size()) return 0;
      const unsigned char n = static_cast<unsigned char>(s[i + 1]);
      if (n < 32 || n > 126) return 0;
      ++i;
    } else if (!IsQtext(c, utf8)) {
      return 0;
    }
  }
  return 0;
}

bool IsIpv4(std::string_view s) {
  int groups = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && IsDigit(static_cast<unsigned char>(s[i])) &&
           digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    if (++groups == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

// IPv6-addr per RFC 5321 §4.1.3: hex groups, "::" at most once, an optional
// trailing IPv4 part. Checked structurally; the host does not route on it.
bool IsIpv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  int groups = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.substr(0, 2) == "::") {
    compressed = true;
    i = 2;
    if (i == s.size()) return true;
  } else if (s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && j - i < 5 &&
           (IsDigit(static_cast<unsigned char>(s[j])) ||
            ((s[j] | 0x20) >= 'a' && (s[j] | 0x20) <= 'f'))) {
      ++j;
    }
    if (j < s.size() && s[j] == '.') {  // embedded IPv4 ends the address
      if (!IsIpv4(s.substr(i))) return false;
      groups += 2;
      i = s.size();
      break;
    }
    if (j == i || j - i > 4) return false;
    ++groups;
    i = j;
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
      if (i == s.size()) break;
    } else if (i == s.size()) {
      return false;  // trailing single colon
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

}  // namespace

bool IsValidDomain(std::string_view s, bool allow_utf8) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      const std::string_view label = s.substr(label_start, i - label_start);
      // sub-domain = Let-dig [Ldh-str]: no leading/trailing hyphen.
      if (label.empty() || label.size() > 63 || label.front() == '-' ||
          label.back() == '-') {
        return false;
      }
      label_start = i + 1;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (!IsLetDig(c, allow_utf8) && c != '-') return false;
  }
  return true;
}

bool IsValidAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  const std::string_view body = s.substr(1, s.size() - 2);
  if (IsDigit(static_cast<unsigned char>(body[0]))) return IsIpv4(body);
  if (body.size() > 5 && EqualsIgnoreCase(body.substr(0, 5), "IPv6:")) {
    return IsIpv6(body.substr(5));
  }
  // General-address-literal = Standardized-tag ":" 1*dcontent
  const size_t colon = body.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      colon + 1 == body.size()) {
    return false;
  }
  const std::string_view tag = body.substr(0, colon);
  if (!IsLetDig(static_cast<unsigned char>(tag.back()), false)) return false;
  for (char c : tag) {
    if (!IsLetDig(static_cast<unsigned char>(c), false) && c != '-') {
      return false;
    }
  }
  for (char ch : body.substr(colon + 1)) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126))) return false;
  }
  return true;
}

AddressError ParsePath(std::string_view path, PathKind kind, bool allow_utf8,
                       EnvelopeAddress* out) {
  *out = EnvelopeAddress{};
  if (path.size() > kMaxPath) return AddressError::kTooLong;
  if (path.size() < 2 || path.front() != '<' || path.back() != '>') {
    return AddressError::kSyntax;
  }
  std::string_view inner = path.substr(1, path.size() - 2);
  if (inner.empty()) {
    if (kind != PathKind::kReversePath) return AddressError::kSyntax;
    out->null_path = true;
    return AddressError::kOk;
  }
  for (char c : inner) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      if (!allow_utf8) return AddressError::kUtf8NotAllowed;
      if (!common::IsValidUtf8(inner)) return AddressError::kBadUtf8;
      out->utf8 = true;
      break;
    }
  }
  // A-d-l source route: RFC 5321 §4.1.1.3 says to accept and ignore it.
  if (inner[0] == '@') {
    const size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return AddressError::kSyntax;
    std::string_view route = inner.substr(0, colon);
    while (!route.empty()) {
      if (route[0] != '@') return AddressError::kSyntax;
      const size_t comma = route.find(',');
      if (!IsValidDomain(route.substr(1, comma - 1), out->utf8)) {
        return AddressError::kSyntax;
      }
      route = comma == std::string_view::npos ? std::string_view()
                                              : route.substr(comma + 1);
      if (comma != std::string_view::npos && route.empty()) {
        return AddressError::kSyntax;
      }
    }
    inner.remove_prefix(colon + 1);
  }
  out->wire = inner;
  if (kind == PathKind::kForwardPath && EqualsIgnoreCase(inner, "postmaster")) {
    out->postmaster = true;
    out->local_wire = inner;
    for (size_t i = 0; i < inner.size(); ++i) {
      out->local_buf[i] = "postmaster"[i];
    }
    out->local_len = inner.size();
    return AddressError::kOk;
  }

  // Local-part = Dot-string / Quoted-string
  size_t local_len;
  bool quoted = false;
  if (inner[0] == '"') {
    local_len = QuotedStringLength(inner, out->utf8);
    if (local_len == 0) return AddressError::kSyntax;
    quoted = true;
  } else {
    local_len = inner.rfind('@');
    if (local_len == std::string_view::npos) return AddressError::kSyntax;
    if (!IsDotString(inner.substr(0, local_len), out->utf8)) {
      return AddressError::kSyntax;
    }
  }
  if (local_len >= inner.size() || inner[local_len] != '@') {
    return AddressError::kSyntax;
  }
  out->local_wire = inner.substr(0, local_len);
  out->domain_wire = inner.substr(local_len + 1);
  if (out->local_wire.size() > kMaxLocalPart ||
      out->domain_wire.size() > kMaxDomain) {
    return AddressError::kTooLong;
  }
  if (out->domain_wire.empty()) return AddressError::kSyntax;
  if (out->domain_wire[0] == '[') {
    if (!IsValidAddressLiteral(out->domain_wire)) return AddressError::kSyntax;
  } else if (!IsValidDomain(out->domain_wire, out->utf8)) {
    return AddressError::kSyntax;
  }

  // Canonical forms. Unquoting only ever shrinks, so the buffers suffice.
  size_t n = 0;
  if (quoted) {
    const std::string_view q = out->local_wire.substr(1, local_len - 2);
    for (size_t i = 0; i < q.size(); ++i) {
      if (q[i] == '\\') ++i;  // QuotedStringLength guaranteed a successor
      out->local_buf[n++] = q[i];
    }
  } else {
    for (char c : out->local_wire) out->local_buf[n++] = c;
  }
  out->local_len = n;
  n = 0;
  for (char c : out->domain_wire) {
    out->domain_buf[n++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
  out->domain_len = n;
  return AddressError::kOk;
}

}  // namespace ringmail::smtp
