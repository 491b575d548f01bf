#include "protocols/pop3/response.h"

namespace ringmail::pop3 {

void AppendOk(std::string* out, std::string_view text) {
  out->append("+OK");
  if (!text.empty()) {
    out->push_back(' ');
    out->append(text);
  }
  out->append("\r\n");
}

void AppendErr(std::string* out, std::string_view code, std::string_view text) {
  out->append("-ERR ");
  if (!code.empty()) {
    out->push_back('[');
    out->append(code);
    out->append("] ");
  }
  out->append(text);
  out->append("\r\n");
}

void AppendTerminator(std::string* out) { out->append(".\r\n"); }

void AppendCapa(std::string* out, const CapaOptions& options) {
  AppendOk(out, "Capability list follows");
  // RFC 2449 §6: EXPIRE NEVER because this server never deletes mail on
  // its own; no LOGIN-DELAY (no delay is enforced between logins). USER and
  // SASL PLAIN are not offered where they would be refused (as SMTP leaves
  // AUTH out before STARTTLS), so clients know to STLS first.
  out->append("TOP\r\nUIDL\r\n");
  if (options.authorization_state && options.stls) out->append("STLS\r\n");
  if (options.authorization_state && options.plaintext_auth) {
    out->append("USER\r\nSASL PLAIN\r\n");
  }
  out->append(
      "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n"
      "IMPLEMENTATION ringmail\r\n");
  AppendTerminator(out);
}

}  // namespace ringmail::pop3
