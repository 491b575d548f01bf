#include "engine/tls_error.h"

#include <openssl/err.h>

#include <cctype>
#include <cstdint>

namespace ringmail::engine {

std::string TlsReasonText(const char* reason) {
  std::string out = reason != nullptr ? reason : "unknown error";
  for (char& c : out) {
    c = c == '_' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string TakeTlsErrorReason() {
  const uint32_t e = ERR_get_error();
  ERR_clear_error();
  return e != 0 ? TlsReasonText(ERR_reason_error_string(e)) : "unknown error";
}

}  // namespace ringmail::engine
