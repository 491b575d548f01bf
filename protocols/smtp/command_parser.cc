#include "protocols/smtp/command_parser.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "protocols/smtp/address.h"
#include "protocols/smtp/xtext.h"

namespace ringmail::smtp {
namespace {

char AsciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

// Only letters fold: "utf-8" must not match "utf\r8".
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// RFC 3461 §4.4: xtext whose decoded form is 1..kMaxEnvidLength printable
// ASCII characters (graphic and space).
bool IsValidEnvid(std::string_view xtext) {
  if (xtext.empty() || xtext.size() > 3 * kMaxEnvidLength) return false;
  const std::optional<std::string> id = XtextDecode(xtext);
  return id && !id->empty() && id->size() <= kMaxEnvidLength &&
         std::all_of(id->begin(), id->end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// RFC 3461 §4.2 "addr-type ; xtext", or with SMTPUTF8 RFC 6533 §3's
// "utf-8;" followed by UTF-8 (octets >= 0x80 are let through unchecked:
// the value is only ever copied into a DSN, which re-encodes it).
bool IsValidOrcpt(std::string_view v, bool smtputf8) {
  if (v.size() > kMaxOrcptLength) return false;
  const size_t semi = v.find(';');
  if (semi == 0 || semi == std::string_view::npos || semi + 1 == v.size()) {
    return false;
  }
  const std::string_view type = v.substr(0, semi);
  const std::string_view addr = v.substr(semi + 1);
  if (!std::all_of(type.begin(), type.end(), [](char c) {
        return IsAtext(static_cast<unsigned char>(c), /*utf8=*/false);
      })) {
    return false;
  }
  if (XtextDecode(addr)) return true;
  return smtputf8 && EqualsIgnoreCase(type, "utf-8") &&
         std::all_of(addr.begin(), addr.end(), [](char ch) {
           const unsigned char c = static_cast<unsigned char>(ch);
           return c >= 0x80 || (c > 0x20 && c < 0x7f && c != '+' && c != '=');
         });
}

// RFC 3461 §4.1: "NEVER" alone, or a non-empty comma list of SUCCESS,
// FAILURE and DELAY. 0 when malformed.
uint8_t ParseNotify(std::string_view v) {
  uint8_t bits = 0;
  while (true) {
    const size_t comma = v.find(',');
    const std::string_view item = v.substr(0, comma);
    if (EqualsIgnoreCase(item, "NEVER")) {
      if (bits != 0) return 0;
      bits = kNotifyNever;
    } else if (EqualsIgnoreCase(item, "SUCCESS")) {
      bits |= kNotifySuccess;
    } else if (EqualsIgnoreCase(item, "FAILURE")) {
      bits |= kNotifyFailure;
    } else if (EqualsIgnoreCase(item, "DELAY")) {
      bits |= kNotifyDelay;
    } else {
      return 0;  // includes an empty item ("A,,B", a trailing comma)
    }
    if (comma == std::string_view::npos) return bits;
    if ((bits & kNotifyNever) != 0) return 0;
    v.remove_prefix(comma + 1);
  }
}

// Takes the next space-separated esmtp-param off *params.
void NextParam(std::string_view* params, std::string_view* param,
               std::string_view* key, std::string_view* value,
               bool* has_value) {
  const size_t sp = params->find(' ');
  *param = params->substr(0, sp);
  *params = sp == std::string_view::npos ? std::string_view()
                                         : params->substr(sp + 1);
  while (!params->empty() && (*params)[0] == ' ') params->remove_prefix(1);
  const size_t eq = param->find('=');
  *key = param->substr(0, eq);
  *has_value = eq != std::string_view::npos;
  *value = *has_value ? param->substr(eq + 1) : std::string_view();
}

bool ParseDigits(std::string_view s, uint64_t* value) {
  // 19 digits cannot overflow uint64_t; larger sizes are nonsense anyway.
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

}  // namespace

CommandLine ParseCommandLine(std::string_view line) {
  CommandLine cmd;
  const size_t sp = line.find(' ');
  cmd.verb = line.substr(0, sp);
  if (sp != std::string_view::npos) {
    std::string_view args = line.substr(sp + 1);
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) {
      args.remove_suffix(1);
    }
    cmd.args = args;
  }
  cmd.spec = LookupCommand(cmd.verb);
  return cmd;
}

bool SplitPathArgs(std::string_view args, std::string_view keyword,
                   std::string_view* path, std::string_view* params) {
  if (args.size() < keyword.size() + 1 ||
      !EqualsIgnoreCase(args.substr(0, keyword.size()), keyword) ||
      args[keyword.size()] != ':') {
    return false;
  }
  args.remove_prefix(keyword.size() + 1);
  while (!args.empty() && args[0] == ' ') args.remove_prefix(1);
  if (args.empty() || args[0] != '<') return false;
  bool quoted = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const char c = args[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      *path = args.substr(0, i + 1);
      std::string_view rest = args.substr(i + 1);
      if (!rest.empty() && rest[0] != ' ') return false;
      while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
      *params = rest;
      return true;
    }
  }
  return false;
}

ParamError ParseMailParams(std::string_view params, MailParams* out,
                           std::string_view* bad) {
  *out = MailParams{};
  while (!params.empty()) {
    std::string_view key, value;
    bool has_value = false;
    NextParam(&params, bad, &key, &value, &has_value);
    if (EqualsIgnoreCase(key, "SIZE")) {
      if (!has_value || !ParseDigits(value, &out->size)) {
        return ParamError::kSyntax;
      }
      out->has_size = true;
    } else if (EqualsIgnoreCase(key, "BODY")) {
      if (!has_value) return ParamError::kSyntax;
      if (EqualsIgnoreCase(value, "7BIT")) {
        out->body = BodyType::k7Bit;
      } else if (EqualsIgnoreCase(value, "8BITMIME")) {
        out->body = BodyType::k8BitMime;
      } else {
        return ParamError::kUnsupported;  // incl. BINARYMIME (not advertised)
      }
    } else if (EqualsIgnoreCase(key, "SMTPUTF8")) {
      if (has_value) return ParamError::kSyntax;  // RFC 6531 §3.4: no value
      out->smtputf8 = true;
    } else if (EqualsIgnoreCase(key, "RET")) {
      if (out->ret != DsnRet::kUnset) return ParamError::kSyntax;  // twice
      if (EqualsIgnoreCase(value, "FULL")) {
        out->ret = DsnRet::kFull;
      } else if (EqualsIgnoreCase(value, "HDRS")) {
        out->ret = DsnRet::kHdrs;
      } else {
        return ParamError::kSyntax;
      }
    } else if (EqualsIgnoreCase(key, "ENVID")) {
      if (!out->envid.empty() || !IsValidEnvid(value)) {
        return ParamError::kSyntax;
      }
      out->envid = value;
    } else {
      return key.empty() ? ParamError::kSyntax : ParamError::kUnsupported;
    }
  }
  *bad = {};
  return ParamError::kOk;
}

ParamError ParseRcptParams(std::string_view params, bool smtputf8,
                           RcptParams* out, std::string_view* bad) {
  *out = RcptParams{};
  while (!params.empty()) {
    std::string_view key, value;
    bool has_value = false;
    NextParam(&params, bad, &key, &value, &has_value);
    if (EqualsIgnoreCase(key, "NOTIFY")) {
      if (out->notify != 0) return ParamError::kSyntax;  // twice
      out->notify = ParseNotify(value);
      if (out->notify == 0) return ParamError::kSyntax;
    } else if (EqualsIgnoreCase(key, "ORCPT")) {
      if (!out->orcpt.empty() || !IsValidOrcpt(value, smtputf8)) {
        return ParamError::kSyntax;
      }
      out->orcpt = value;
    } else {
      return key.empty() ? ParamError::kSyntax : ParamError::kUnsupported;
    }
  }
  *bad = {};
  return ParamError::kOk;
}

std::string NotifyText(uint8_t notify) {
  if (notify & kNotifyNever) return "NEVER";
  std::string s;
  for (const auto& [bit, name] :
       {std::pair<uint8_t, std::string_view>{kNotifySuccess, "SUCCESS"},
        {kNotifyFailure, "FAILURE"},
        {kNotifyDelay, "DELAY"}}) {
    if ((notify & bit) == 0) continue;
    if (!s.empty()) s += ',';
    s += name;
  }
  return s;
}

bool ParseBdatArgs(std::string_view args, uint64_t* size, bool* last) {
  const size_t sp = args.find(' ');
  if (!ParseDigits(args.substr(0, sp), size)) return false;
  *last = false;
  if (sp == std::string_view::npos) return true;
  std::string_view rest = args.substr(sp + 1);
  while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  if (!EqualsIgnoreCase(rest, "LAST")) return false;
  *last = true;
  return true;
}

}  // namespace ringmail::smtp
