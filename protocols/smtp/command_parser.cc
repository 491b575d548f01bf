#include "protocols/smtp/command_parser.h"

#include <cstring>

namespace ringmail::smtp {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
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

LineReader::Status LineReader::Next(std::string_view in, size_t* consumed,
                                    std::string_view* line) {
  size_t base = 0;
  if (discarding_) {
    const size_t lf = in.find('\n');
    if (lf == std::string_view::npos) {
      *consumed = in.size();
      return Status::kNeedMore;
    }
    discarding_ = false;
    base = lf + 1;
    in.remove_prefix(base);
  }
  const size_t lf = in.find('\n');
  if (lf == std::string_view::npos) {
    // The line (with at least its LF still to come) no longer fits.
    if (len_ + in.size() + 1 > kMaxCommandLine) {
      len_ = 0;
      discarding_ = true;
      *consumed = base + in.size();
      return Status::kTooLong;
    }
    std::memcpy(buf_.data() + len_, in.data(), in.size());
    len_ += in.size();
    *consumed = base + in.size();
    return Status::kNeedMore;
  }
  *consumed = base + lf + 1;
  const size_t raw = len_ + lf;  // octets before the LF
  if (raw + 1 > kMaxCommandLine) {
    len_ = 0;  // the whole line is already consumed: no discarding needed
    return Status::kTooLong;
  }
  std::string_view l;
  if (len_ == 0) {
    l = in.substr(0, lf);  // common case: zero-copy
  } else {
    std::memcpy(buf_.data() + len_, in.data(), lf);
    l = std::string_view(buf_.data(), raw);
    len_ = 0;
  }
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  *line = l;
  return Status::kLine;
}

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
    const size_t sp = params.find(' ');
    const std::string_view param = params.substr(0, sp);
    params = sp == std::string_view::npos ? std::string_view()
                                          : params.substr(sp + 1);
    while (!params.empty() && params[0] == ' ') params.remove_prefix(1);
    *bad = param;
    const size_t eq = param.find('=');
    const std::string_view key = param.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value =
        has_value ? param.substr(eq + 1) : std::string_view();
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
    } else {
      return key.empty() ? ParamError::kSyntax : ParamError::kUnsupported;
    }
  }
  *bad = {};
  return ParamError::kOk;
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
