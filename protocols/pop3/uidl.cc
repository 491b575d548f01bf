#include "protocols/pop3/uidl.h"

#include <cstdio>

#include "protocols/pop3/limits.h"

namespace ringmail::pop3 {
namespace {

struct Spec {
  int width = 0;
  bool hex = false;
  char var = 0;  // 'u', 'v', 'f' or '%'
};

// Parses one "%..." at format[i] (which is '%'); sets *next past it.
bool ParseSpec(std::string_view format, size_t i, Spec* spec, size_t* next) {
  size_t p = i + 1;
  int digits = 0;
  while (p < format.size() && format[p] >= '0' && format[p] <= '9') {
    if (++digits > 2) return false;
    spec->width = spec->width * 10 + (format[p] - '0');
    ++p;
  }
  if (p < format.size() && format[p] == 'X') {
    spec->hex = true;
    ++p;
  }
  if (p >= format.size()) return false;
  spec->var = format[p];
  if (spec->var == '%') {
    if (digits > 0 || spec->hex) return false;
  } else if (spec->var == 'f') {
    if (spec->hex) return false;
  } else if (spec->var != 'u' && spec->var != 'v') {
    return false;
  }
  *next = p + 1;
  return true;
}

}  // namespace

std::string ValidateUidlFormat(std::string_view format) {
  if (format.empty()) return "the UIDL format must not be empty";
  bool has_var = false;
  for (size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      ++i;
      continue;
    }
    Spec spec;
    size_t next;
    if (!ParseSpec(format, i, &spec, &next)) {
      return "unsupported %-sequence in the UIDL format (use %u %v %f %%, "
             "optionally with a width and X, e.g. %08Xu)";
    }
    if (spec.var == 'u' || spec.var == 'f') has_var = true;
    i = next;
  }
  // Without %u or %f every message of a folder would get the same UIDL.
  if (!has_var) return "the UIDL format needs %u or %f";
  return "";
}

std::string FormatUidl(std::string_view format, const UidlVars& vars) {
  std::string out;
  for (size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      out.push_back(format[i++]);
      continue;
    }
    Spec spec;
    size_t next;
    if (!ParseSpec(format, i, &spec, &next)) {
      out.push_back(format[i++]);  // not validated: keep it literally
      continue;
    }
    i = next;
    if (spec.var == '%') {
      out.push_back('%');
    } else if (spec.var == 'f') {
      for (size_t k = vars.filename.size(); k < static_cast<size_t>(spec.width); ++k) {
        out.push_back('0');
      }
      out.append(vars.filename);
    } else {
      const unsigned v = spec.var == 'u' ? vars.uid : vars.uid_validity;
      char buf[16];
      // Dovecot's X modifier prints lower-case hex ("%llx" in its
      // var-expand.c), whatever the letter's case suggests; UIDLs are
      // compared as exact strings by clients (RFC 1939 §7).
      std::snprintf(buf, sizeof buf, spec.hex ? "%0*x" : "%0*u", spec.width, v);
      out.append(buf);
    }
  }
  for (char& c : out) {
    if (c < 0x21 || c > 0x7e) c = '_';
  }
  if (out.size() > kMaxUidl) out.resize(kMaxUidl);
  return out;
}

}  // namespace ringmail::pop3
