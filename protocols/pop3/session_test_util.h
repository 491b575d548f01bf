// Test harness for Session: a fake host with an in-memory maildrop that
// answers every request at once, and a driver that feeds a transcript
// whole or in fixed-size pieces, keeping unconsumed input like the server.
#ifndef RINGMAIL_PROTOCOLS_POP3_SESSION_TEST_UTIL_H_
#define RINGMAIL_PROTOCOLS_POP3_SESSION_TEST_UTIL_H_

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/pop3/session.h"

namespace ringmail::pop3::testing_util {

class FakeHost : public SessionHost {
 public:
  // SessionHost
  void Login(std::string_view user, std::string password) override {
    logins.push_back(std::string(user) + ":" + password);
    LoginResult r = LoginResult::kBadCredentials;
    if (in_use) {
      r = LoginResult::kInUse;
    } else if (user == "alice" && password == "secret pass") {
      r = LoginResult::kOk;
    }
    std::vector<MaildropEntry> drop;
    for (size_t i = 0; i < messages.size(); ++i) {
      drop.push_back({CrlfSize(messages[i]), "uid" + std::to_string(i + 1)});
    }
    session->LoginDone(r, std::move(drop), out);
  }
  // Whole content at once (chunk == 0), or streamed in pieces of `chunk`
  // octets as the server does, stopping when the session wants no more.
  void Retrieve(size_t index, bool retr) override {
    retrieved.push_back(index);
    if (retr) seen.push_back(index);
    if (chunk == 0) {
      session->RetrieveDone(RetrieveStatus::kOk, messages[index], out);
      return;
    }
    session->RetrieveStarted(RetrieveStatus::kOk, out);
    const std::string_view m = messages[index];
    size_t pos = 0;
    while (pos < m.size()) {
      const size_t n = std::min(chunk, m.size() - pos);
      pos += n;
      if (!session->RetrieveData(m.substr(pos - n, n), out)) break;
    }
    fed.push_back(pos);
    session->RetrieveEnd(out);
  }
  void Update(std::vector<size_t> deleted) override {
    updated = std::move(deleted);
    session->UpdateDone(0, out);
  }

  static uint64_t CrlfSize(std::string_view m) {
    uint64_t n = m.size();
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) ++n;
    }
    return n;
  }

  Session* session = nullptr;
  std::string* out = nullptr;
  bool in_use = false;
  size_t chunk = 0;          // 0: RetrieveDone with the whole message
  std::vector<size_t> fed;   // per streamed retrieve: octets given
  std::vector<std::string> messages;
  std::vector<std::string> logins;
  std::vector<size_t> retrieved, seen, updated;
};

struct RunResult {
  std::string out;
  bool closed = false;
};

inline RunResult RunTranscript(std::string_view input, size_t step, FakeHost* host,
                               const SessionLimits& limits = SessionLimits()) {
  RunResult r;
  Session s(limits, host);
  host->session = &s;
  host->out = &r.out;
  s.Start(&r.out);
  std::string pending;
  size_t pos = 0;
  while (!s.closed() && pos < input.size()) {
    const size_t n = std::min(step, input.size() - pos);
    pending.append(input.substr(pos, n));
    pos += n;
    pending.erase(0, s.Consume(pending, &r.out));
  }
  r.closed = s.closed();
  host->session = nullptr;
  return r;
}

}  // namespace ringmail::pop3::testing_util

#endif  // RINGMAIL_PROTOCOLS_POP3_SESSION_TEST_UTIL_H_
