// libFuzzer: drives a Session with arbitrary client input split at a
// fuzzer-chosen step, with a fake maildrop, and checks the message encoder
// against its byte-at-a-time reference. Invariants: Consume never
// over-consumes, responses are CRLF-terminated, the session never asks for
// a message that is out of range or marked deleted.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocols/pop3/message_encoder.h"
#include "protocols/pop3/session.h"
#include "protocols/pop3/session_test_util.h"

using ringmail::pop3::MessageEncoder;
using ringmail::pop3::Session;
using ringmail::pop3::SessionLimits;
using ringmail::pop3::testing_util::FakeHost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t step = 1 + data[0] % 64;
  const bool top = data[1] & 1;
  const uint64_t lines = data[1] >> 1;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  // The encoder, fed in `step` pieces, equals the reference.
  MessageEncoder enc = top ? MessageEncoder::Top(lines) : MessageEncoder();
  std::string encoded;
  for (size_t pos = 0; pos < in.size(); pos += step) {
    if (!enc.Feed(in.substr(pos, step), &encoded)) break;
  }
  enc.Finish(&encoded);
  if (encoded != ringmail::pop3::EncodeMessageReference(in, top, lines)) std::abort();

  FakeHost host;
  host.messages = {"Subject: a\n\n.x\n", std::string(in.substr(0, 512)), ""};
  host.chunk = step % 3 == 0 ? 0 : step;  // whole (RetrieveDone) or streamed
  SessionLimits limits;
  limits.max_errors = 50;
  Session s(limits, &host);
  std::string out, pending;
  host.session = &s;
  host.out = &out;
  s.Start(&out);
  for (size_t pos = 0; pos < in.size() && !s.closed(); pos += step) {
    pending.append(in.substr(pos, step));
    const size_t n = s.Consume(pending, &out);
    if (n > pending.size()) std::abort();
    pending.erase(0, n);
    if (s.waiting()) std::abort();  // the fake host answers at once
    if (!out.empty() && (out.size() < 2 || out.substr(out.size() - 2) != "\r\n")) std::abort();
    out.clear();
    if (pending.size() > 2 * ringmail::pop3::kMaxAuthLine) std::abort();
  }
  for (size_t i : host.retrieved) {
    if (i >= host.messages.size()) std::abort();
  }
  for (size_t i : host.updated) {
    if (i >= host.messages.size()) std::abort();
  }
  s.OnShutdown(&out);
  if (!s.closed()) std::abort();
  s.OnDisconnect();
  return 0;
}
