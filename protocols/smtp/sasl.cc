#include "protocols/smtp/sasl.h"

#include <string.h>

#include <cstdint>

namespace ringmail::smtp {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void WipeString(std::string* s) {
  if (!s->empty()) explicit_bzero(s->data(), s->size());
  s->clear();
}

bool DecodeBase64(std::string_view in, size_t max_out, std::string* out) {
  WipeString(out);
  if (in.size() % 4 != 0) return false;
  if (in.size() / 4 * 3 > max_out + 2) return false;
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;  // data after padding
      v[k] = Value(c);
      if (v[k] < 0) return false;
    }
    const uint32_t n = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) |
                       (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xFF));
  }
  if (out->size() > max_out) {
    WipeString(out);
    return false;
  }
  return true;
}

std::string EncodeBase64(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint32_t(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(static_cast<uint8_t>(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= uint32_t(static_cast<uint8_t>(in[i + 2]));
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

bool SplitSaslPlain(std::string_view message, std::string_view* authzid,
                    std::string_view* authcid, std::string_view* password) {
  const size_t a = message.find('\0');
  if (a == std::string_view::npos) return false;
  const size_t b = message.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  *authzid = message.substr(0, a);
  *authcid = message.substr(a + 1, b - a - 1);
  *password = message.substr(b + 1);
  return !authcid->empty() && !password->empty() &&
         password->find('\0') == std::string_view::npos;
}

}  // namespace ringmail::smtp
