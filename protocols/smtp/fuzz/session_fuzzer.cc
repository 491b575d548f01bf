// libFuzzer: drives a Session with arbitrary client input split at a
// fuzzer-chosen step, answering MessageDone alternately durable / failed.
// Checks invariants: Consume never over-consumes, replies are CRLF-terminated
// lines, no sink call happens outside BeginMessage..End/Abort, and buffered
// state stays bounded.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocols/smtp/session.h"
#include "protocols/smtp/session_test_util.h"

using ringmail::smtp::RecipientVerdict;
using ringmail::smtp::Session;
using ringmail::smtp::SessionConfig;
using ringmail::smtp::testing_util::FakeHost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t step = 1 + data[0] % 64;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  FakeHost host;
  host.verdicts["unknown"] = RecipientVerdict::kUnknownUser;
  host.verdicts["relay"] = RecipientVerdict::kRelayDenied;
  host.verdicts["temp"] = RecipientVerdict::kTempFail;
  SessionConfig config;
  config.hostname = "fuzz.example";
  config.limits.max_message_size = 4096;
  config.limits.max_recipients = 5;
  Session s(config, &host, "192.0.2.7", 42,
            [] { return absl::FromUnixSeconds(1700000000); });
  std::string out, pending;
  s.Start(&out);
  bool durable = true;
  for (size_t pos = 0; pos < in.size() && !s.closed(); pos += step) {
    pending.append(in.substr(pos, step));
    while (true) {
      const size_t n = s.Consume(pending, &out);
      if (n > pending.size()) std::abort();
      pending.erase(0, n);
      if (!s.waiting()) break;
      if (host.in_message) std::abort();  // EndMessage must precede waiting
      s.MessageDone(durable, &out);
      durable = !durable;
    }
    if (out.size() > 0 && out.substr(out.size() - 2) != "\r\n") std::abort();
    out.clear();
    if (host.body.size() > 4096 + 65536 + 1) std::abort();  // bounded store
  }
  s.OnShutdown(&out);
  if (!s.waiting() && !s.closed()) std::abort();
  s.OnDisconnect();
  if (host.in_message) std::abort();  // every message ended or aborted
  return 0;
}
