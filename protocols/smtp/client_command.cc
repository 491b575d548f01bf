#include "protocols/smtp/client_command.h"

#include <string>

#include "absl/strings/match.h"
#include "protocols/smtp/address.h"

namespace ringmail::smtp {
namespace {

bool Iequals(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::string_view(a.data(), a.size()),
                                absl::string_view(b.data(), b.size()));
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// RFC 5321 §4.1.2 Quoted-string, with quoted-pairSMTP = "\" %d32-126.
bool IsQuotedString(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '"') return false;
    if (s[i] == '\\') {
      if (i + 2 >= s.size()) return false;  // would escape the closing quote
      ++i;
    }
  }
  return true;
}

// RFC 3461 §4: xtext = *( xchar / hexchar ), xchar = "!".."~" except "+"
// and "=", hexchar = "+" 2(uppercase HEXDIG).
bool IsXtext(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size()) return false;
      for (size_t k = i + 1; k <= i + 2; ++k) {
        const char h = s[k];
        if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
      }
      i += 2;
    } else if (c < '!' || c > '~' || c == '=') {
      return false;
    }
  }
  return true;
}

// RFC 3461 §4.1: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY.
bool IsNotify(std::string_view s) {
  if (Iequals(s, "NEVER")) return true;
  if (s.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string_view item = s.substr(
        start, comma == std::string_view::npos ? std::string_view::npos
                                               : comma - start);
    if (!Iequals(item, "SUCCESS") && !Iequals(item, "FAILURE") &&
        !Iequals(item, "DELAY")) {
      return false;
    }
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

// RFC 3461 §4.2: orcpt-parameter = "ORCPT=" addr-type ";" xtext.
bool IsOrcpt(std::string_view s) {
  const size_t semi = s.find(';');
  if (semi == 0 || semi == std::string_view::npos ||
      s.size() > kMaxOrcptLength) {
    return false;
  }
  for (size_t i = 0; i < semi; ++i) {
    if (!IsAtext(static_cast<unsigned char>(s[i]), /*utf8=*/false)) {
      return false;
    }
  }
  return IsXtext(s.substr(semi + 1));
}

void AppendUpper(std::string_view s, std::string* out) {
  for (char c : s) {
    out->push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A')
                                        : c);
  }
}

}  // namespace

bool AppendPath(std::string_view address, std::string* out) {
  if (address.empty()) {
    out->append("<>");
    return true;
  }
  if (address.size() > kMaxOutboundAddress) return false;
  for (char c : address) {
    if (IsControl(static_cast<unsigned char>(c))) return false;
  }
  const size_t at = address.rfind('@');
  std::string_view local = address;
  std::string_view domain;
  if (at == std::string_view::npos) {
    // RFC 5321 §4.1.1.3: RCPT TO:<Postmaster> is the one path without a
    // domain.
    if (!Iequals(address, "postmaster")) return false;
  } else {
    local = address.substr(0, at);
    domain = address.substr(at + 1);
    if (domain.empty()) return false;
    for (char c : domain) {
      if (c == ' ' || c == '<' || c == '>' || c == '"' || c == '\\') {
        return false;
      }
    }
  }
  out->push_back('<');
  if (IsDotString(local, /*utf8=*/true) || IsQuotedString(local)) {
    out->append(local.data(), local.size());
  } else {
    out->push_back('"');
    for (char c : local) {
      if (c == '"' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('"');
  }
  if (at != std::string_view::npos) {
    out->push_back('@');
    out->append(domain.data(), domain.size());
  }
  out->push_back('>');
  return true;
}

bool AppendMailCommand(const OutboundEnvelope& env,
                       const ServerCapabilities& caps, std::string* out) {
  const size_t mark = out->size();
  out->append("MAIL FROM:");
  if (!AppendPath(env.mail_from, out)) {
    out->resize(mark);
    return false;
  }
  if (caps.size && env.size > 0) {
    out->append(" SIZE=");
    out->append(std::to_string(env.size));
  }
  if (caps.eight_bit_mime && env.eight_bit) out->append(" BODY=8BITMIME");
  if (caps.smtputf8 && env.smtputf8) out->append(" SMTPUTF8");
  if (caps.dsn) {
    if (Iequals(env.ret, "FULL") || Iequals(env.ret, "HDRS")) {
      out->append(" RET=");
      AppendUpper(env.ret, out);
    }
    if (!env.envid.empty() && env.envid.size() <= kMaxEnvidLength &&
        IsXtext(env.envid)) {
      out->append(" ENVID=");
      out->append(env.envid);
    }
  }
  out->append("\r\n");
  return true;
}

bool AppendRcptCommand(const OutboundRecipient& rcpt,
                       const ServerCapabilities& caps, std::string* out) {
  if (rcpt.address.empty()) return false;
  const size_t mark = out->size();
  out->append("RCPT TO:");
  if (!AppendPath(rcpt.address, out)) {
    out->resize(mark);
    return false;
  }
  if (caps.dsn) {
    if (IsNotify(rcpt.notify)) {
      out->append(" NOTIFY=");
      AppendUpper(rcpt.notify, out);
    }
    if (IsOrcpt(rcpt.orcpt)) {
      out->append(" ORCPT=");
      out->append(rcpt.orcpt);
    }
  }
  out->append("\r\n");
  return true;
}

}  // namespace ringmail::smtp
