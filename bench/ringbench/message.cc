#include "bench/ringbench/message.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ringmail::ringbench {
namespace {

size_t Between(std::mt19937_64& rng, size_t lo, size_t hi) {
  return lo + rng() % (hi - lo + 1);
}

size_t PickSize(const std::string& spec, std::mt19937_64& rng, bool* attachment) {
  *attachment = false;
  if (spec == "mix") {
    unsigned p = rng() % 100;
    if (p < 60) return Between(rng, 1 << 10, 8 << 10);
    if (p < 85) return Between(rng, 8 << 10, 64 << 10);
    *attachment = true;
    if (p < 97) return Between(rng, 64 << 10, 512 << 10);
    return Between(rng, 512 << 10, 4 << 20);
  }
  return static_cast<size_t>(std::strtoull(spec.c_str(), nullptr, 10));
}

// Lines of 76 characters from this alphabet never start with '.'.
const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string MakeMessage(const std::string& size_spec, std::mt19937_64& rng,
                        const std::string& from, const std::string& to) {
  bool attachment;
  size_t size = std::clamp<size_t>(PickSize(size_spec, rng, &attachment), 200, kMaxMessageSize);
  uint64_t id = rng();
  std::string m = absl::StrCat(
      "From: <", from, ">\r\nTo: <", to, ">\r\nSubject: ringbench ", id,
      "\r\nMessage-ID: <", id, "@ringbench.test>\r\n"
      "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\n");
  if (attachment) {
    m += "Content-Type: multipart/mixed; boundary=\"rb\"\r\n\r\n--rb\r\n"
         "Content-Type: text/plain\r\n\r\nSee the attachment.\r\n--rb\r\n"
         "Content-Type: application/octet-stream\r\n"
         "Content-Transfer-Encoding: base64\r\n\r\n";
  } else {
    m += "Content-Type: text/plain\r\n\r\n";
  }
  const size_t trailer = attachment ? 8 : 0;  // "--rb--\r\n"
  m.reserve(size + 80);
  unsigned seed = static_cast<unsigned>(id);
  while (m.size() + 78 + trailer <= size) {
    for (int i = 0; i < 76; ++i) {
      seed = seed * 1103515245u + 12345u;
      m += kAlphabet[(seed >> 16) % 64];
    }
    m += "\r\n";
  }
  if (attachment) m += "--rb--\r\n";
  return m;
}

}  // namespace ringmail::ringbench
