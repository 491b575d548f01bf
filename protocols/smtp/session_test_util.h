// Test harness for Session: a fake host/sink and a driver that feeds a
// transcript either whole or in fixed-size pieces, emulating a server that
// keeps unconsumed input and answers MessageDone immediately.
#ifndef RINGMAIL_PROTOCOLS_SMTP_SESSION_TEST_UTIL_H_
#define RINGMAIL_PROTOCOLS_SMTP_SESSION_TEST_UTIL_H_

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/smtp/session.h"

namespace ringmail::smtp::testing_util {

class FakeHost : public SessionHost, public BodySink {
 public:
  // SessionHost
  RecipientVerdict CheckRecipient(std::string_view local,
                                  std::string_view domain) override {
    checked.push_back(std::string(local) + "|" + std::string(domain));
    auto it = verdicts.find(std::string(local));
    return it == verdicts.end() ? RecipientVerdict::kAccept : it->second;
  }
  BodySink* BeginMessage(const Envelope& env) override {
    ++begun;
    if (fail_begin) return nullptr;
    in_message = true;
    body.clear();
    mail_from = std::string(env.mail_from);
    rcpts.assign(env.recipients.begin(), env.recipients.end());
    received = std::string(env.received_header);
    smtputf8 = env.smtputf8;
    dsn_ret = std::string(env.dsn_ret);
    dsn_envid = std::string(env.dsn_envid);
    rcpt_dsn.clear();
    for (const RecipientDsn& d : env.recipient_dsn) {
      rcpt_dsn.push_back(d.notify + "|" + d.orcpt);
    }
    return this;
  }
  void EndMessage(uint64_t crlf_size) override {
    in_message = false;
    messages.push_back(body);
    sizes.push_back(crlf_size);
  }
  void AbortMessage() override {
    in_message = false;
    ++aborted;
  }
  void Authenticate(const AuthRequest& req) override {
    auth_requests.push_back(std::string(req.mechanism) + " " +
                            std::string(req.user) + " " +
                            std::string(req.password));
    auto it = passwords.find(std::string(req.user));
    last_outcome = block_auth ? AuthOutcome::kBlocked
                   : it != passwords.end() && it->second == req.password
                       ? AuthOutcome::kOk
                       : AuthOutcome::kBadCredentials;
  }
  // BodySink
  absl::Span<char> Reserve(size_t min_bytes) override {
    buf.assign(std::max(min_bytes, reserve_extra), '\0');
    return absl::Span<char>(buf.data(), buf.size());
  }
  void Commit(size_t n) override { body.append(buf.data(), n); }

  std::map<std::string, RecipientVerdict> verdicts;
  std::map<std::string, std::string> passwords;  // user -> password
  bool block_auth = false;
  AuthOutcome last_outcome = AuthOutcome::kTempFail;
  std::vector<std::string> auth_requests;  // "MECH user password"
  std::vector<size_t> tls_discarded;       // octets dropped at each STARTTLS
  bool fail_begin = false;
  size_t reserve_extra = 0;
  bool in_message = false;
  int begun = 0;
  int aborted = 0;
  std::vector<std::string> checked;
  std::vector<std::string> messages;
  std::vector<uint64_t> sizes;
  std::string body, mail_from, received;
  std::string dsn_ret, dsn_envid;
  std::vector<std::string> rcpt_dsn;  // "NOTIFY|ORCPT" per recipient
  std::vector<std::string> rcpts;
  bool smtputf8 = false;
  std::vector<char> buf;
};

struct RunOptions {
  Transport transport;
  // At STARTTLS, what the host feeds after the handshake instead of the
  // (discarded) rest of the plaintext input. Empty: input simply ends.
  std::string after_tls;
};

struct RunResult {
  std::string out;
  bool closed = false;
};

// Emulates the server: keeps unconsumed input, answers MessageDone and
// AuthDone at once, and at STARTTLS drops the buffered plaintext (as the
// server must) and continues with options.after_tls as the decrypted input.
inline RunResult RunTranscript(std::string_view input, size_t step,
                               FakeHost* host, const SessionConfig& config,
                               const RunOptions& options = RunOptions()) {
  Session s(config, host, "192.0.2.1", 0xABC,
            [] { return absl::FromUnixSeconds(1700000000); });
  s.SetTransport(options.transport);
  RunResult r;
  s.Start(&r.out);
  bool tls_done = false;
  std::string pending;
  size_t pos = 0;
  while (!s.closed() && (pos < input.size() || !pending.empty())) {
    const size_t n = std::min(step, input.size() - pos);
    pending.append(input.substr(pos, n));
    pos += n;
    while (true) {
      pending.erase(0, s.Consume(pending, &r.out));
      if (s.tls_requested()) {
        host->tls_discarded.push_back(pending.size() + (input.size() - pos));
        pending.clear();
        s.TlsStarted();
        if (tls_done) break;  // one handshake per transcript
        tls_done = true;
        input = options.after_tls;
        pos = 0;
        continue;
      }
      if (s.auth_pending()) {
        s.AuthDone(host->last_outcome, &r.out);
        continue;
      }
      if (!s.waiting()) break;
      s.MessageDone(true, &r.out);
    }
    if (n == 0) break;  // input exhausted and nothing more consumable
  }
  r.closed = s.closed();
  return r;
}

inline SessionConfig TestConfig() {
  SessionConfig c;
  c.hostname = "mx.example.org";
  return c;
}

}  // namespace ringmail::smtp::testing_util

#endif  // RINGMAIL_PROTOCOLS_SMTP_SESSION_TEST_UTIL_H_
