// libFuzzer: the three SASL decoders (SMTP AUTH, IMAP AUTHENTICATE, POP3
// AUTH) against one independent reference decoder written here. Each has
// its own documented contract, so the oracle is parameterised rather than
// the decoders compared with each other:
//   smtp::DecodeBase64    strict RFC 4648 §4, padding required; non-zero
//                         pad bits accepted; "" -> "".
//   imap::DecodeBase64    the same but pad bits must be zero (canonical,
//                         RFC 4648 §3.5); "=" alone -> "" (RFC 4422 §5).
//   pop3::DecodeSaslPlain lenient pad bits, kMaxSaslPlain decoded octets,
//                         exactly two NULs, authcid and password non-empty.
//   imap::DecodeSaslPlain canonical base64, "*" cancels, exactly two NULs,
//                         authcid non-empty (password may be empty).
//   smtp::SplitSaslPlain  authcid and password non-empty, no NUL in the
//                         password (a third NUL fails).
// The first input octet picks the output limit; the rest is the text given
// to every decoder, and also the raw octets for an encode/decode round trip.
// Aborts on any disagreement.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/imap/args.h"
#include "protocols/imap/limits.h"
#include "protocols/pop3/args.h"
#include "protocols/pop3/limits.h"
#include "protocols/smtp/sasl.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

int Sextet(char c) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const size_t pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// Reference: bit-accumulator decoder, deliberately unlike the quad loops
// under test. nullopt when `in` is not strict base64 or decodes to more
// than max_out octets.
std::optional<std::string> Reference(std::string_view in, size_t max_out,
                                     bool canonical) {
  if (in.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < in.size() - pad; ++i) {
    const int v = Sextet(in[i]);
    if (v < 0) return std::nullopt;  // includes '=' before the tail
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // One or two pad characters leave 4 or 2 unused bits; a quad needs at
  // least two data characters ("A===" is malformed).
  if (pad > 0 && in.size() - pad < 2) return std::nullopt;
  if (canonical && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  if (out.size() > max_out) return std::nullopt;
  return out;
}

int CountNul(std::string_view s) {
  int n = 0;
  for (char c : s) n += c == '\0';
  return n;
}

void CheckBase64(std::string_view text, size_t max_out) {
  std::string got;
  const auto lenient = Reference(text, max_out, /*canonical=*/false);
  const bool smtp_ok = ringmail::smtp::DecodeBase64(text, max_out, &got);
  Check(smtp_ok == lenient.has_value());
  if (smtp_ok) Check(got == *lenient);

  const auto strict = text == "=" ? std::optional<std::string>("")
                                  : Reference(text, max_out, /*canonical=*/true);
  const bool imap_ok = ringmail::imap::DecodeBase64(text, max_out, &got);
  Check(imap_ok == strict.has_value());
  if (imap_ok) {
    Check(got == *strict);
    Check(got.size() <= max_out);
    // Canonical input re-encodes to itself.
    if (text != "=") Check(ringmail::imap::EncodeBase64(got) == text);
  }
}

void CheckRoundTrip(std::string_view raw) {
  const std::string e1 = ringmail::smtp::EncodeBase64(raw);
  Check(e1 == ringmail::imap::EncodeBase64(raw));
  std::string back;
  Check(ringmail::smtp::DecodeBase64(e1, raw.size(), &back) && back == raw);
  Check(ringmail::imap::DecodeBase64(e1, raw.size(), &back) &&
        (back == raw || (raw.empty() && e1.empty())));
}

void CheckPlain(std::string_view text) {
  std::string z, c, p;
  // POP3: lenient base64 limited to kMaxSaslPlain.
  {
    const auto msg = Reference(text, ringmail::pop3::kMaxSaslPlain, false);
    const bool ok = ringmail::pop3::DecodeSaslPlain(text, &z, &c, &p);
    bool want = msg && CountNul(*msg) == 2;
    if (want) {
      const size_t a = msg->find('\0'), b = msg->find('\0', a + 1);
      want = b > a + 1 && b + 1 < msg->size();
      if (want) {
        Check(z == msg->substr(0, a) && c == msg->substr(a + 1, b - a - 1) &&
              p == msg->substr(b + 1));
      }
    }
    Check(ok == want);
  }
  // IMAP: canonical base64, "*" is a cancel, empty password allowed.
  {
    ringmail::imap::ArgError err;
    const bool ok = ringmail::imap::DecodeSaslPlain(text, &z, &c, &p, &err);
    std::optional<std::string> msg;
    if (text == "=") msg = "";
    else if (text != "*") msg = Reference(text, ringmail::imap::kMaxSaslDecoded, true);
    bool want = msg && CountNul(*msg) == 2;
    if (want) {
      const size_t a = msg->find('\0'), b = msg->find('\0', a + 1);
      want = b > a + 1;
      if (want) {
        Check(z == msg->substr(0, a) && c == msg->substr(a + 1, b - a - 1) &&
              p == msg->substr(b + 1));
      }
    }
    Check(ok == want);
  }
  // SMTP: decode, then split the message.
  {
    std::string msg;
    if (ringmail::smtp::DecodeBase64(text, ringmail::smtp::kMaxSaslDecoded, &msg)) {
      Check(msg.size() <= ringmail::smtp::kMaxSaslDecoded);
      std::string_view vz, vc, vp;
      const bool ok = ringmail::smtp::SplitSaslPlain(msg, &vz, &vc, &vp);
      bool want = CountNul(msg) == 2;
      if (want) {
        const size_t a = msg.find('\0'), b = msg.find('\0', a + 1);
        want = b > a + 1 && b + 1 < msg.size();
      }
      Check(ok == want);
      if (ok) {
        Check(std::string(vz) + '\0' + std::string(vc) + '\0' +
                  std::string(vp) == msg);
      }
      ringmail::smtp::WipeString(&msg);
      Check(msg.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Limits around the interesting edges: 0..63 (short outputs, exact
  // boundaries) and the real per-protocol limits.
  static constexpr size_t kBig[] = {ringmail::smtp::kMaxSaslDecoded,
                                    ringmail::pop3::kMaxSaslPlain,
                                    ringmail::imap::kMaxSaslDecoded, 1 << 20};
  const size_t max_out = data[0] < 0xf0 ? data[0] % 64 : kBig[data[0] & 3];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  CheckBase64(text, max_out);
  CheckPlain(text);
  CheckRoundTrip(text);
  return 0;
}
