#include "storage/maildir/maildir_name.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/maildir/errors.h"

namespace ringmail::storage {
namespace {

bool IsSystemFlag(char c) {
  return c == 'D' || c == 'F' || c == 'P' || c == 'R' || c == 'S' ||
         c == 'T';
}

// Parses a decimal number made only of digits (no sign, no spaces).
bool ParseDigits(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(AbslView(s), out);
}

// Cuts `s` at the first occurrence of `delim`: returns the head, leaves the
// rest (after the delimiter) in `s`. Returns false if `delim` is absent.
bool CutAt(std::string_view& s, std::string_view delim, std::string_view* head) {
  size_t pos = s.find(delim);
  if (pos == std::string_view::npos) return false;
  *head = s.substr(0, pos);
  s.remove_prefix(pos + delim.size());
  return true;
}

}  // namespace

std::string SanitizeMaildirHost(std::string_view host) {
  if (host.empty()) return "localhost";
  std::string out;
  out.reserve(host.size());
  for (char c : host) {
    const char* esc = nullptr;
    if (c == '/') esc = "\\057";
    if (c == ':') esc = "\\072";
    if (c == ',') esc = "\\054";
    size_t add = esc ? 4 : 1;
    if (out.size() + add > kMaxMaildirHostLength) break;
    if (esc) {
      out += esc;
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatUniqueName(const UniqueName& n) {
  return absl::StrCat(n.secs, ".M", n.usecs, "P", n.pid, "Q", n.core, "_",
                      n.seq, ".", n.host);
}

absl::StatusOr<UniqueName> ParseUniqueName(std::string_view base) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("not a ringmail unique name: ", AbslView(base)));
  };
  std::string_view rest = base, secs, usecs, pid, core, seq;
  if (!CutAt(rest, ".M", &secs) || !CutAt(rest, "P", &usecs) ||
      !CutAt(rest, "Q", &pid) || !CutAt(rest, "_", &core) ||
      !CutAt(rest, ".", &seq) || rest.empty()) {
    return bad();
  }
  uint64_t v[5];
  std::string_view parts[5] = {secs, usecs, pid, core, seq};
  for (int i = 0; i < 5; ++i) {
    if (!ParseDigits(parts[i], &v[i])) return bad();
  }
  if (v[1] > 999999 || v[3] > 1'000'000 || v[0] > INT64_MAX ||
      v[2] > INT64_MAX) {
    return bad();
  }
  UniqueName n;
  n.secs = static_cast<int64_t>(v[0]);
  n.usecs = static_cast<int64_t>(v[1]);
  n.pid = static_cast<int64_t>(v[2]);
  n.core = static_cast<int>(v[3]);
  n.seq = v[4];
  n.host = std::string(rest);
  return n;
}

std::string FormatNewName(std::string_view base, uint64_t size,
                          uint64_t vsize) {
  return absl::StrCat(AbslView(base), ",S=", size, ",W=", vsize);
}

absl::StatusOr<std::string> NormalizeMaildirFlags(std::string_view flags) {
  bool seen[128] = {};
  for (char c : flags) {
    if (!IsSystemFlag(c) && !(c >= 'a' && c <= 'z')) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid maildir flag in \"", AbslView(flags), "\""));
    }
    seen[static_cast<unsigned char>(c)] = true;
  }
  // ASCII order puts the upper-case system flags before keyword letters.
  std::string out;
  for (int c = 0; c < 128; ++c) {
    if (seen[c]) out += static_cast<char>(c);
  }
  return out;
}

absl::StatusOr<std::string> FormatCurName(std::string_view new_name,
                                          std::string_view flags) {
  if (new_name.find(':') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("name already has an info part: ", AbslView(new_name)));
  }
  absl::StatusOr<std::string> norm = NormalizeMaildirFlags(flags);
  if (!norm.ok()) return norm.status();
  return absl::StrCat(AbslView(new_name), ":2,", *norm);
}

absl::StatusOr<ParsedMaildirName> ParseMaildirName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad maildir name (", AbslView(why), "): ", AbslView(name)));
  };
  if (name.size() > kMaxMaildirNameLength) return bad("too long");
  if (name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return bad("forbidden character");
  }
  ParsedMaildirName out;
  std::string_view rest = name;
  size_t colon = rest.find(':');
  if (colon != std::string_view::npos) {
    std::string_view info = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (info.substr(0, 2) != "2,") return bad("info is not 2,<flags>");
    absl::StatusOr<std::string> flags = NormalizeMaildirFlags(info.substr(2));
    if (!flags.ok()) return bad("flags");
    out.has_info = true;
    out.flags = *std::move(flags);
  }
  size_t comma = rest.find(',');
  out.base = rest.substr(0, comma);
  if (out.base.empty()) return bad("empty base");
  if (comma == std::string_view::npos) return out;
  rest.remove_prefix(comma + 1);
  while (true) {
    size_t next = rest.find(',');
    std::string_view field = rest.substr(0, next);
    uint64_t value = 0;
    if (field.substr(0, 2) == "S=") {
      if (!ParseDigits(field.substr(2), &value)) return bad("S=");
      out.size = value;
    } else if (field.substr(0, 2) == "W=") {
      if (!ParseDigits(field.substr(2), &value)) return bad("W=");
      out.vsize = value;
    }
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  return out;
}

}  // namespace ringmail::storage
