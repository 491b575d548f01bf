#include "protocols/pop3/args.h"

#include "protocols/pop3/limits.h"

namespace ringmail::pop3 {
namespace {

// Strict RFC 4648 base64 (padding required, no whitespace), bounded output.
bool DecodeBase64(std::string_view in, size_t max_out, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0 || in.size() / 4 * 3 > max_out + 2) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=') {
        // Padding only at the end, only in the last two places.
        if (i + 4 != in.size() || k < 2) return false;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad > 0) return false;
      v[k] = value(c);
      if (v[k] < 0) return false;
    }
    const uint32_t bits = (static_cast<uint32_t>(v[0]) << 18) |
                          (static_cast<uint32_t>(v[1]) << 12) |
                          (static_cast<uint32_t>(v[2]) << 6) |
                          static_cast<uint32_t>(v[3]);
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return out->size() <= max_out;
}

}  // namespace

CommandLine ParseCommandLine(std::string_view line) {
  CommandLine cmd;
  size_t pos = line.find(' ');
  cmd.name = line.substr(0, pos);
  cmd.spec = LookupCommand(cmd.name);
  if (pos == std::string_view::npos) return cmd;
  cmd.rest = line.substr(pos + 1);
  std::string_view rest = cmd.rest;
  while (true) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    const size_t sp = rest.find(' ');
    if (cmd.arg_count == cmd.args.size()) {
      cmd.too_many = true;
      break;
    }
    cmd.args[cmd.arg_count++] = rest.substr(0, sp);
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp);
  }
  return cmd;
}

bool ParseNumber(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > kMaxNumberDigits) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = v;
  return true;
}

bool DecodeSaslPlain(std::string_view base64, std::string* authzid,
                     std::string* authcid, std::string* password) {
  std::string raw;
  if (!DecodeBase64(base64, kMaxSaslPlain, &raw)) return false;
  const size_t a = raw.find('\0');
  if (a == std::string::npos) return false;
  const size_t b = raw.find('\0', a + 1);
  if (b == std::string::npos || raw.find('\0', b + 1) != std::string::npos) {
    return false;
  }
  *authzid = raw.substr(0, a);
  *authcid = raw.substr(a + 1, b - a - 1);
  *password = raw.substr(b + 1);
  // Wipe the decoded secret before the buffer is freed.
  for (char& c : raw) c = 0;
  return !authcid->empty() && !password->empty();
}

}  // namespace ringmail::pop3
