// STLS (RFC 2595 §4) and the plaintext-authentication policy of Session.
#include <gtest/gtest.h>

#include "protocols/pop3/session.h"
#include "protocols/pop3/session_test_util.h"

namespace ringmail::pop3 {
namespace {

using testing_util::FakeHost;

struct TlsRun {
  std::string out;
  size_t discarded = 0;  // plaintext octets dropped at STLS
  bool tls = false;
};

// Plays the host's part as the server glue does: `clear` arrives in pieces
// of `step` octets; once the session asks for TLS, the rest of `clear` (sent
// before the handshake) is discarded, "<TLS>" is marked in the output, and
// `inside` follows as if decrypted.
TlsRun RunTls(std::string_view clear, std::string_view inside, size_t step,
              SessionSecurity security, FakeHost* host) {
  TlsRun r;
  Session s(SessionLimits(), host);
  s.set_security(security);
  host->session = &s;
  host->out = &r.out;
  s.Start(&r.out);
  std::string pending;
  auto feed = [&](std::string_view in, bool before_tls) {
    for (size_t pos = 0; pos < in.size() && !s.closed();) {
      const size_t n = std::min(step, in.size() - pos);
      pending.append(in.substr(pos, n));
      pos += n;
      pending.erase(0, s.Consume(pending, &r.out));
      if (before_tls && s.tls_requested()) {
        r.discarded = pending.size() + (in.size() - pos);
        pending.clear();
        r.out += "<TLS>";
        s.TlsStarted();
        r.tls = true;
        return;
      }
    }
  };
  feed(clear, true);
  if (r.tls) feed(inside, false);
  host->session = nullptr;
  return r;
}

constexpr size_t kSteps[] = {1, 3, 1 << 20};

SessionSecurity Remote() {
  SessionSecurity s;
  s.tls_available = true;
  s.plaintext_auth_allowed = false;
  return s;
}

TEST(SessionTls, CapaOffersStlsAndHidesPlaintextAuthUntilTls) {
  for (size_t step : kSteps) {
    FakeHost h;
    TlsRun r = RunTls("CAPA\r\nSTLS\r\n", "CAPA\r\n", step, Remote(), &h);
    EXPECT_EQ(r.out,
              "+OK ringmail ready.\r\n"
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSTLS\r\nRESP-CODES\r\n"
              "AUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nIMPLEMENTATION ringmail\r\n.\r\n"
              "+OK Begin TLS negotiation\r\n<TLS>"
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n"
              "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n"
              "IMPLEMENTATION ringmail\r\n.\r\n")
        << "step " << step;
    EXPECT_EQ(r.discarded, 0u);
  }
}

TEST(SessionTls, PlaintextAuthRefusedBeforeTlsThenAllowed) {
  for (size_t step : kSteps) {
    FakeHost h;
    TlsRun r = RunTls("USER alice\r\nPASS secret pass\r\nAUTH PLAIN AGFsaWNlAHNlY3JldCBwYXNz\r\n"
                      "AUTH\r\nSTLS\r\n",
                      "USER alice\r\nPASS secret pass\r\nSTAT\r\n", step, Remote(), &h);
    const std::string refused =
        "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections.\r\n";
    EXPECT_EQ(r.out, "+OK ringmail ready.\r\n" + refused + refused + refused +
                         "+OK\r\n.\r\n"  // AUTH lists no mechanism
                         "+OK Begin TLS negotiation\r\n<TLS>"
                         "+OK\r\n+OK Logged in.\r\n+OK 0 0\r\n")
        << "step " << step;
    EXPECT_EQ(h.logins, std::vector<std::string>{"alice:secret pass"});
  }
}

// CVE-2011-0411: commands pipelined after STLS in the same packet are
// dropped, never run inside TLS.
TEST(SessionTls, PipelinedCommandsAfterStlsAreDiscarded) {
  for (size_t step : kSteps) {
    FakeHost h;
    SessionSecurity sec;
    sec.tls_available = true;  // plaintext allowed (loopback): USER would work
    TlsRun r = RunTls("USER alice\r\nSTLS\r\nPASS secret pass\r\nQUIT\r\n", "NOOP\r\nCAPA\r\n",
                      step, sec, &h);
    EXPECT_EQ(r.discarded, 24u) << "step " << step;
    EXPECT_TRUE(h.logins.empty());
    // USER given before TLS is forgotten (RFC 2595 §4), and the session is
    // still in AUTHORIZATION: NOOP is refused, CAPA has no STLS.
    EXPECT_EQ(r.out.substr(0, 62),
              "+OK ringmail ready.\r\n+OK\r\n+OK Begin TLS negotiation\r\n<TLS>-ERR")
        << "step " << step;
    EXPECT_EQ(r.out.find("STLS"), std::string::npos);
  }
}

TEST(SessionTls, StlsRefusals) {
  FakeHost h;
  SessionSecurity none;  // no certificate
  TlsRun r = RunTls("STLS\r\nCAPA\r\n", "", 1 << 20, none, &h);
  EXPECT_FALSE(r.tls);
  EXPECT_NE(r.out.find("-ERR TLS is not available.\r\n"), std::string::npos);
  EXPECT_EQ(r.out.find("STLS\r\n", r.out.find("+OK Capa")), std::string::npos);

  SessionSecurity active;
  active.tls_available = true;
  active.tls_active = true;  // implicit TLS (port 995)
  r = RunTls("STLS\r\nUSER alice\r\nPASS secret pass\r\nSTLS\r\n", "", 1 << 20, active, &h);
  EXPECT_FALSE(r.tls);
  EXPECT_EQ(r.out,
            "+OK ringmail ready.\r\n-ERR TLS is already active.\r\n+OK\r\n+OK Logged in.\r\n"
            "-ERR Already logged in.\r\n");
}

}  // namespace
}  // namespace ringmail::pop3
