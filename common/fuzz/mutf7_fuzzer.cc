// libFuzzer: the modified UTF-7 codec (common/mutf7.h) on arbitrary octets,
// which reach it as IMAP mailbox names from clients and as folder names
// read from disk. The first input octet picks the direction.
//
// Invariants: Decode accepts exactly the canonical forms: for every
// accepted y, Encode(Decode(y)) == y; for every x Encode accepts (valid
// UTF-8), Decode(Encode(x)) == x; Decode's output is valid UTF-8 without
// NUL; Encode's output is printable ASCII; a failure names its reason.
#include <cstdint>
#include <string>
#include <string_view>

#include "common/mutf7.h"
#include "common/utf8.h"
#include "tools/lib/fuzz_check.h"

using ringmail::common::DecodeMutf7;
using ringmail::common::EncodeMutf7;
using ringmail::common::IsValidUtf8;

namespace {

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string out, back;
  const char* why = nullptr;
  if (data[0] & 1) {
    if (!DecodeMutf7(in, &out, &why)) {
      FUZZ_CHECK(why != nullptr && *why != '\0');
      return 0;
    }
    FUZZ_CHECK(IsValidUtf8(out) && out.find('\0') == std::string::npos);
    FUZZ_CHECK(EncodeMutf7(out, &back));
    FUZZ_CHECK(back == in);
  } else {
    if (!EncodeMutf7(in, &out, &why)) {
      FUZZ_CHECK(why != nullptr && *why != '\0');
      // Refused only for bad UTF-8 or a side over the limit (the encoded
      // form: "encoded form too long").
      FUZZ_CHECK(!IsValidUtf8(in) || in.size() > ringmail::common::kMaxMutf7InputBytes ||
                 std::string_view(why) == "encoded form too long");
      return 0;
    }
    FUZZ_CHECK(out.size() <= ringmail::common::kMaxMutf7InputBytes);
    FUZZ_CHECK(PrintableAscii(out));
    const bool decoded = DecodeMutf7(out, &back, &why);
    // U+0000 is encodable but never accepted back (a folder name with NUL).
    if (in.find('\0') != std::string_view::npos) {
      FUZZ_CHECK(!decoded);
    } else {
      FUZZ_CHECK(decoded && back == in);
    }
  }
  return 0;
}
