#include "protocols/imap/tls_policy.h"

#include <gtest/gtest.h>

#include "protocols/imap/command_reader.h"
#include "protocols/imap/command_table.h"
#include "protocols/imap/session_state.h"

namespace ringmail::imap {
namespace {

ConnectionSecurity Remote() {
  ConnectionSecurity s;
  s.tls_available = true;
  s.plaintext_auth_allowed = false;
  return s;
}

TEST(TlsPolicy, CapabilitiesBeforeAndAfterTls) {
  ConnectionSecurity s = Remote();
  EXPECT_EQ(BuildCapabilities(CapabilityOptionsFor(s, false)),
            "IMAP4rev1 LITERAL+ SASL-IR STARTTLS LOGINDISABLED ENABLE ID IDLE "
            "NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH SORT "
            "SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
  EXPECT_EQ(CheckStarttls(s), "");
  s.tls_active = true;
  EXPECT_EQ(BuildCapabilities(CapabilityOptionsFor(s, false)),
            "IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN AUTH=LOGIN ENABLE ID IDLE "
            "NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN SPECIAL-USE ESEARCH SORT "
            "SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
  EXPECT_EQ(CheckStarttls(s), "TLS is already active");
}

TEST(TlsPolicy, LoopbackWithoutCertificate) {
  ConnectionSecurity s;  // no TLS configured, plaintext allowed
  std::string caps = BuildCapabilities(CapabilityOptionsFor(s, false));
  EXPECT_EQ(caps.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(caps.find("LOGINDISABLED"), std::string::npos);
  EXPECT_NE(caps.find("AUTH=PLAIN"), std::string::npos);
  EXPECT_EQ(CheckStarttls(s), "STARTTLS is not available");
  EXPECT_TRUE(s.login_allowed());
  EXPECT_FALSE(Remote().login_allowed());
}

TEST(TlsPolicy, StarttlsOnlyBeforeAuthentication) {
  const CommandSpec* spec = LookupCommand("starttls");
  ASSERT_NE(spec, nullptr);
  SessionStateTracker st;
  EXPECT_EQ(st.CheckAllowed(*spec), "");
  st.OnCommandOk(CommandId::kLogin);
  EXPECT_NE(st.CheckAllowed(*spec), "");
}

// The reader stops right after the STARTTLS line: what follows in the same
// packet is left unconsumed, so the session can count and discard it
// (CVE-2011-0411), whether it arrives whole or byte by byte.
TEST(TlsPolicy, ReaderLeavesInjectedBytesAfterStarttls) {
  const std::string in = "a STARTTLS\r\nb CAPABILITY\r\n";
  for (size_t step : {size_t{1}, size_t{4}, in.size()}) {
    CommandReader reader;
    std::string pending;
    size_t pos = 0;
    bool got = false;
    while (!got && pos < in.size()) {
      pending.append(in, pos, std::min(step, in.size() - pos));
      pos += std::min(step, in.size() - pos);
      size_t consumed = 0;
      CommandReader::Event ev = reader.Next(pending, &consumed);
      pending.erase(0, consumed);
      if (ev == CommandReader::Event::kCommand) {
        EXPECT_EQ(reader.command().spec->id, CommandId::kStarttls);
        got = true;
      } else {
        ASSERT_EQ(ev, CommandReader::Event::kNeedMore);
      }
    }
    ASSERT_TRUE(got) << "step " << step;
    // Everything after the STARTTLS line, buffered or still unsent, is what
    // the session discards.
    EXPECT_EQ(pending.size() + (in.size() - pos), 14u) << "step " << step;
  }
}

}  // namespace
}  // namespace ringmail::imap
